"""Redrive on the durable runtime (real Redis, real workers, a real HTTP service): a failed
execution resumes where it failed once its service recovers, with the same id."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from aiohttp import web

from statemachine.errors import Conflict, NotFound


def http_task(url: str, **extra: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": url, "Method": "POST", "RequestBody.$": "$"}, **extra}


class Flaky:
    """An HTTP service whose ``/charge`` answers 500 until it is recovered; counts its calls."""

    def __init__(self) -> None:
        self.up = False
        self.calls: Counter[str] = Counter()
        self.app = web.Application()
        self.app.router.add_post("/{name}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.calls[name] += 1
        body = await request.json()
        if name == "charge" and not self.up:
            return web.json_response({"message": "down"}, status=500)
        if name == "item" and body.get("n") in (2, 4) and not self.up:
            return web.json_response({"message": "down"}, status=500)
        return web.json_response({"ok": name, "got": body})


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def test_a_failed_http_task_is_redriven_after_its_service_recovers(
        runtime: Any, serve_app: Any, gap_free: Any) -> None:
    flaky = Flaky()
    async with runtime() as rt, serve_app(flaky.app) as base:
        await rt.service.define("order", {"StartAt": "Reserve", "States": {
            "Reserve": http_task(f"{base}/reserve", ResultSelector={"reserved.$": "$.ResponseBody.ok"},
                                 Next="Charge"),
            "Charge": http_task(f"{base}/charge", Retry=[{
                "ErrorEquals": ["States.ALL"], "MaxAttempts": 1, "IntervalSeconds": 1}],
                ResultSelector={"charged.$": "$.ResponseBody.got"}, Next="Count"),
            "Count": {"Type": "Pass", "Parameters": {"charged.$": "$.charged",
                                                     "redrives.$": "$$.Execution.RedriveCount"},
                      "End": True}}})
        started = await rt.service.start("order", {"id": 7}, name="o-7")
        xid = started["executionId"]
        failed = await rt.finished(xid)
        assert failed["status"] == "FAILED" and failed["error"] == "States.Http.StatusCode.500"
        assert failed["redriveStatus"] == "REDRIVABLE" and failed["redriveCount"] == 0
        assert failed["redriveStatusReason"] is None
        assert flaky.calls == {"reserve": 1, "charge": 2}

        flaky.up = True
        answer = await rt.service.redrive(xid)
        assert answer["executionId"] == xid and answer["redriveCount"] == 1
        pending = await rt.service.describe(xid)
        assert pending["status"] == "RUNNING" and pending["redriveCount"] == 1
        assert [e["executionId"] for e in
                (await rt.service.list_executions(status="RUNNING"))["executions"]] == [xid]
        with pytest.raises(Conflict) as running:
            await rt.service.redrive(xid)
        assert running.value.code == "ExecutionNotRedrivable"

        done = await rt.finished(xid)
        assert done["status"] == "SUCCEEDED", done
        assert done["output"] == {"charged": {"reserved": "reserve"}, "redrives": 1}
        assert done["redriveCount"] == 1 and done["redriveDate"] == answer["redriveDate"]
        assert done["redriveStatus"] == "NOT_REDRIVABLE"
        assert done["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
        assert flaky.calls == {"reserve": 1, "charge": 3}  # Reserve did not run again

        events = await rt.events(xid)
        gap_free(events)
        names = types(events)
        at = names.index("ExecutionRedriven")
        assert names[at - 1] == "ExecutionFailed"
        assert events[at]["executionRedrivenEventDetails"] == {"redriveCount": 1}
        assert names[at + 1] == "TaskStateEntered"
        assert events[at + 1]["stateEnteredEventDetails"]["name"] == "Charge"
        assert names.count("ExecutionStarted") == 1

        listed = await rt.service.list_executions(machine="order", redrive_filter="REDRIVEN")
        assert [(e["executionId"], e["redriveCount"]) for e in listed["executions"]] == [(xid, 1)]
        assert not (await rt.service.list_executions(redrive_filter="NOT_REDRIVEN"))["executions"]
        assert [e["executionId"] for e in
                (await rt.service.list_executions(status="SUCCEEDED"))["executions"]] == [xid]
        with pytest.raises(Conflict) as succeeded:
            await rt.service.redrive(xid)
        assert succeeded.value.code == "ExecutionNotRedrivable"
        assert "SUCCEEDED" in str(succeeded.value)


async def test_a_repeated_client_token_redrives_once(runtime: Any) -> None:
    async with runtime() as rt:
        await rt.service.define("fails", {"StartAt": "F", "States": {
            "F": {"Type": "Fail", "Error": "Nope"}}})
        xid = (await rt.service.start("fails", {}))["executionId"]
        assert (await rt.finished(xid))["status"] == "FAILED"
        first = await rt.service.redrive(xid, "token-1")
        again = await rt.service.redrive(xid, "token-1")
        assert again == first and first["redriveCount"] == 1
        refailed = await rt.finished(xid)
        assert refailed["status"] == "FAILED" and refailed["redriveCount"] == 1
        assert (await rt.service.redrive(xid, "token-2"))["redriveCount"] == 2
        assert (await rt.finished(xid))["redriveCount"] == 2
        assert types(await rt.events(xid)).count("ExecutionRedriven") == 2


async def test_what_cannot_be_redriven(runtime: Any, redis: Any) -> None:
    async with runtime() as rt:
        await rt.service.define("waits", {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
        xid = (await rt.service.start("waits", {}))["executionId"]
        await rt.drain()
        with pytest.raises(Conflict) as running:
            await rt.service.redrive(xid)
        assert running.value.code == "ExecutionNotRedrivable"
        with pytest.raises(NotFound) as missing:
            await rt.service.redrive("no-such-execution")
        assert missing.value.code == "ExecutionDoesNotExist"
        await rt.service.stop(xid, "Stopped", "by the test")
        aborted = await rt.finished(xid)
        assert aborted["status"] == "ABORTED" and aborted["redriveStatus"] == "REDRIVABLE"
        [key] = [k async for k in redis.scan_iter(f"sm:*:x:{xid}")]
        assert await redis.ttl(key) > 0  # a finished record expires ...
        await rt.service.redrive(xid)
        assert await redis.ttl(key) == -1  # ... until it is redriven
        resumed = await rt.finished(xid)
        assert resumed["status"] == "RUNNING" and resumed["redriveCount"] == 1
        assert types(await rt.events(xid))[-2:] == ["ExecutionRedriven", "WaitStateEntered"]


async def test_a_redriven_map_runs_only_its_unsuccessful_iterations(
        runtime: Any, serve_app: Any, gap_free: Any) -> None:
    flaky = Flaky()
    async with runtime() as rt, serve_app(flaky.app) as base:
        await rt.service.define("batch", {"StartAt": "Items", "States": {
            "Items": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
                      "ToleratedFailureCount": 1, "End": True,
                      "ItemProcessor": {"StartAt": "Call", "States": {
                          "Call": http_task(f"{base}/item", End=True,
                                            ResultSelector={"got.$": "$.ResponseBody.got.n"})}}}}})
        items = [{"n": n} for n in range(1, 6)]
        xid = (await rt.service.start("batch", {"items": items}))["executionId"]
        failed = await rt.finished(xid)
        assert failed["status"] == "FAILED" and failed["error"] == "States.ExceedToleratedFailureThreshold"
        # one at a time: 1 ok, 2 failed (tolerated), 3 ok, 4 failed (over), 5 never started
        assert flaky.calls == {"item": 4}

        flaky.up = True
        await rt.service.redrive(xid)
        done = await rt.finished(xid)
        assert done["status"] == "SUCCEEDED", done
        assert done["output"] == [{"got": n} for n in range(1, 6)]
        assert flaky.calls == {"item": 7}  # 2, 4 and 5 ran; 1 and 3 were not run again

        events = await rt.events(xid)
        gap_free(events)
        after = types(events)[types(events).index("ExecutionRedriven"):]
        assert after.count("MapIterationStarted") == 3
        assert after.count("MapIterationSucceeded") == 3
        assert after[1:3] == ["MapStateEntered", "MapStateStarted"]


async def test_a_stop_sent_right_after_a_redrive_stops_the_resumed_execution(runtime: Any) -> None:
    async with runtime() as rt:
        await rt.service.define("naps", {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
        ids = [(await rt.service.start("naps", {}))["executionId"] for _ in range(8)]
        await rt.drain()
        for xid in ids:
            await rt.service.stop(xid)
        await rt.drain()
        for xid in ids:  # both work items wait on the stream, taken in one read
            await rt.service.redrive(xid)
            await rt.service.stop(xid, "Again", "right after the redrive")
        await rt.drain()
        for xid in ids:
            ended = await rt.service.describe(xid)
            assert ended["status"] == "ABORTED" and ended["error"] == "Again", ended
            assert ended["redriveCount"] == 1
