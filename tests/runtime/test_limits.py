"""Payload limits inside executions, on both runtimes: a value over 256 KiB or nested deeper
than 100 levels fails its state with ``States.DataLimitExceeded`` (Retry/Catch handle it);
a value that cannot be written as JSON at all fails it with ``States.Runtime``.  Never a
worker exception, never an execution left RUNNING, never a task performed twice.

Each test ran into a worker exception before (orjson gives up at 255 levels): in memory the
run raised; on Redis the item failed on each delivery, the task was performed again each
time, and the execution stayed RUNNING behind a dead letter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from tests.runtime import test_both_runtimes as both
from tests.runtime.test_both_runtimes import Engine

engine = both.engine  # the fixture: each test runs in memory and on Redis

LIMIT = "States.DataLimitExceeded"
TOO_DEEP = "nested deeper than 100 levels"


def nested(depth: int) -> Any:
    """Arrays nested ``depth`` levels: ``[[...[]...]]``."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def deep_service(body: bytes) -> tuple[web.Application, list[str]]:
    """A service answering every request with ``body`` as JSON; the calls it got."""
    calls: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        calls.append(request.method)
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/deep", answer)
    return app, calls


def caught(task: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "Call", "States": {
        "Call": {**task, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                 "End": True},
        "Caught": {"Type": "Pass", "End": True}}}


@pytest.mark.parametrize("kind", ["url", "http:invoke"])
async def test_a_task_result_nested_300_deep_fails_the_task_once_and_catch_routes_it(
        engine: Engine, serve_app: Callable[..., Any], kind: str) -> None:
    app, calls = deep_service(b"[" * 300 + b"]" * 300)
    async with serve_app(app) as base:
        task = ({"Type": "Task", "Resource": f"{base}/deep"} if kind == "url" else
                {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                 "Parameters": {"ApiEndpoint": f"{base}/deep", "Method": "GET"}})
        done = await engine.run(caught(task), {})
    assert done.status == "SUCCEEDED", done
    assert done.output["Error"] == LIMIT
    assert TOO_DEEP in done.output["Cause"]
    assert len(calls) == 1  # performed once: no delivery performed it again
    assert done.types.count("TaskFailed") == 1 and "TaskSucceeded" not in done.types


async def test_a_task_result_over_256_kib_fails_the_task_with_the_aws_cause(
        engine: Engine, serve_app: Callable[..., Any]) -> None:
    app, calls = deep_service(b'"' + b"x" * (256 * 1024 + 10) + b'"')
    async with serve_app(app) as base:
        done = await engine.run(caught({"Type": "Task", "Resource": f"{base}/deep"}), {})
    assert done.status == "SUCCEEDED", done
    assert done.output["Error"] == LIMIT
    assert "size exceeding the maximum number of bytes" in done.output["Cause"]
    assert len(calls) == 1


async def test_a_task_result_json_cannot_hold_fails_the_execution_cleanly(
        engine: Engine, serve_app: Callable[..., Any]) -> None:
    """An integer past 64 bits (read by Python's json, the fallback for NaN that orjson
    refuses; no store can write it)."""
    app, calls = deep_service(b'{"n": 123456789012345678901234567890, "x": NaN}')
    async with serve_app(app) as base:
        done = await engine.run({"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": f"{base}/deep", "End": True}}}, {})
    assert (done.status, done.error) == ("FAILED", "States.Runtime"), done
    assert "cannot be written as JSON" in (done.cause or "")
    assert len(calls) == 1


UNTIL_STOP = {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": True,
                                             "Next": "Done"}], "Default": "Grow"}
WRAP = {"StartAt": "Grow", "States": {
    "Grow": {"Type": "Pass", "Parameters": {"a": {"b": {"c": {"d": {"e.$": "$"}}}}},
             "Next": "Again"},
    "Again": UNTIL_STOP, "Done": {"Type": "Succeed"}}}
"""Wraps its input 5 levels deeper, again and again (before: until orjson gave up)."""


async def test_an_accepted_input_that_a_pass_wraps_past_the_limit_fails_cleanly(
        engine: Engine) -> None:
    done = await engine.run(WRAP, nested(99))  # as deep as the API accepts an input
    assert (done.status, done.error) == ("FAILED", LIMIT), done
    assert done.cause == ("The state/task 'Grow' returned a result nested deeper than 100 "
                          "levels, the maximum nesting depth service limit.")
    assert done.types.count("PassStateEntered") == 1


async def test_task_parameters_past_the_limit_fail_before_the_request(
        engine: Engine, serve_app: Callable[..., Any]) -> None:
    app, calls = deep_service(b"{}")
    async with serve_app(app) as base:
        done = await engine.run(caught({
            "Type": "Task", "Resource": f"{base}/deep",
            "Parameters": {"a": {"b": {"c": {"d": {"e.$": "$"}}}}}}), nested(99))
    assert done.status == "SUCCEEDED", done
    assert done.output["Error"] == LIMIT and "'Call'" in done.output["Cause"]
    assert calls == []


async def test_a_variable_that_wraps_itself_in_a_loop_stops_at_the_limit(engine: Engine) -> None:
    done = await engine.run({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"v": {}}, "Next": "Grow"},
        "Grow": {"Type": "Pass", "Assign": {"v": {"w.$": "$v"}}, "Next": "Again"},
        "Again": UNTIL_STOP, "Done": {"Type": "Succeed"}}}, {})
    assert (done.status, done.error) == ("FAILED", LIMIT), done
    assert TOO_DEEP in (done.cause or "")


async def test_a_map_item_selector_past_the_limit_fails_the_map(engine: Engine) -> None:
    done = await engine.run({"StartAt": "Fan", "States": {"Fan": {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemSelector": {"a": {"b.$": "$$.Map.Item.Value"}},
        "Catch": [{"ErrorEquals": [LIMIT], "Next": "Caught"}],
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}},
        "Caught": {"Type": "Pass", "End": True}}}, {"items": [nested(99)]})
    assert done.status == "SUCCEEDED", done
    assert done.output["Error"] == LIMIT


async def test_string_to_json_of_a_deep_string_fails_cleanly(engine: Engine) -> None:
    for depth, error in [(300, LIMIT), (50_000, "States.IntrinsicFailure")]:
        done = await engine.run({"StartAt": "Parse", "States": {"Parse": {
            "Type": "Pass", "Parameters": {"v.$": "States.StringToJson($.s)"}, "End": True}}},
            {"s": "[" * depth + "]" * depth})
        assert (done.status, done.error) == ("FAILED", error), done


def test_cli_run_refuses_an_input_nested_past_the_limit_as_the_api_does(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from statemachine.cli import main as cli_main

    definition = tmp_path / "wrap.json"
    definition.write_text(json.dumps(WRAP))
    deep = tmp_path / "deep.json"
    deep.write_text(json.dumps(nested(101)))
    assert cli_main(["run", str(definition), "--input-file", str(deep)]) == 2
    assert "deeper than 100 levels" in capsys.readouterr().err
