"""Structured logs per execution, over a real Service, Worker and Redis: a state machine's
``loggingConfiguration`` through the REST API, the log lines the worker writes of its
executions, and ``GET /v1/executions/{id}/logs`` (AWS's log levels, its CloudWatch Logs
shape, paging), with no secret in either."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from statemachine.interpreter.execution_log import ERROR_TYPES, FATAL_TYPES, without_data
from statemachine.runtime.log_lines import Event, JsonFormatter
from statemachine.runtime.redaction import MASK
from tests.api.client import Api

TOKEN = "Bearer t0ken-From-The-Input-5521"
SECRET = "k3y-Of-The-Connection-9914"
CONNECTION = {"name": "payments", "authorizationType": "API_KEY",
              "authParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key",
                                                          "ApiKeyValue": SECRET}}}
LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:orders:*"


pytestmark = pytest.mark.usefixtures("own_data_dir")  # before the api fixture starts


@pytest.fixture
async def payments(serve_app: Any) -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A payments service that fails each first request (500), then answers; the headers of
    every request, as received."""
    seen: list[dict[str, str]] = []

    async def charge(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        if len(seen) % 2 == 1:
            return web.json_response({"error": "busy"}, status=500)
        return web.json_response({"charged": True})

    app = web.Application()
    app.router.add_post("/charge", charge)
    async with serve_app(app) as base:
        yield base, seen


def charge(base: str, connection: str | None = None) -> dict[str, Any]:
    """Prepare (Pass) → Charge (an HTTP task, retried once, its Authorization header from the
    input) → Declined (Fail)."""
    parameters: dict[str, Any] = {
        "ApiEndpoint": f"{base}/charge", "Method": "POST",
        "Headers": {"Authorization.$": "$.token"}, "RequestBody": {"amount.$": "$.amount"}}
    if connection is not None:
        parameters["Authentication"] = {"ConnectionArn": connection}
    return {"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Next": "Charge"},
        "Charge": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                   "Parameters": parameters, "ResultPath": "$.charge",
                   "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1,
                              "MaxAttempts": 1}],
                   "Next": "Declined"},
        "Declined": {"Type": "Fail", "Error": "Card.Declined", "Cause": "declined after all"}}}


async def define(api: Api, name: str, definition: Any, logging_config: Any = None
                 ) -> tuple[int, Any]:
    body: dict[str, Any] = {"name": name, "definition": definition}
    if logging_config is not None:
        body["loggingConfiguration"] = logging_config
    return await api.call("POST", "/v1/state-machines", json=body)


async def run(api: Api, machine: str, input: Any) -> str:
    execution = await api.finished((await api.start(machine, input))["executionId"])
    assert execution["status"] == "FAILED", execution
    return str(execution["executionId"])


async def log_of(api: Api, execution_id: str, **query: Any) -> dict[str, Any]:
    status, page = await api.call("GET", f"/v1/executions/{execution_id}/logs", params=query)
    assert status == 200, page
    return dict(page)


async def history_of(api: Api, execution_id: str) -> list[dict[str, Any]]:
    status, page = await api.call("GET", f"/v1/executions/{execution_id}/history")
    assert status == 200
    return list(page["events"])


# -- the configuration ------------------------------------------------------------------------


async def test_the_configuration_round_trips_and_stays_until_changed(api: Api) -> None:
    hello = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    status, made = await define(api, "hello", hello)
    assert status == 201
    assert made["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    given = {"level": "ERROR", "includeExecutionData": True,
             "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}]}
    status, made = await define(api, "hello", hello, given)
    assert (status, made["loggingConfiguration"], made["version"]) == (201, given, 2)
    assert (await api.call("GET", "/v1/state-machines/hello"))[1]["loggingConfiguration"] == given
    status, again = await define(api, "hello", {**hello, "Comment": "v3"})
    assert again["loggingConfiguration"] == given  # a POST without it keeps the one before
    status, off = await define(api, "hello", hello, {"level": "ALL"})
    assert off["loggingConfiguration"] == {"level": "ALL", "includeExecutionData": False}
    status, first = await api.call("GET", "/v1/state-machines/hello", params={"version": "1"})
    assert first["loggingConfiguration"]["level"] == "OFF"  # a version keeps its own


@pytest.mark.parametrize("config", [
    "ALL", {"level": "LOUD"}, {"level": "ALL", "includeExecutionData": "yes"},
    {"level": "ALL", "colour": "red"}, {"destinations": {"cloudWatchLogsLogGroup": {}}},
    {"destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:x"}}]},
    {"destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}] * 2},
])
async def test_a_bad_configuration_is_a_400_and_nothing_is_defined(api: Api, config: Any) -> None:
    status, refused = await define(api, "refused", {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "End": True}}}, config)
    assert (status, refused["error"]) == (400, "InvalidLoggingConfiguration"), refused
    assert (await api.call("GET", "/v1/state-machines/refused"))[0] == 404


