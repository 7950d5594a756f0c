"""Tests of the REST API and the command line, against a real redis-server, Service and Worker.

The fixtures live here (imported by the test modules) rather than in a conftest so the
API tests stay self-contained in this folder.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft202012Validator

from statemachine.api import create_app
from statemachine.api.openapi import document

HELLO = {
    "StartAt": "Greet",
    "States": {
        "Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"},
                  "End": True},
    },
}

HELLO_YAML = """\
StartAt: Greet
States:
  Greet:
    Type: Pass
    Result: {greeting: hello}
    End: true
"""

WAIT_LONG = {
    "StartAt": "Nap",
    "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}},
}

ACTIVITY_NAME = "approve"
ACTIVITY = {
    "StartAt": "Approve",
    "States": {
        "Approve": {
            "Type": "Task",
            "Resource": f"arn:aws:states:us-east-1:123456789012:activity:{ACTIVITY_NAME}",
            "HeartbeatSeconds": 60,
            "End": True,
        },
    },
}


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
        assert status == 201, body
        return body

    async def start(self, machine: str, input: Any = None, **extra: Any) -> dict[str, Any]:
        payload = {"input": input if input is not None else {}, **extra}
        status, body = await self.call("POST", f"/v1/state-machines/{machine}/executions",
                                       json=payload)
        assert status in (200, 201), body
        return body

    async def finished(self, execution_id: str, timeout: float = 15.0) -> dict[str, Any]:
        """Poll until the execution is no longer RUNNING."""
        deadline = time.monotonic() + timeout
        while True:
            status, body = await self.call("GET", f"/v1/executions/{execution_id}")
            assert status == 200, body
            if body["status"] != "RUNNING" or time.monotonic() > deadline:
                return body
            await asyncio.sleep(0.05)


async def _api(redis_url: str, workers: int) -> AsyncIterator[Api]:
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


@pytest.fixture
async def api(redis_url: str) -> AsyncIterator[Api]:
    """The API over a real Service with an in-process Worker."""
    async for value in _api(redis_url, 4):
        yield value


@pytest.fixture
async def api_alone(redis_url: str) -> AsyncIterator[Api]:
    """The API with no worker: nothing but the requests themselves writes to Redis."""
    async for value in _api(redis_url, 0):
        yield value


async def redis_snapshot(redis_url: str) -> dict[bytes, bytes | None]:
    """Every key with its serialised value: equal snapshots mean nothing was written."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = sorted([key async for key in client.scan_iter(count=1000)])
        return {key: await client.dump(key) for key in keys}
    finally:
        await client.aclose()


def conforms(schema_name: str, value: Any) -> None:
    """Assert that ``value`` matches the OpenAPI document's component schema ``schema_name``."""
    doc = document()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=str)
    assert not errors, f"{schema_name}: {[e.message for e in errors]}"
