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
from statemachine.api.auth import AUTH
from statemachine.keyring import Keyring
from statemachine.security.roles import Role


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def keyed_app(service: Any, **kwargs: Any) -> tuple[Any, dict[str, str]]:
    """``create_app(service, **kwargs)`` and the Bearer header of a new admin key of it."""
    app = create_app(service, **kwargs)
    _, secret = await app[AUTH].keyring.create(Role.ADMIN, "tests")
    return app, bearer(secret)


@dataclass
class Api:
    """The test client plus the parts behind it; requests carry an admin key by default."""

    client: TestClient[Any, Any]
    service: Any
    redis_url: str
    keyring: Keyring
    secret: str
    """The admin key's secret every request sends unless told otherwise."""

    async def key(self, role: Role, name: str | None = None) -> str:
        """The secret of a new key of ``role``."""
        return (await self.keyring.create(role, name))[1]

    async def call(self, method: str, path: str, *, auth: bool | str = True,
                   **kwargs: Any) -> tuple[int, Any]:
        """One request; returns (status, parsed JSON body or text, or None when empty).

        ``auth``: True sends the admin key, False no key, a string that secret.
        """
        if auth is not False and "Authorization" not in kwargs.get("headers", {}):
            secret = self.secret if auth is True else str(auth)
            kwargs["headers"] = {**kwargs.get("headers", {}), **bearer(secret)}
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
    app = create_app(service)
    keyring = app[AUTH].keyring
    _, secret = await keyring.create(Role.ADMIN, "tests")
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Api(client, service, redis_url, keyring, secret)
    finally:
        await client.close()
        if worker is not None and task is not None:
            await worker.stop()
            await asyncio.wait_for(task, 15)
        await service.close()
