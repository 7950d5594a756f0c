"""Every route of the REST API, end to end: real redis-server, Service and Worker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft202012Validator

from statemachine.api import create_app
from statemachine.api.openapi import document
from statemachine.api.routes import ROUTES
from statemachine.security.roles import Role
from tests.api.client import Api, keyed_app
from tests.api.contract import conforms, parameter_allows
from tests.api.samples import HELLO, HELLO_YAML
from tests.conftest import RedisServer

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

EXECUTION_FIELDS = {"executionId", "stateMachine", "status", "input", "output", "error",
                    "cause", "startDate", "stopDate"}


async def test_define_versions_list_and_get(api: Api) -> None:
    first = await api.define("hello", HELLO)
    assert (first["name"], first["version"]) == ("hello", 1)
    conforms("StateMachine", first)
    second = await api.define("hello", HELLO_YAML)
    assert second["version"] == 2

    status, listing = await api.call("GET", "/v1/state-machines")
    assert status == 200
    conforms("StateMachineList", listing)
    assert [(m["name"], m["version"]) for m in listing["stateMachines"]] == [("hello", 2)]

    status, latest = await api.call("GET", "/v1/state-machines/hello")
    assert status == 200 and latest["version"] == 2
    status, old = await api.call("GET", "/v1/state-machines/hello?version=1")
    assert status == 200 and old["version"] == 1 and old["definition"]["StartAt"] == "Greet"


async def test_define_with_substitutions(api: Api) -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "${WHO}", "End": True}}}
    status, body = await api.call("POST", "/v1/state-machines", json={
        "name": "subst", "definition": definition, "substitutions": {"WHO": "world"}})
    assert status == 201, body
    execution = await api.finished((await api.start("subst"))["executionId"])
    assert execution["output"] == "world"


async def test_invalid_definition_has_diagnostics_with_lines(api: Api) -> None:
    text = "StartAt: Missing\nStates:\n  A:\n    Type: Pass\n    End: true\n"
    status, body = await api.call("POST", "/v1/state-machines",
                                  json={"name": "broken", "definition": text})
    assert status == 400
    assert body["error"] == "InvalidDefinition" and body["message"]
    conforms("InvalidDefinition", body)
    assert body["diagnostics"] and all(d["code"] and d["message"] for d in body["diagnostics"])
    assert any(d["line"] is not None for d in body["diagnostics"])
    assert (await api.call("GET", "/v1/state-machines/broken"))[0] == 404


async def test_start_run_describe_list_and_history(api: Api) -> None:
    await api.define("hello", HELLO)
    started = await api.start("hello", {"who": "world"}, name="first")
    conforms("ExecutionStarted", started)
    execution = await api.finished(started["executionId"])
    assert EXECUTION_FIELDS <= set(execution)
    conforms("Execution", execution)
    assert execution["status"] == "SUCCEEDED"
    assert execution["output"] == {"greeting": "hello world"}
    assert execution["input"] == {"who": "world"} and execution["stopDate"]

    status, history = await api.call("GET", f"/v1/executions/{started['executionId']}/history")
    assert status == 200
    conforms("History", history)
    types = [event["type"] for event in history["events"]]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert "PassStateEntered" in types

    status, page = await api.call(
        "GET", f"/v1/executions/{started['executionId']}/history?limit=1")
    assert status == 200 and len(page["events"]) == 1 and page["nextCursor"]
    assert parameter_allows("getExecutionHistory", "cursor", page["nextCursor"])
    status, rest = await api.call("GET", f"/v1/executions/{started['executionId']}/history",
                                  params={"limit": "1000", "cursor": page["nextCursor"]})
    assert [e["type"] for e in page["events"] + rest["events"]] == types


async def test_list_executions_filters_and_pages(api: Api) -> None:
    await api.define("hello", HELLO)
    await api.define("napper", WAIT_LONG)
    ids = [(await api.start("hello", {"who": str(i)}))["executionId"] for i in range(3)]
    napping = (await api.start("napper"))["executionId"]
    for execution_id in ids:
        assert (await api.finished(execution_id))["status"] == "SUCCEEDED"

    status, page = await api.call("GET", "/v1/executions", params={"stateMachine": "hello"})
    assert status == 200
    conforms("ExecutionList", page)
    assert sorted(e["executionId"] for e in page["executions"]) == sorted(ids)

    status, running = await api.call("GET", "/v1/executions", params={"status": "RUNNING"})
    assert [e["executionId"] for e in running["executions"]] == [napping]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = await api.call("GET", "/v1/executions", params=params)
        assert status == 200 and len(page["executions"]) <= 2
        seen += [e["executionId"] for e in page["executions"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
        assert parameter_allows("listExecutions", "cursor", cursor), cursor
    assert sorted(seen) == sorted(ids + [napping])


async def test_idempotent_start_and_conflict(api: Api) -> None:
    await api.define("hello", HELLO)
    path = "/v1/state-machines/hello/executions"
    status, first = await api.call("POST", path, json={"name": "once", "input": {"who": "a"}})
    assert status == 201 and first["created"] is True
    status, again = await api.call("POST", path, json={"name": "once", "input": {"who": "a"}})
    assert status == 200 and again["executionId"] == first["executionId"]
    status, other = await api.call("POST", path, json={"name": "once", "input": {"who": "b"}})
    assert status == 409 and other["error"] and other["message"]


async def test_start_without_body_uses_empty_input(api: Api) -> None:
    await api.define("hello2", HELLO_YAML)
    status, started = await api.call("POST", "/v1/state-machines/hello2/executions")
    assert status == 201, started
    execution = await api.finished(started["executionId"])
    assert execution["input"] == {} and execution["output"] == {"greeting": "hello"}


async def test_stop_aborts_a_waiting_execution(api: Api) -> None:
    await api.define("napper", WAIT_LONG)
    execution_id = (await api.start("napper"))["executionId"]
    status, body = await api.call("POST", f"/v1/executions/{execution_id}/stop",
                                  json={"error": "Operator", "cause": "not needed"})
    assert status == 200, body
    conforms("StopResult", body)
    execution = await api.finished(execution_id)
    assert execution["status"] == "ABORTED"
    assert (execution["error"], execution["cause"]) == ("Operator", "not needed")
    status, history = await api.call("GET", f"/v1/executions/{execution_id}/history")
    assert history["events"][-1]["type"] == "ExecutionAborted"


async def _activity_task(api: Api, input: Any) -> tuple[str, dict[str, Any]]:
    """Start an execution waiting on the activity and poll its task."""
    execution_id = (await api.start("approval", input))["executionId"]
    status, task = await api.call("POST", f"/v1/activities/{ACTIVITY_NAME}/poll?timeout=10")
    assert status == 200, task
    conforms("ActivityTask", task)
    return execution_id, task


async def test_activity_poll_heartbeat_success_and_repeat(api: Api) -> None:
    status, activity = await api.call("POST", "/v1/activities", json={"name": ACTIVITY_NAME})
    assert status == 201 and activity["name"] == ACTIVITY_NAME
    conforms("Activity", activity)
    await api.define("approval", ACTIVITY)
    execution_id, task = await _activity_task(api, {"amount": 5})
    assert task["input"] == {"amount": 5}

    token = task["taskToken"]
    assert (await api.call("POST", "/v1/tasks/heartbeat", json={"taskToken": token})) == (200, {})
    assert (await api.call("POST", "/v1/tasks/success",
                           json={"taskToken": token, "output": {"ok": True}})) == (200, {})
    execution = await api.finished(execution_id)
    assert execution["status"] == "SUCCEEDED" and execution["output"] == {"ok": True}

    status, late = await api.call("POST", "/v1/tasks/success",
                                  json={"taskToken": token, "output": {"ok": False}})
    assert status == 400 and late["error"] in ("TaskTimedOut", "InvalidToken")
    assert (await api.finished(execution_id))["output"] == {"ok": True}


async def test_activity_failure(api: Api) -> None:
    await api.call("POST", "/v1/activities", json={"name": ACTIVITY_NAME})
    await api.define("approval", ACTIVITY)
    execution_id, task = await _activity_task(api, {"amount": 7})
    status, body = await api.call("POST", "/v1/tasks/failure", json={
        "taskToken": task["taskToken"], "error": "Rejected", "cause": "too much"})
    assert (status, body) == (200, {})
    execution = await api.finished(execution_id)
    assert (execution["status"], execution["error"], execution["cause"]) == (
        "FAILED", "Rejected", "too much")


async def test_poll_without_work_is_204(api: Api) -> None:
    await api.call("POST", "/v1/activities", json={"name": "idle"})
    status, body = await api.call("POST", "/v1/activities/idle/poll?timeout=0.2",
                                  json={"workerName": "w1"})
    assert (status, body) == (204, None)


async def test_healthz_and_metrics(api: Api) -> None:
    assert await api.call("GET", "/healthz") == (200, {"status": "ok"})
    await api.define("hello", HELLO)
    await api.finished((await api.start("hello", {"who": "x"}))["executionId"])
    status, text = await api.call("GET", "/metrics")
    assert status == 200
    assert 'statemachine_executions_started_total{state_machine="hello"} 1' in text
    assert 'statemachine_executions_observed_finished_total{status="SUCCEEDED"} 1' in text
    assert "# TYPE statemachine_http_requests_total counter" in text
    assert 'route="/v1/state-machines/{name}/executions",status="201"' in text


async def test_healthz_503_when_redis_is_gone(tmp_path: Path) -> None:
    from statemachine.service import Service

    private = RedisServer(tmp_path)
    private.start()
    service = await Service.connect(private.url)
    try:
        async with TestClient(TestServer(create_app(service))) as client:
            assert (await client.get("/healthz")).status == 200
            private.stop(kill=True)
            response = await client.get("/healthz")
            assert response.status == 503
            assert (await response.json())["error"] == "Unavailable"
    finally:
        await service.close()
        private.stop()


async def test_openapi_describes_every_route(api_alone: Api) -> None:
    status, doc = await api_alone.call("GET", "/openapi.json", auth=False)
    assert status == 200 and doc["paths"].keys() >= document()["paths"].keys()
    assert doc["openapi"] == "3.1.0"
    app = create_app(api_alone.service)
    served = {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
              if r.method != "HEAD" and r.resource is not None}
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented
    assert len(served) == len(ROUTES)
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"], (method, path)
            for param in operation.get("parameters", []):
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    _check_refs(doc, doc)
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "session"}
    for route in ROUTES:  # each operation's security comes from the route table
        path = route.path.replace("{file:.+}", "{file}")
        operation = doc["paths"][path][route.method.lower()]
        if isinstance(route.access, Role):
            assert operation["security"] == [{"bearer": []}, {"session": []}], route
            assert operation["x-required-role"] == route.access.value
            assert {"401", "403"} <= operation["responses"].keys()
        else:
            assert operation["security"] == [], route


def test_openapi_describes_every_error_response() -> None:
    """Each operation states the errors of its kind, as ``{"error", "message"}`` bodies."""
    for path, operations in document()["paths"].items():
        for method, operation in operations.items():
            expected = {"500"}
            if "requestBody" in operation:
                expected |= {"400", "413", "415"}
            if any(p["in"] == "query" for p in operation.get("parameters", [])):
                expected.add("400")
            if path.startswith("/v1/"):
                expected.add("503")  # Redis away
            responses = operation["responses"]
            assert expected <= set(responses), (method, path, expected - set(responses))
            for status in expected:
                body = responses[status]["content"]["application/json"]["schema"]
                assert "#/components/schemas/Error" in str(body), (method, path, status)


def _check_refs(node: Any, doc: dict[str, Any]) -> None:
    """Every ``$ref`` in the document points at an existing component."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.split("/")[-1] in doc["components"]["schemas"], ref
        for value in node.values():
            _check_refs(value, doc)
    elif isinstance(node, list):
        for value in node:
            _check_refs(value, doc)


