"""EXPRESS executions: ``Service.start_sync`` runs one in the API process, nothing persisted;
the 5-minute limit; an asynchronous EXPRESS start through the durable engine."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from statemachine.errors import InputError
from statemachine.language import arns
from statemachine.language.model import compile_machine
from statemachine.runtime.invokers import Invokers, InvokerSettings
from statemachine.runtime.invokers.egress import EGRESS_ERROR
from statemachine.runtime.local import LocalRunner

CONTEXT = {"StartAt": "Look", "States": {
    "Look": {"Type": "Pass", "Parameters": {"execution.$": "$$.Execution", "in.$": "$"},
             "Next": "Which"},
    "Which": {"Type": "Choice", "Choices": [
        {"Variable": "$.in.go", "BooleanEquals": True, "Next": "Done"}], "Default": "Stop"},
    "Done": {"Type": "Succeed"},
    "Stop": {"Type": "Fail", "Error": "NoGo", "Cause": "go was not true"}}}


async def _express(rt: Any, name: str, definition: dict[str, Any]) -> None:
    """An EXPRESS machine, made as CreateStateMachine makes it."""
    await rt.service.catalog.create(name, definition, type="EXPRESS")


async def _execution_keys(redis_url: str) -> list[bytes]:
    client = aioredis.from_url(redis_url)
    try:
        return [k async for k in client.scan_iter(match="sm:*:x:*")]
    finally:
        await client.aclose()


async def test_a_sync_run_answers_as_aws_and_persists_nothing(runtime: Any, redis_url: str) -> None:
    async with runtime() as rt:
        await _express(rt, "quick", CONTEXT)
        before = await _execution_keys(redis_url)
        done = await rt.service.start_sync("quick", {"go": True}, "first",
                                           trace_header="Root=1-abc")
        assert await _execution_keys(redis_url) == before
        arn = arns.parse(done["executionArn"])
        assert isinstance(arn, arns.ExecutionArn) and arn.express_id is not None
        assert (arn.machine, arn.name) == ("quick", "first")
        assert done["stateMachineArn"] == rt.settings.place.machine("quick")
        assert done["status"] == "SUCCEEDED" and done["error"] is None
        output = orjson.loads(done["output"])
        execution = output["execution"]
        assert execution["Id"] == done["executionArn"] and execution["Name"] == "first"
        assert "RedriveCount" not in execution
        assert orjson.loads(done["input"]) == {"go": True} == output["in"]
        assert done["inputDetails"] == done["outputDetails"] == {"included": True}
        assert done["billingDetails"]["billedMemoryUsedInMB"] == 64
        assert done["billingDetails"]["billedDurationInMilliseconds"] % 100 == 0
        assert done["startDate"] <= done["stopDate"] and done["traceHeader"] == "Root=1-abc"

        failed = await rt.service.start_sync("quick", {"go": False}, include_data=False)
        assert failed["status"] == "FAILED" and failed["output"] is None
        assert (failed["error"], failed["cause"]) == ("NoGo", "go was not true")
        assert failed["input"] is None and failed["inputDetails"] == {"included": False}
        assert arns.parse(failed["executionArn"]) != arn  # a fresh name and id each run


async def test_the_machine_type_and_the_request_are_checked(runtime: Any) -> None:
    async with runtime() as rt:
        await rt.service.define("standard", CONTEXT)
        await _express(rt, "quick", CONTEXT)
        with pytest.raises(InputError) as refused:
            await rt.service.start_sync("standard", {})
        assert refused.value.code == "StateMachineTypeNotSupported"
        with pytest.raises(InputError) as bad_name:
            await rt.service.start_sync("quick", {}, "no spaces")
        assert bad_name.value.code == "InvalidName"
        with pytest.raises(InputError) as big:
            await rt.service.start_sync("quick", {"x": "y" * 300_000})
        assert big.value.code == "InvalidExecutionInput"
        with pytest.raises(Exception) as missing:
            await rt.service.start_sync("nothing", {})
        assert getattr(missing.value, "code", None) == "StateMachineDoesNotExist"


async def test_a_machine_made_right_after_a_refused_start_is_started_as_its_type(
        runtime: Any) -> None:
    """The starts' head cache keeps no answer for a machine that does not exist: its
    create, a moment later, is seen by the next start (an EXPRESS start flagged so)."""
    async with runtime() as rt:
        with pytest.raises(Exception) as missing:
            await rt.service.start("later", {})
        assert getattr(missing.value, "code", None) == "StateMachineDoesNotExist"
        await _express(rt, "later", CONTEXT)
        assert (await rt.service.start("later", {}))["express"] is True


async def test_a_definitions_timeout_ends_a_sync_run_timed_out(runtime: Any) -> None:
    async with runtime() as rt:
        await _express(rt, "slow", {"TimeoutSeconds": 1, "StartAt": "Nap", "States": {
            "Nap": {"Type": "Wait", "Seconds": 30, "End": True}}})
        done = await rt.service.start_sync("slow", {})
        assert (done["status"], done["error"], done["output"]) == ("TIMED_OUT", "States.Timeout", None)


async def test_in_process_runs_beyond_the_cap_are_throttled(runtime: Any, serve_app: Any) -> None:
    import asyncio

    release = asyncio.Event()
    arrived = 0

    async def held(request: web.Request) -> web.Response:
        nonlocal arrived
        arrived += 1
        await release.wait()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/held", held)
    async with serve_app(app) as base, runtime(max_sync_executions=2) as rt:
        await _express(rt, "held", {"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": f"{base}/held", "End": True}}})
        running = [asyncio.create_task(rt.service.start_sync("held", {})) for _ in range(2)]
        while arrived < 2:
            await asyncio.sleep(0.01)
        with pytest.raises(InputError) as throttled:
            await rt.service.start_sync("held", {})
        assert (throttled.value.code, throttled.value.status) == ("ThrottlingException", 429)
        with pytest.raises(InputError) as probe:  # TestState runs in process too: same places
            await rt.service.test_state({"Type": "Pass", "End": True})
        assert probe.value.code == "ThrottlingException"
        release.set()
        assert [r["status"] for r in await asyncio.gather(*running)] == ["SUCCEEDED"] * 2
        assert (await rt.service.start_sync("held", {}))["status"] == "SUCCEEDED"  # slot freed


async def test_tasks_go_through_the_workers_invokers_and_egress_policy(runtime: Any,
                                                                      serve_app: Any) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"got": await request.json()})

    app = web.Application()
    app.router.add_post("/echo", echo)
    async with serve_app(app) as service_url, serve_app(web.Application()) as api, \
            runtime() as rt:
        listener = api.removeprefix("http://")
        await rt.service.announce_listeners([listener], 60)  # what ``serve`` does
        await _express(rt, "call", {"StartAt": "Call", "States": {"Call": {
            "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint.$": "$.url", "Method": "POST", "RequestBody": {"n": 1}},
            "ResultSelector": {"body.$": "$.ResponseBody"}, "End": True}}})
        done = await rt.service.start_sync("call", {"url": f"{service_url}/echo"})
        assert done["status"] == "SUCCEEDED", done
        assert orjson.loads(done["output"]) == {"body": {"got": {"n": 1}}}
        refused = await rt.service.start_sync("call", {"url": f"{api}/v1/executions"})
        assert (refused["status"], refused["error"]) == ("FAILED", EGRESS_ERROR)
        await rt.service.withdraw_listeners([listener])


async def test_an_express_execution_times_out_after_five_minutes() -> None:
    machine = compile_machine({"StartAt": "Nap", "States": {
        "Nap": {"Type": "Wait", "Seconds": 400, "End": True}}})
    async with Invokers(InvokerSettings()) as invokers:
        express = await LocalRunner(machine, invokers.invoke, express=True,
                                    virtual_time=True).run({})
        standard = await LocalRunner(machine, invokers.invoke, virtual_time=True).run({})
    assert (express.execution["status"], express.execution["error"]) == ("TIMED_OUT", "States.Timeout")
    assert 300_000 <= express.execution["stop"] - express.execution["start"] < 400_000
    assert standard.execution["status"] == "SUCCEEDED"


async def test_an_async_express_start_runs_durably_as_an_express_execution(runtime: Any) -> None:
    async with runtime() as rt:
        await _express(rt, "later", CONTEXT)
        started = await rt.service.start("later", {"go": True}, express=True)
        done = await rt.finished(started["executionId"])
        assert done["status"] == "SUCCEEDED", done
        execution = done["output"]["execution"]
        assert "RedriveCount" not in execution
        arn = arns.parse(execution["Id"])
        assert isinstance(arn, arns.ExecutionArn)
        assert arn.express_id == started["executionId"]
        failed = await rt.service.start("later", {"go": False}, express=True)
        assert (await rt.finished(failed["executionId"]))["status"] == "FAILED"
        with pytest.raises(InputError) as refused:  # AWS redrives STANDARD executions only
            await rt.service.redrive(failed["executionId"])
        assert refused.value.code == "ExecutionNotRedrivable"


def test_cli_run_as_an_express_execution(tmp_path: Any) -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    definition = tmp_path / "ctx.json"
    definition.write_bytes(orjson.dumps(CONTEXT))
    done = subprocess.run([sys.executable, str(root / "cli.py"), "run", str(definition),
                           "--input", '{"go": true}', "--type", "EXPRESS", "--name", "once"],
                          capture_output=True, timeout=60, check=False, cwd=root)
    assert done.returncode == 0, done.stderr
    execution = orjson.loads(done.stdout)["output"]["execution"]
    arn = arns.parse(execution["Id"])
    assert isinstance(arn, arns.ExecutionArn) and (arn.machine, arn.name) == ("ctx", "once")
    assert arn.express_id is not None and "RedriveCount" not in execution
