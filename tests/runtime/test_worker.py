"""Executions end to end through the Service and an in-process Worker on a real Redis: what only
the durable runtime does (callbacks and heartbeats, machine timeouts in the listing, stop, a big
Map's bookkeeping). What both runtimes share is in test_both_runtimes.py."""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any

from aiohttp import web

PASS = {"Type": "Pass", "End": True}


def item_processor(states: dict[str, Any], start: str) -> dict[str, Any]:
    return {"StartAt": start, "States": states}


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


async def test_a_lost_child_outcome_fails_the_map_instead_of_completing_it(
        runtime: Any, redis: Any, serve_app: Any) -> None:
    """A child's outcome lost while the group's count survives (a failover without replica
    acknowledgement can do that: they live in different slots) fails the Map as
    ``States.Runtime``; the Map never completes as if that child had a result."""

    async def work(request: web.Request) -> web.Response:
        item = (await request.json())["item"]
        if item == 1:  # child 0 has finished (MaxConcurrency 1): lose its outcome
            keys = [k async for k in redis.scan_iter(match="*gr:*")]
            assert len(keys) == 1, keys
            assert await redis.hdel(keys[0], "0") == 1
        return web.json_response({"done": item})

    app = web.Application()
    app.router.add_post("/work", work)
    async with serve_app(app) as base, runtime() as rt:
        service = rt.service
        await service.define("lossy", {"StartAt": "Fan", "States": {
            "Fan": {"Type": "Map", "MaxConcurrency": 1, "End": True,
                    "ItemSelector": {"item.$": "$$.Map.Item.Value"},
                    "ItemProcessor": item_processor({"Work": {
                        "Type": "Task", "Resource": f"{base}/work", "End": True}}, "Work")}}})
        started = await service.start("lossy", [0, 1])
        done = await rt.finished(started["executionId"])
        assert (done["status"], done["error"], done["cause"]) == (
            "FAILED", "States.Runtime", "lost child outcome"), done
        types = [e["type"] for e in await rt.events(started["executionId"])]
        assert "MapStateFailed" in types and "MapStateSucceeded" not in types
