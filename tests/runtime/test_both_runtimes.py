"""Behaviours both runtimes share, each run on the in-memory runner and on Redis.

The ``engine`` fixture is parametrised over the two: ``memory`` is the runner behind
``cli.py run`` (:class:`~statemachine.runtime.local.LocalRunner`), ``redis`` the durable
service with a worker drained until no work is left.  A test here states a behaviour once;
what only one runtime has (listing, stopping, leases, crashes) is tested beside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
from aiohttp import web

from statemachine.language.model import compile_machine
from statemachine.runtime.invokers import Invokers, InvokerSettings
from statemachine.runtime.local import LocalRunner


@dataclass
class Outcome:
    status: str
    output: Any
    error: str | None
    cause: str | None
    events: list[dict[str, Any]]

    @property
    def types(self) -> list[str]:
        return [e["type"] for e in self.events]


class Engine(Protocol):
    async def run(self, definition: dict[str, Any], input: Any) -> Outcome: ...


class Memory:
    """One execution at a time in this process, as ``cli.py run`` runs it."""

    def __init__(self) -> None:
        self.invokers = Invokers(InvokerSettings())

    async def run(self, definition: dict[str, Any], input: Any) -> Outcome:
        result = await LocalRunner(compile_machine(definition), self.invokers.invoke).run(input)
        ex = result.execution
        return Outcome(ex["status"], ex["output"], ex["error"], ex["cause"], result.history)


class Durable:
    """The Service on the session's Redis; a worker drained after each start."""

    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.machines = 0

    async def run(self, definition: dict[str, Any], input: Any) -> Outcome:
        self.machines += 1
        name = f"shared-{self.machines}"
        await self.rt.service.define(name, definition)
        started = await self.rt.service.start(name, input)
        done = await self.rt.finished(started["executionId"])
        events = await self.rt.events(started["executionId"], page=7)
        return Outcome(done["status"], done["output"], done["error"], done["cause"], events)


@pytest.fixture(params=["memory", "redis"])
async def engine(request: pytest.FixtureRequest, runtime: Any) -> AsyncIterator[Engine]:
    if request.param == "memory":
        memory = Memory()
        try:
            yield memory
        finally:
            await memory.invokers.close()
    else:
        async with runtime() as rt:
            yield Durable(rt)


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


async def test_pass_choice_wait_map_parallel_end_to_end(engine: Engine,
                                                         gap_free: Callable[..., None]) -> None:
    done = await engine.run(FLOW, {"items": [1, 2, 3, 4, 5]})
    assert done.status == "SUCCEEDED", done
    assert done.output == {
        "items": [1, 2, 3, 4, 5], "counter": {"n": 3},
        "mapped": [{"v": 2}, {"v": 4}, {"v": 6}, {"v": 8}, {"v": 10}],
        "branches": ["left", "right"],
    }
    gap_free(done.events)
    assert done.types.count("MapIterationSucceeded") == 5
    assert done.types.count("ChoiceStateEntered") == 4
    assert "WaitStateExited" in done.types and "ParallelStateSucceeded" in done.types


async def test_http_task_carries_idempotency_key_and_traceparent(engine: Engine,
                                                                  serve_app: Any) -> None:
    seen: list[dict[str, str]] = []

    async def charge(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        body = await request.json()
        return web.json_response({"charged": body["amount"]})

    app = web.Application()
    app.router.add_post("/charge", charge)
    async with serve_app(app) as base:
        done = await engine.run({"StartAt": "Charge", "States": {
            "Charge": {"Type": "Task", "Resource": f"{base}/charge", "End": True}}}, {"amount": 12})
    assert done.status == "SUCCEEDED" and done.output == {"charged": 12}
    assert len(seen) == 1
    assert len(seen[0]["Idempotency-Key"]) == 32
    assert seen[0]["traceparent"].startswith("00-")
    assert done.types == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                          "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]


async def test_task_timeout_and_retry_then_catch(engine: Engine, serve_app: Any) -> None:
    calls = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(3)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/slow", slow)
    async with serve_app(app) as base:
        done = await engine.run({"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": f"{base}/slow", "TimeoutSeconds": 1,
                     "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1,
                                "MaxAttempts": 1}],
                     "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": True},
            "Caught": {"Type": "Pass", "End": True}}}, {})
    assert done.status == "SUCCEEDED"
    assert done.output["Error"] == "States.Timeout"
    assert calls == 2
    assert done.types.count("TaskScheduled") == 2


TOLERANT = {"StartAt": "Fan", "States": {
    "Fan": {"Type": "Map", "MaxConcurrency": 2, "ToleratedFailureCount": 1, "End": True,
            "ItemProcessor": item_processor({
                "Check": {"Type": "Choice", "Choices": [
                    {"Variable": "$", "NumericGreaterThan": 2, "Next": "Bad"}], "Default": "Good"},
                "Bad": {"Type": "Fail", "Error": "TooBig", "Cause": "over two"},
                "Good": {"Type": "Pass", "End": True}}, "Check")}}}
TOO_BIG = {"Error": "TooBig", "Cause": "over two"}


@pytest.mark.parametrize(("items", "status", "output", "error"), [
    ([1, 2, 3], "SUCCEEDED", [1, 2, TOO_BIG], None),
    ([1, 3, 4, 2], "FAILED", None, "States.ExceedToleratedFailureThreshold"),
    ([5, 1, 2, 6, 7], "FAILED", None, "States.ExceedToleratedFailureThreshold"),
])
async def test_map_tolerated_failures(engine: Engine, items: list[int], status: str,
                                      output: Any, error: str | None) -> None:
    """Both runtimes apply interpreter.children's policy: the Redis one inside commit.lua."""
    done = await engine.run(TOLERANT, items)
    assert (done.status, done.output, done.error) == (status, output, error)


SPIN = {"StartAt": "Spin", "States": {
    "Spin": {"Type": "Pass", "Next": "Again"},
    "Again": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}],
              "Default": "Spin"},
    "Done": {"Type": "Succeed"},
}}


async def test_a_loop_with_no_way_out_fails_at_event_25000(engine: Engine) -> None:
    """AWS's history quota: event 25,000 is ExecutionFailed (in pieces of 1,000 events)."""
    done = await engine.run(SPIN, {})
    assert done.status == "FAILED" and done.error == "States.Runtime"
    assert done.cause == "The execution reached the maximum number of history events (25000)."
    assert len(done.events) == 25_000 and done.events[-1]["type"] == "ExecutionFailed"
    assert [e["id"] for e in done.events] == list(range(1, 25_001))
