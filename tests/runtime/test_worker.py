"""Executions end to end through the Service and an in-process Worker on a real Redis."""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any

from aiohttp import web

from statemachine.language.model import compile_machine
from statemachine.runtime.invokers import Invokers, InvokerSettings
from statemachine.runtime.local import LocalRunner

PASS = {"Type": "Pass", "End": True}


def item_processor(states: dict[str, Any], start: str) -> dict[str, Any]:
    return {"StartAt": start, "States": states}


FLOW = {
    "StartAt": "Init",
    "States": {
        "Init": {"Type": "Pass", "Result": {"n": 0}, "ResultPath": "$.counter", "Next": "Loop"},
        "Loop": {"Type": "Choice", "Choices": [
            {"Variable": "$.counter.n", "NumericGreaterThanEquals": 3, "Next": "Nap"}],
            "Default": "Bump"},
        "Bump": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.counter.n, 1)"},
                 "ResultPath": "$.counter", "Next": "Loop"},
        "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Fan"},
        "Fan": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ResultPath": "$.mapped",
                "ItemProcessor": item_processor(
                    {"Double": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $)"},
                                "End": True}}, "Double"),
                "Next": "Both"},
        "Both": {"Type": "Parallel", "ResultPath": "$.branches", "End": True, "Branches": [
            {"StartAt": "L", "States": {"L": {"Type": "Pass", "Result": "left", "End": True}}},
            {"StartAt": "R", "States": {"R": {"Type": "Wait", "Seconds": 0, "Next": "R2"},
                                        "R2": {"Type": "Pass", "Result": "right", "End": True}}},
        ]},
    },
}


async def test_pass_choice_wait_map_parallel_end_to_end(runtime: Any, gap_free: Any) -> None:
    async with runtime() as rt:
        service = rt.service
        await service.define("flow", FLOW)
        started = await service.start("flow", {"items": [1, 2, 3, 4, 5]})
        done = await rt.finished(started["executionId"])
        assert done["status"] == "SUCCEEDED", done
        assert done["output"] == {
            "items": [1, 2, 3, 4, 5], "counter": {"n": 3},
            "mapped": [{"v": 2}, {"v": 4}, {"v": 6}, {"v": 8}, {"v": 10}],
            "branches": ["left", "right"],
        }
        events = await rt.events(started["executionId"], page=7)
        gap_free(events)
        types = [e["type"] for e in events]
        assert types.count("MapIterationSucceeded") == 5
        assert types.count("ChoiceStateEntered") == 4
        assert "WaitStateExited" in types and "ParallelStateSucceeded" in types


async def test_http_task_carries_idempotency_key_and_traceparent(runtime: Any,
                                                                  serve_app: Any) -> None:
    seen: list[dict[str, str]] = []

    async def charge(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        body = await request.json()
        return web.json_response({"charged": body["amount"]})

    app = web.Application()
    app.router.add_post("/charge", charge)
    async with serve_app(app) as base, runtime() as rt:
        service = rt.service
        await service.define("pay", {"StartAt": "Charge", "States": {
            "Charge": {"Type": "Task", "Resource": f"{base}/charge", "End": True}}})
        started = await service.start("pay", {"amount": 12})
        done = await rt.finished(started["executionId"])
        assert done["status"] == "SUCCEEDED" and done["output"] == {"charged": 12}
        assert len(seen) == 1
        assert len(seen[0]["Idempotency-Key"]) == 32
        assert seen[0]["traceparent"].startswith("00-")
        types = [e["type"] for e in await rt.events(started["executionId"])]
        assert types == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                         "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]


async def test_task_timeout_and_retry_then_catch(runtime: Any, serve_app: Any) -> None:
    calls = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(3)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/slow", slow)
    async with serve_app(app) as base, runtime() as rt:
        service = rt.service
        await service.define("slow", {"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": f"{base}/slow", "TimeoutSeconds": 1,
                     "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                     "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": True},
            "Caught": {"Type": "Pass", "End": True}}})
        started = await service.start("slow", {})
        done = await rt.finished(started["executionId"])
        assert done["status"] == "SUCCEEDED"
        assert done["output"]["Error"] == "States.Timeout"
        assert calls == 2
        types = [e["type"] for e in await rt.events(started["executionId"])]
        assert types.count("TaskScheduled") == 2


async def test_heartbeat_keeps_a_callback_alive_then_its_absence_times_out(
        runtime: Any, serve_app: Any) -> None:
    tokens: asyncio.Queue[str] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await tokens.put((await request.json())["token"])
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    # A worker runs while the test sends heartbeats (a draining one would time the task out
    # first: its heartbeat timer is due within a second); the end is drained.
    async with serve_app(app) as base, runtime(worker=True) as rt:
        service = rt.service
        await service.define("hb", {"StartAt": "Ask", "States": {
            "Ask": {"Type": "Task", "Resource": f"{base}/hook.waitForTaskToken", "HeartbeatSeconds": 1,
                    "Parameters": {"token.$": "$$.Task.Token"}, "End": True}}})
        started = await service.start("hb", {})
        token = await asyncio.wait_for(tokens.get(), 10)
        for _ in range(3):  # 1.8 s of heartbeats at 0.6 s: longer than HeartbeatSeconds
            await asyncio.sleep(0.6)
            await service.send_task_heartbeat(token)
        assert (await service.describe(started["executionId"]))["status"] == "RUNNING"
        done = await rt.finished(started["executionId"])
        assert done["status"] == "FAILED" and done["error"] == "States.HeartbeatTimeout"
        types = [e["type"] for e in await rt.events(started["executionId"])]
        assert "TaskTimedOut" in types


