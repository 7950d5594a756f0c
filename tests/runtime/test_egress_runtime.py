"""Issue 9's findings on task requests, end to end through a Service and a Worker on Redis:
an HTTP task cannot reach the service's own API (learned from Redis, where ``serve`` records
its listeners), and one hanging service delays only its own tasks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from statemachine.api import create_app
from statemachine.runtime.invokers.egress import EGRESS_ERROR


def http_task(url: str, method: str = "GET", **extra: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": url, "Method": method}, **extra}


async def test_an_http_task_cannot_reach_the_services_own_api(runtime: Any, serve_app: Any) -> None:
    seen: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append(request.path)
        response: web.StreamResponse = await handler(request)
        return response

    async with runtime() as rt:
        app = create_app(rt.service)
        app.middlewares.insert(0, record)
        async with serve_app(app) as api:
            listener = api.removeprefix("http://")
            # What ``serve`` does once it listens; the worker below learns it from Redis.
            await rt.service.announce_listeners([listener], 60)
            await rt.service.define("ssrf", {"StartAt": "List", "States": {
                "List": http_task(f"{api}/v1/executions", Catch=[
                    {"ErrorEquals": [EGRESS_ERROR], "ResultPath": "$.error", "Next": "Refused"}],
                    End=True),
                "Refused": {"Type": "Pass", "End": True}}})
            await rt.service.define("direct", {"StartAt": "Define", "States": {
                "Define": http_task(f"http://localhost:{api.rsplit(':', 1)[1]}/v1/state-machines",
                                    "POST", End=True)}})
            caught = await rt.service.start("ssrf", {})
            failed = await rt.service.start("direct", {})
            done = await rt.finished(caught["executionId"])
            assert done["status"] == "SUCCEEDED", done
            assert done["output"]["error"]["Error"] == EGRESS_ERROR
            assert "own API" in done["output"]["error"]["Cause"]
            other = await rt.service.describe(failed["executionId"])
            assert other["status"] == "FAILED" and other["error"] == EGRESS_ERROR
            assert listener.split(":")[0] in other["cause"] or "localhost" in other["cause"]
            assert not [path for path in seen if path.startswith("/v1/")]
            await rt.service.withdraw_listeners([listener])


async def test_one_hanging_service_delays_only_its_own_tasks(runtime: Any, serve_app: Any) -> None:
    release = asyncio.Event()
    arrived: list[int] = []

    async def hang(request: web.Request) -> web.Response:
        arrived.append(1)
        await release.wait()
        return web.json_response({"late": True})

    async def healthy(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    slow_app, fast_app = web.Application(), web.Application()
    slow_app.router.add_get("/hang", hang)
    fast_app.router.add_get("/ok", healthy)
    async with serve_app(slow_app) as slow, serve_app(fast_app) as fast, \
            runtime(worker=True, invoke_concurrency=64) as rt:
        service = rt.service
        await service.define("stuck", {"StartAt": "Call", "States": {
            "Call": http_task(f"{slow}/hang", TimeoutSeconds=60, End=True)}})
        await service.define("quick", {"StartAt": "Call", "States": {
            "Call": http_task(f"{fast}/ok", End=True)}})
        stuck = [(await service.start("stuck", {}))["executionId"] for _ in range(64)]
        deadline = time.monotonic() + 10
        while len(arrived) < 16 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # time for more to arrive, were there no cap
        assert len(arrived) == 16  # a quarter of the 64 dispatch slots

        began = time.monotonic()
        quick = (await service.start("quick", {}))["executionId"]
        while (await service.describe(quick))["status"] == "RUNNING":
            assert time.monotonic() - began < 5, "the healthy service's task is stuck"
            await asyncio.sleep(0.01)
        took = time.monotonic() - began
        assert (await service.describe(quick))["status"] == "SUCCEEDED"
        assert took < 1.0, took

        release.set()  # the parked ones get their turn, in order, none lost
        deadline = time.monotonic() + 20
        statuses: list[str] = []
        while time.monotonic() < deadline:
            statuses = [(await service.describe(x))["status"] for x in stuck]
            if "RUNNING" not in statuses:
                break
            await asyncio.sleep(0.1)
        assert statuses == ["SUCCEEDED"] * 64
        assert len(arrived) == 64
        assert (await service.dead_letters())["deadLetters"] == []


def test_the_gate_hands_freed_slots_to_parked_dispatches_in_order() -> None:
    from statemachine.runtime.store import Shard
    from statemachine.runtime.worker.destinations import DestinationGate, default_cap

    assert default_cap(64) == 16 and default_cap(3) == 1 and default_cap(64, 5) == 5
    shard = Shard(0)
    items = [(shard, shard.tasks, f"1-{n}".encode(), b"m", True) for n in range(4)]
    gate = DestinationGate(2)
    assert gate.enter("a:80", items[0]) and gate.enter("a:80", items[1])
    assert not gate.enter("a:80", items[2], ("x2", b"record"))
    assert not gate.enter("a:80", items[3])
    assert gate.enter("b:80", items[3]) and gate.enter(None, items[3])
    assert gate.parked() == 2 and gate.in_flight("a:80") == 2
    assert gate.leave("a:80") == (items[2], ("x2", b"record"))  # the oldest, with its record
    assert gate.enter("a:80", items[2])  # its slot was kept for it
    assert gate.in_flight("a:80") == 2
    assert gate.leave("a:80") == (items[3], None)
    assert gate.enter("a:80", items[3])
    for _ in range(2):
        assert gate.leave("a:80") is None
    assert gate.leave("a:80") is None and gate.in_flight("a:80") == 0
