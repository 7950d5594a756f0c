"""Tests of the durable runtime against a real redis-server (tests/conftest.py).

Shared helpers: a Service plus an in-process Worker with short leases and timer sleeps,
waiting for an execution to finish, and serving an aiohttp application on a free port.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from statemachine.runtime.settings import Settings
from statemachine.runtime.worker import Worker
from statemachine.service import Service

FAST = {"lease_ms": 1000, "timer_max_sleep_ms": 50, "block_ms": 200}


def settings(redis_url: str, **overrides: Any) -> Settings:
    return Settings.from_env(redis_url=redis_url, **{**FAST, **overrides})


@asynccontextmanager
async def service_and_worker(redis_url: str, *, concurrency: int = 16,
                             **overrides: Any) -> AsyncIterator[tuple[Service, Worker]]:
    """A connected Service and a running in-process Worker; both closed afterwards."""
    conf = settings(redis_url, **overrides)
    service = await Service.connect(redis_url, settings=conf)
    worker = Worker(redis_url, conf, concurrency)
    task = asyncio.create_task(worker.run())
    try:
        yield service, worker
    finally:
        await worker.stop()
        await task
        await service.close()


async def finished(service: Service, execution_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """The execution's description once it is no longer RUNNING (fails after ``timeout``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        described = await service.describe(execution_id)
        if described["status"] != "RUNNING":
            return described
        if loop.time() > deadline:
            raise AssertionError(f"{execution_id} still RUNNING after {timeout} s")
        await asyncio.sleep(0.02)


async def all_events(service: Service, execution_id: str, page: int = 1000) -> list[dict[str, Any]]:
    """The whole history, read page by page with the cursor."""
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        got = await service.history(execution_id, limit=page, cursor=cursor)
        events += got["events"]
        cursor = got["nextCursor"]
        if cursor is None:
            return events


def assert_gap_free(events: list[dict[str, Any]], last: str = "ExecutionSucceeded") -> None:
    """History ids 1..n without gaps or duplicates, ending with ``last``."""
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["previousEventId"] == e["id"] - 1 for e in events)
    assert events[0]["type"] == "ExecutionStarted"
    assert events[-1]["type"] == last


@asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free local port; yields its base URL."""
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