async def test_machine_timeout_seconds_times_the_execution_out(runtime: Any,
                                                               gap_free: Any) -> None:
    async with runtime() as rt:
        service = rt.service
        await service.define("long", {"TimeoutSeconds": 1, "StartAt": "Sleep", "States": {
            "Sleep": {"Type": "Wait", "Seconds": 3600, "End": True}}})
        started = await service.start("long", {})
        done = await rt.finished(started["executionId"])
        assert done["status"] == "TIMED_OUT" and done["error"] == "States.Timeout"
        events = await rt.events(started["executionId"])
        gap_free(events, last="ExecutionTimedOut")
        listed = await service.list_executions(status="TIMED_OUT")
        assert [e["executionId"] for e in listed["executions"]] == [started["executionId"]]


async def test_stop_aborts_children_and_pending_tasks(runtime: Any, redis: Any,
                                                      gap_free: Any) -> None:
    async with runtime() as rt:
        service = rt.service
        await service.define("stoppable", {"StartAt": "Fan", "States": {
            "Fan": {"Type": "Map", "MaxConcurrency": 3, "End": True, "ItemProcessor": item_processor(
                {"Sleep": {"Type": "Wait", "Seconds": 3600, "End": True}}, "Sleep")}}})
        started = await service.start("stoppable", [1, 2, 3, 4, 5])
        xid = started["executionId"]
        child_ids = [f"{xid}/{g}/{i}" for g in ("3",) for i in range(3)]
        await rt.drain()  # the children begin, then sleep (an hour: no work left meanwhile)
        await service.stop(xid, error="Halt", cause="by the test")
        done = await rt.finished(xid)
        assert done["status"] == "ABORTED" and done["error"] == "Halt"
        for child in child_ids:
            assert (await service.describe(child))["status"] == "ABORTED"
        timers = await redis.zcard(service.store.shard(xid).timers)
        assert timers == 0
        gap_free(await rt.events(xid), last="ExecutionAborted")


async def test_map_tolerated_failures_behave_as_in_memory(runtime: Any) -> None:
    """The Redis bookkeeping of children applies interpreter.children like the local runner."""
    definition = {"StartAt": "Fan", "States": {
        "Fan": {"Type": "Map", "MaxConcurrency": 2, "ToleratedFailureCount": 1, "End": True,
                "ItemProcessor": item_processor({
                    "Check": {"Type": "Choice", "Choices": [
                        {"Variable": "$", "NumericGreaterThan": 2, "Next": "Bad"}], "Default": "Good"},
                    "Bad": {"Type": "Fail", "Error": "TooBig", "Cause": "over two"},
                    "Good": {"Type": "Pass", "End": True}}, "Check")}}}
    cases = [[1, 2, 3], [1, 3, 4, 2], [5, 1, 2, 6, 7]]
    invokers = Invokers(InvokerSettings())
    expected = []
    for items in cases:
        result = await LocalRunner(compile_machine(definition), invokers.invoke).run(items)
        expected.append((result.execution["status"], result.execution["output"], result.execution["error"]))
    await invokers.close()
    async with runtime() as rt:
        service = rt.service
        await service.define("tolerant", definition)
        got = []
        for items in cases:
            started = await service.start("tolerant", items)
            done = await rt.finished(started["executionId"])
            got.append((done["status"], done["output"], done["error"]))
    assert got == expected
    assert got[0][0] == "SUCCEEDED" and got[0][1][2] == {"Error": "TooBig", "Cause": "over two"}
    assert got[1][2] == "States.ExceedToleratedFailureThreshold"


async def test_map_of_ten_thousand_items(runtime: Any, redis: Any, gap_free: Any) -> None:
    """10,000 children, 40 at a time: each runs once, the group leaves nothing behind, and
    no child record carries the root's input (nothing below reads $$.Execution.Input)."""
    items = list(range(10_000))
    async with runtime(concurrency=32) as rt:
        service = rt.service
        await service.define("big", {"StartAt": "Fan", "States": {
            "Fan": {"Type": "Map", "MaxConcurrency": 40, "End": True, "ItemProcessor": item_processor(
                {"Echo": {"Type": "Pass", "End": True}}, "Echo")}}})
        began = time.perf_counter()
        started = await service.start("big", items)
        xid = started["executionId"]
        await rt.drain(timeout=120)
        done = await service.describe(xid)
        elapsed = time.perf_counter() - began
        events = await rt.events(xid)
        shard = service.store.shard(xid)
        leftovers = [key async for key in redis.scan_iter(match=f"sm:{shard.tag}:g*")]
        group = next(e["id"] for e in events if e["type"] == "MapStateStarted")
        child = await service.store.executions.load(f"{xid}/{group}/9999")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nMap of 10,000 Pass items, MaxConcurrency 40: {elapsed:.1f} s, "
          f"test process peak RSS {peak_mib:.0f} MiB")
    assert done["status"] == "SUCCEEDED"
    assert done["output"] == items
    gap_free(events)
    for kind in ("MapIterationStarted", "MapIterationSucceeded"):
        indexes = sorted(e["mapIterationStartedEventDetails" if kind == "MapIterationStarted"
                           else "mapIterationSucceededEventDetails"]["index"]
                         for e in events if e["type"] == kind)
        assert indexes == items, kind
    assert leftovers == []
    assert child is not None and child["root"]["input"] is None and child["input"] == 9999
