"""The REST API as the tests drive it: served over a real Service (and Worker), and a client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from statemachine.api import create_app


@dataclass
class Api:
    """The test client plus the parts behind it."""

    client: TestClient[Any, Any]
    service: Any
    redis_url: str

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """One request; returns (status, parsed JSON body or text, or None when empty)."""
        async with self.client.request(method, path, **kwargs) as response:
            raw = await response.read()
            if not raw:
                return response.status, None
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, raw.decode()

    async def define(self, name: str, definition: Any) -> dict[str, Any]:
        status, body = await self.call("POST", "/v1/state-machines",
                                       json={"name": name, "definition": definition})
        assert status == 201 and isinstance(body, dict), body
        return body

    async def start(self, machine: str, input: Any = None, **extra: Any) -> dict[str, Any]:
        payload = {"input": input if input is not None else {}, **extra}
        status, body = await self.call("POST", f"/v1/state-machines/{machine}/executions",
                                       json=payload)
        assert status in (200, 201) and isinstance(body, dict), body
        return body

    async def finished(self, execution_id: str, timeout: float = 15.0) -> dict[str, Any]:
        """Poll until the execution is no longer RUNNING."""
        deadline = time.monotonic() + timeout
        while True:
            status, body = await self.call("GET", f"/v1/executions/{execution_id}")
            assert status == 200 and isinstance(body, dict), body
            if body["status"] != "RUNNING" or time.monotonic() > deadline:
                return body
            await asyncio.sleep(0.05)


@asynccontextmanager
async def serve_api(redis_url: str, workers: int) -> AsyncIterator[Api]:
    """The API over a real Service, with an in-process Worker of ``workers`` (0: none)."""
    from statemachine.runtime.settings import Settings
    from statemachine.runtime.worker import Worker
    from statemachine.service import Service

    service = await Service.connect(redis_url)
    settings = Settings.from_env(redis_url=redis_url, block_ms=100, timer_max_sleep_ms=50)
    worker = Worker(redis_url, settings, workers) if workers else None
    task = asyncio.create_task(worker.run()) if worker is not None else None
    client = TestClient(TestServer(create_app(service)))
    await client.start_server()
    try:
        yield Api(client, service, redis_url)
    finally:
        await client.close()
        if worker is not None and task is not None:
            await worker.stop()
            await asyncio.wait_for(task, 15)
        await service.close()