# -- the levels --------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["ALL", "ERROR", "FATAL", "OFF"])
async def test_each_level_logs_its_events(api: Api, payments: tuple[str, list[Any]],
                                          level: str) -> None:
    base, _ = payments
    assert (await define(api, "pay", charge(base), {"level": level}))[0] == 201
    execution_id = await run(api, "pay", {"token": TOKEN, "amount": 5})
    history = await history_of(api, execution_id)
    kept = {"ALL": lambda t: True, "ERROR": lambda t: t in ERROR_TYPES,
            "FATAL": lambda t: t in FATAL_TYPES, "OFF": lambda t: False}[level]
    log = await log_of(api, execution_id)
    assert log["loggingConfiguration"] == {"level": level, "includeExecutionData": False}
    assert [(e["id"], e["type"]) for e in log["events"]] == [
        (str(e["id"]), e["type"]) for e in history if kept(e["type"])]
    assert log["nextCursor"] is None
    if level == "ERROR":
        assert [e["type"] for e in log["events"]] == ["TaskFailed", "FailStateEntered",
                                                       "ExecutionFailed"]
    if level == "ALL":
        arn = f"arn:aws:states:us-east-1:123456789012:execution:pay:{execution_id}"
        for logged, event in zip(log["events"], history, strict=True):
            assert set(logged) <= {"id", "type", "details", "previous_event_id",
                                   "event_timestamp", "execution_arn"}
            assert logged["previous_event_id"] == str(event["previousEventId"])
            assert logged["event_timestamp"] == str(event["timestamp"])
            assert logged["execution_arn"] == arn


async def test_the_log_pages_and_says_what_it_refuses(api: Api,
                                                      payments: tuple[str, list[Any]]) -> None:
    base, _ = payments
    await define(api, "pay", charge(base), {"level": "ALL", "includeExecutionData": True})
    execution_id = await run(api, "pay", {"token": TOKEN, "amount": 5})
    whole = (await log_of(api, execution_id, limit=1000))["events"]
    paged: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await log_of(api, execution_id, limit=3, **({"cursor": cursor} if cursor else {}))
        assert len(page["events"]) <= 3
        paged += page["events"]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert paged == whole and len(whole) > 3
    started = whole[0]
    assert started["type"] == "ExecutionStarted"
    assert json.loads(started["details"]["input"]) == {"token": TOKEN, "amount": 5}
    status, bad = await api.call("GET", f"/v1/executions/{execution_id}/logs",
                                 params={"cursor": "x1"})
    assert (status, bad["error"]) == (400, "InvalidCursor")
    status, missing = await api.call("GET", "/v1/executions/nope/logs")
    assert status == 404, missing


# -- secrets, and the lines the worker writes ----------------------------------------------------


