"""Fixtures of the durable runtime's tests, against the session's redis-server (tests/conftest.py).

* ``settings(**overrides)`` — runtime settings for the test's Redis: short leases and
  timer sleeps (:data:`FAST`), then ``overrides``;
* ``runtime(worker=False, concurrency=16, **overrides)`` — an async context with a
  connected :class:`Runtime`: its Service, :meth:`Runtime.drain` (a worker run until no
  work is left, like arq's burst mode: a test ends on its own, without polling) and
  :meth:`Runtime.events`; ``worker=True`` also runs a worker in the background from the
  start, for tests that talk to executions while they run;
* ``redis`` — a raw client, to look at (or tamper with) what the store wrote;
* ``gap_free(events, last)`` — history ids 1..n without gaps, ending with ``last``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as aioredis

from statemachine.runtime.settings import Settings
from statemachine.runtime.worker import Worker
from statemachine.service import Service

FAST = {"lease_ms": 1000, "timer_max_sleep_ms": 50, "block_ms": 200}
DRAIN_TIMEOUT_S = 60.0

MakeSettings = Callable[..., Settings]


@pytest.fixture
def settings(redis_url: str) -> MakeSettings:
    def make(**overrides: Any) -> Settings:
        return Settings.from_env(**{"redis_url": redis_url, **FAST, **overrides})
    return make


@dataclass
class Runtime:
    """A connected Service, the settings it and its workers use, and the background worker
    when there is one."""

    service: Service
    settings: Settings
    concurrency: int
    worker: Worker | None = None

    async def drain(self, timeout: float = DRAIN_TIMEOUT_S) -> Worker:
        """Run a worker until no work is left (see ``Worker.run``); fails after ``timeout``."""
        worker = Worker(self.settings.redis_url, self.settings, self.concurrency)
        try:
            await asyncio.wait_for(worker.run(drain=True), timeout)
        except TimeoutError:
            raise AssertionError(f"work still left after {timeout} s") from None
        return worker

    async def finished(self, execution_id: str) -> dict[str, Any]:
        """The execution's description once the work is done (drained)."""
        await self.drain()
        return await self.service.describe(execution_id)

    async def events(self, execution_id: str, page: int = 1000) -> list[dict[str, Any]]:
        """The whole history, read page by page with the cursor."""
        events: list[dict[str, Any]] = []
        cursor = None
        while True:
            got = await self.service.history(execution_id, limit=page, cursor=cursor)
            events += got["events"]
            cursor = got["nextCursor"]
            if cursor is None:
                return events


MakeRuntime = Callable[..., AbstractAsyncContextManager[Runtime]]


@pytest.fixture
def runtime(settings: MakeSettings) -> MakeRuntime:
    @asynccontextmanager
    async def make(*, worker: bool = False, concurrency: int = 16,
                   **overrides: Any) -> AsyncIterator[Runtime]:
        conf = settings(**overrides)
        service = await Service.connect(conf.redis_url, settings=conf)
        running = Worker(conf.redis_url, conf, concurrency) if worker else None
        task = asyncio.create_task(running.run()) if running is not None else None
        try:
            yield Runtime(service, conf, concurrency, running)
        finally:
            if running is not None and task is not None:
                await running.stop()
                await task
            await service.close()
    return make


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def _gap_free(events: list[dict[str, Any]], last: str = "ExecutionSucceeded") -> None:
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["previousEventId"] == e["id"] - 1 for e in events)
    assert events[0]["type"] == "ExecutionStarted"
    assert events[-1]["type"] == last


@pytest.fixture
def gap_free() -> Callable[..., None]:
    """History ids 1..n without gaps or duplicates, starting the execution, ending with
    ``last`` (default ``ExecutionSucceeded``)."""
    return _gap_free