async def test_unhandled_error_is_generic_500_and_logged(api_alone: Api, caplog: Any) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail")

    app, headers = await keyed_app(api_alone.service)
    app.router.add_get("/boom", boom)  # a route outside ROUTES needs an admin key
    async with TestClient(TestServer(app), headers=headers) as client:
        response = await client.get("/boom")
        body = await response.json()
    assert response.status == 500 and body["error"] == "InternalError"
    assert "secret" not in str(body) and "Traceback" not in str(body)
    assert any("secret detail" in (r.exc_text or "") or r.exc_info for r in caplog.records)


async def test_long_poll_ends_at_shutdown(api_alone: Api) -> None:
    app, headers = await keyed_app(api_alone.service)
    await api_alone.call("POST", "/v1/activities", json={"name": "quiet"})
    client = TestClient(TestServer(app), headers=headers)
    await client.start_server()
    poll = asyncio.create_task(client.post("/v1/activities/quiet/poll"))
    await asyncio.sleep(0.3)
    await app.shutdown()
    response = await asyncio.wait_for(poll, 5)
    assert response.status == 204
    await client.close()


async def test_an_unusual_method_is_counted_as_other_not_by_its_name(api: Api) -> None:
    """A method is any HTTP token to aiohttp's pure-Python parser (and one of dozens to its
    C one): counted by name, each would be a new series of the requests counter, from
    callers with no key."""
    for method in ("PURGE", "MKCOL", "PROPFIND"):
        status, _ = await api.call(method, "/v1/state-machines", auth=False)
        assert status in (401, 404, 405), (method, status)
    status, text = await api.call("GET", "/metrics")
    assert status == 200
    assert not any(method in text for method in ("PURGE", "MKCOL", "PROPFIND"))
    assert 'statemachine_http_requests_total{method="other"' in text