async def test_no_secret_in_the_log_or_the_lines_and_every_line_names_its_execution(
        api: Api, payments: tuple[str, list[dict[str, str]]],
        caplog: pytest.LogCaptureFixture) -> None:
    """A secret given in the input (sent as a header) and a connection's: the task gets them,
    neither the log (with execution data or without) nor a log line shows them."""
    caplog.set_level(logging.INFO, logger="statemachine.execution")
    base, seen = payments
    status, made = await api.call("POST", "/v1/connections", json=CONNECTION)
    assert status == 201, made
    await define(api, "bare", charge(base, made["connectionArn"]), {"level": "ALL"})
    await define(api, "full", charge(base, made["connectionArn"]),
                 {"level": "ALL", "includeExecutionData": True})
    bare = await run(api, "bare", {"token": TOKEN, "amount": 5})
    full = await run(api, "full", {"token": TOKEN, "amount": 7})
    assert seen[0]["Authorization"] == TOKEN and seen[0]["X-Api-Key"] == SECRET

    bare_log, full_log = await log_of(api, bare), await log_of(api, full)
    assert TOKEN not in json.dumps(bare_log) and SECRET not in json.dumps(bare_log)
    assert SECRET not in json.dumps(full_log)
    scheduled = [e for e in full_log["events"] if e["type"] == "TaskScheduled"]
    assert [json.loads(e["details"]["parameters"])["Headers"]["Authorization"]
            for e in scheduled] == [MASK, MASK]
    assert all("parameters" not in e.get("details", {}) for e in bare_log["events"])

    formatter = JsonFormatter()
    text = "\n".join(formatter.format(r) for r in caplog.records)
    lines = [json.loads(formatter.format(r)) for r in caplog.records
             if r.name == "statemachine.execution"]
    assert SECRET not in text
    # the token is the input's: only the lines with execution data show it, as data (the
    # states' input and output), never as the header it was sent as
    showing = [line for line in lines if TOKEN in json.dumps(line)]
    assert showing and {line["executionId"] for line in showing} == {full}
    assert all(TOKEN not in json.dumps(without_data(line["details"])) for line in showing)
    for execution_id, log in ((bare, bare_log), (full, full_log)):
        mine = [line for line in lines if line["executionId"] == execution_id]
        assert [str(line["eventId"]) for line in mine] == [e["id"] for e in log["events"]]
        assert {line["machine"] for line in mine} == {"bare" if execution_id == bare else "full"}
        assert all(line["version"] == 1 for line in mine)
    bare_lines = [line for line in lines if line["executionId"] == bare]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for line in bare_lines:
        by_type.setdefault(line["type"], []).append(line)
    host = base.removeprefix("http://")
    assert [(line["attempt"], line["resourceHost"]) for line in by_type["TaskScheduled"]] == [
        (1, host), (2, host)]
    failed, succeeded = by_type["TaskFailed"][0], by_type["TaskSucceeded"][0]
    assert (failed["level"], failed["attempt"], failed["error"]) == (
        "WARNING", 1, "States.Http.StatusCode.500")
    assert (succeeded["level"], succeeded["attempt"], succeeded["resourceHost"]) == (
        "INFO", 2, host)
    assert succeeded["durationMs"] >= 0 and by_type["TaskStateExited"][0]["durationMs"] >= 0
    assert by_type["ExecutionFailed"][0]["level"] == "ERROR"
    assert by_type["ExecutionFailed"][0]["error"] == "Card.Declined"
    assert by_type["ExecutionFailed"][0]["durationMs"] >= 0
    assert all(line["state"] == "Charge" for line in by_type["TaskScheduled"])
    assert all(isinstance(r.msg, Event) for r in caplog.records
               if r.name == "statemachine.execution")


async def test_a_synchronous_express_execution_is_logged_by_the_api(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """AWS keeps no history of an EXPRESS execution: its lines are its record.  The API
    process writes them once the run ended (a Map's iterations too, under ids that begin with
    the execution's)."""
    caplog.set_level(logging.INFO, logger="statemachine.execution")
    await api.service.catalog.create("quick", {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemProcessor": {"StartAt": "Double", "States": {
            "Double": {"Type": "Pass", "End": True}}}}}}, type="EXPRESS",
        loggingConfiguration={"level": "ALL", "destinations": [
            {"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}]})
    status, body = await api.call("POST", "/v1/state-machines/quick/executions/sync",
                                  json={"input": {"items": [1, 2]}})
    assert status == 200 and body["status"] == "SUCCEEDED", body
    execution_id = body["executionArn"].rsplit(":", 1)[1]
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records
             if r.name == "statemachine.execution"]
    assert lines and all(line["executionId"].startswith(execution_id) for line in lines)
    assert {line["machine"] for line in lines} == {"quick"}
    assert lines[0]["type"] == "ExecutionStarted" and lines[-1]["type"] == "ExecutionSucceeded"
    children = [line for line in lines if line["executionId"] != execution_id]
    assert {line.get("state") for line in children} == {"Double", None}  # None: not begun
    assert len({line["executionId"] for line in children}) == 2
    assert [line["eventId"] for line in lines] == list(range(1, len(lines) + 1))
