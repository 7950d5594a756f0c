"""Bad requests get a 4xx with a JSON error body naming the problem, and write nothing."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
import redis.asyncio as aioredis

from statemachine.api.problems import MAX_BODY_BYTES, MAX_PAYLOAD_BYTES, MAX_VERSION
from tests.api.client import Api
from tests.api.contract import parameter_allows, response_conforms
from tests.api.samples import HELLO

LONG_NAME = "n" * 81
MACHINES = "/v1/state-machines"
START = "/v1/state-machines/hello/executions"


@pytest.fixture
async def ready(api_alone: Api) -> Api:
    """The API with the ``hello`` machine defined, and no worker."""
    await api_alone.define("hello", HELLO)
    return api_alone


async def redis_snapshot(redis_url: str) -> dict[bytes, bytes | None]:
    """Every key with its serialised value: equal snapshots mean nothing was written."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = sorted([key async for key in client.scan_iter(count=1000)])
        return {key: await client.dump(key) for key in keys}
    finally:
        await client.aclose()


async def refused(api: Api, method: str, path: str, status: int, *, word: str = "",
                  **kwargs: Any) -> dict[str, Any]:
    """Send a request that must fail with ``status`` and leave Redis exactly as it was."""
    before = await redis_snapshot(api.redis_url)
    got, body = await api.call(method, path, **kwargs)
    assert got == status, body
    assert isinstance(body, dict) and set(body) >= {"error", "message"}, body
    assert isinstance(body["error"], str) and body["message"]
    assert word.lower() in body["message"].lower(), body["message"]
    assert await redis_snapshot(api.redis_url) == before
    return body


RAW = {"headers": {"Content-Type": "application/json"}}


@pytest.mark.parametrize("path", [MACHINES, START, "/v1/tasks/success", "/v1/tasks/failure",
                                  "/v1/tasks/heartbeat", "/v1/activities",
                                  "/v1/executions/x/stop"])
async def test_malformed_json(ready: Api, path: str) -> None:
    body = await refused(ready, "POST", path, 400, word="JSON", data=b'{"name": ', **RAW)
    assert body["error"] == "MalformedJSON"


@pytest.mark.parametrize("content_type", [
    "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/xml", None])
async def test_a_body_not_sent_as_json_is_refused(ready: Api, content_type: str | None) -> None:
    """What a page of another site can send without a preflight (text/plain, a form, ...) starts
    nothing: the start that worked with ``fetch(..., {mode: 'no-cors'})`` is a 415 now."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    body = await refused(ready, "POST", START, 415, word="application/json",
                         data=b'{"input": {"x": 1}}', headers=headers)
    assert body["error"] == "UnsupportedMediaType"


async def test_json_with_a_charset_is_accepted(ready: Api) -> None:
    status, body = await ready.call("POST", START, data=b'{"input": {"x": 1}}',
                                    headers={"Content-Type": "application/json; charset=utf-8"})
    assert status == 201, body


@pytest.mark.parametrize("data", [
    b'{"input": {}, "input": {"x": 1}}',
    b'{"input": {"a": 1, "b": {"c": 2, "c": 3}}}',
])
async def test_a_key_twice_in_one_object_is_refused(ready: Api, data: bytes) -> None:
    body = await refused(ready, "POST", START, 400, word="twice", data=data, **RAW)
    assert body["error"] == "MalformedJSON"


@pytest.mark.parametrize("data", [b"[1, 2]", b'"text"', b"42", b"null"])
async def test_body_must_be_an_object(ready: Api, data: bytes) -> None:
    await refused(ready, "POST", MACHINES, 400, word="object", data=data, **RAW)


async def test_empty_body_where_fields_are_required(ready: Api) -> None:
    await refused(ready, "POST", "/v1/tasks/success", 400, word="empty", data=b"", **RAW)


@pytest.mark.parametrize("path, payload, field", [
    (MACHINES, {"name": 5, "definition": HELLO}, "name"),
    (MACHINES, {"name": "x", "definition": 5}, "definition"),
    (MACHINES, {"name": "x", "definition": [HELLO]}, "definition"),
    (MACHINES, {"name": "x", "definition": HELLO, "substitutions": {"A": 1}}, "substitutions"),
    (MACHINES, {"name": "x", "definition": HELLO, "substitutions": ["A"]}, "substitutions"),
    (START, {"name": 12}, "name"),
    ("/v1/tasks/success", {"taskToken": 7, "output": {}}, "taskToken"),
    ("/v1/tasks/failure", {"taskToken": "t", "error": 5}, "error"),
    ("/v1/tasks/failure", {"taskToken": "t", "cause": ["x"]}, "cause"),
    ("/v1/tasks/heartbeat", {"taskToken": None}, "taskToken"),
    ("/v1/executions/x/stop", {"cause": 5}, "cause"),
    ("/v1/activities", {"name": True}, "name"),
])
async def test_wrong_types_name_the_field(ready: Api, path: str, payload: Any, field: str) -> None:
    await refused(ready, "POST", path, 400, word=f"'{field}'", json=payload)


@pytest.mark.parametrize("path, payload, field", [
    (MACHINES, {"definition": HELLO}, "name"),
    (MACHINES, {"name": "x"}, "definition"),
    ("/v1/tasks/success", {"taskToken": "t"}, "output"),
    ("/v1/tasks/success", {"output": 1}, "taskToken"),
    ("/v1/activities", {}, "name"),
])
async def test_missing_fields(ready: Api, path: str, payload: Any, field: str) -> None:
    body = await refused(ready, "POST", path, 400, word=f"'{field}'", json=payload)
    assert body["error"] == "MissingField"


@pytest.mark.parametrize("path, payload", [
    (MACHINES, {"name": "x", "definition": HELLO, "defintion": HELLO}),
    (START, {"input": {}, "inptu": {}}),
    ("/v1/tasks/success", {"taskToken": "t", "output": {}, "result": 1}),
])
async def test_unknown_fields(ready: Api, path: str, payload: Any) -> None:
    body = await refused(ready, "POST", path, 400, word="unknown", json=payload)
    assert body["error"] == "UnknownField"


@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/state-machines/nope"),
    ("POST", "/v1/state-machines/nope/executions"),
    ("GET", "/v1/executions/no-such-execution"),
    ("GET", "/v1/executions/no-such-execution/history"),
    ("POST", "/v1/executions/no-such-execution/stop"),
])
async def test_unknown_machine_or_execution(ready: Api, method: str, path: str) -> None:
    await refused(ready, method, path, 404)


async def test_input_over_256_kib(ready: Api) -> None:
    big = {"blob": "x" * MAX_PAYLOAD_BYTES}
    body = await refused(ready, "POST", START, 413, word="input", json={"input": big})
    assert body["error"] == "PayloadTooLarge"


async def test_task_output_over_256_kib(ready: Api) -> None:
    big = "y" * (MAX_PAYLOAD_BYTES + 1)
    await refused(ready, "POST", "/v1/tasks/success", 413, word="output",
                  json={"taskToken": "t", "output": big})


async def test_body_over_the_limit(ready: Api) -> None:
    data = b'{"input": "' + b"z" * MAX_BODY_BYTES + b'"}'
    await refused(ready, "POST", START, 413, word="large", data=data, **RAW)


async def test_input_just_under_256_kib_is_accepted(ready: Api) -> None:
    fits = {"blob": "x" * (MAX_PAYLOAD_BYTES - 20)}
    status, body = await ready.call("POST", START, json={"input": fits})
    assert status == 201, body


@pytest.mark.parametrize("method, path, kwargs", [
    ("POST", MACHINES, {"json": {"name": LONG_NAME, "definition": HELLO}}),
    ("POST", MACHINES, {"json": {"name": "has space", "definition": HELLO}}),
    ("POST", MACHINES, {"json": {"name": "", "definition": HELLO}}),
    ("POST", START, {"json": {"name": LONG_NAME}}),
    ("POST", START, {"json": {"name": "a/b"}}),
    ("GET", f"/v1/state-machines/{LONG_NAME}", {}),
    ("POST", f"/v1/state-machines/{LONG_NAME}/executions", {"json": {}}),
    ("POST", "/v1/activities", {"json": {"name": LONG_NAME}}),
    ("POST", f"/v1/activities/{LONG_NAME}/poll?timeout=0", {}),
    ("GET", f"/v1/executions?stateMachine={LONG_NAME}", {}),
])
async def test_bad_names(ready: Api, method: str, path: str, kwargs: dict[str, Any]) -> None:
    body = await refused(ready, method, path, 400, **kwargs)
    assert body["error"] == "InvalidName"


@pytest.mark.parametrize("path, payload", [
    ("/v1/tasks/success", {"taskToken": "not-a-token", "output": {}}),
    ("/v1/tasks/failure", {"taskToken": "not-a-token", "error": "E"}),
    ("/v1/tasks/heartbeat", {"taskToken": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
])
async def test_bad_token(ready: Api, path: str, payload: Any) -> None:
    body = await refused(ready, "POST", path, 400, json=payload)
    assert body["error"] in ("InvalidToken", "TaskTimedOut")


async def test_oversized_token_error_and_cause(ready: Api) -> None:
    await refused(ready, "POST", "/v1/tasks/heartbeat", 400, word="'taskToken'",
                  json={"taskToken": "t" * 5000})
    await refused(ready, "POST", "/v1/tasks/failure", 400, word="'error'",
                  json={"taskToken": "t", "error": "e" * 300})


@pytest.mark.parametrize("path, word", [
    ("/v1/executions?limit=abc", "limit"),
    ("/v1/executions?limit=0", "limit"),
    ("/v1/executions?limit=5000", "limit"),
    ("/v1/executions?status=DONE", "status"),
    ("/v1/executions/x/history?limit=-1", "limit"),
    ("/v1/state-machines/hello?version=zero", "version"),
])
async def test_bad_query_parameters(ready: Api, path: str, word: str) -> None:
    await refused(ready, "GET", path, 400, word=word)


async def test_bad_poll_timeout(ready: Api) -> None:
    await refused(ready, "POST", "/v1/activities/a/poll?timeout=61", 400, word="timeout")
    await refused(ready, "POST", "/v1/activities/a/poll?timeout=soon", 400, word="timeout")


async def test_invalid_definition_writes_nothing(ready: Api) -> None:
    body = await refused(ready, "POST", MACHINES, 400, json={
        "name": "hello", "definition": {"StartAt": "Nowhere", "States": {}}})
    assert body["error"] == "InvalidDefinition" and body["diagnostics"]
    _, machine = await ready.call("GET", "/v1/state-machines/hello")
    assert machine["version"] == 1


async def test_unknown_route_and_wrong_method_are_json(ready: Api) -> None:
    body = await refused(ready, "GET", "/v1/nothing-here", 404)
    assert body["error"] == "NotFound"
    body = await refused(ready, "DELETE", "/v1/state-machines", 405)
    assert body["error"] == "MethodNotAllowed"


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(("path", "data", "word"), [
    # a control character in a definition's text: YAML's reader refuses it
    (MACHINES, b'{"name": "x", "definition": "\\u008a"}', "invalid YAML"),
    # an input nested 254-1023 levels: valid JSON that could never be stored
    (START, ('{"input": ' + _nested(300) + "}").encode(), "deeper than 100"),
    (START, ('{"input": ' + _nested(1000) + "}").encode(), "deeper than 100"),
    # a definition value nested ~300 levels
    (MACHINES, ('{"name": "x", "definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", '
                '"Result": ' + _nested(300) + ', "End": true}}}}').encode(), "deeper than 100"),
    # a definition string holding JSON nested 10,000 levels
    (MACHINES, json.dumps({"name": "x", "definition": _nested(10_000)}).encode(), "deeper than 100"),
    (MACHINES, json.dumps({"name": "x", "definition": _nested(150)}).encode(), "deeper than 100"),
])
async def test_the_shapes_that_were_a_500_are_a_400(ready: Api, path: str, data: bytes,
                                                      word: str) -> None:
    await refused(ready, "POST", path, 400, word=word, data=data, **RAW)


async def test_a_definition_at_the_nesting_limit_is_accepted(ready: Api) -> None:
    result = _nested(90)  # under the limit with the five levels around it
    status, body = await ready.call("POST", MACHINES, json={"name": "deep", "definition": {
        "StartAt": "A", "States": {"A": {"Type": "Pass", "Result": json.loads(result),
                                         "End": True}}}})
    assert status == 201, body


# What the OpenAPI fuzzer (tests/api/test_fuzz.py) found: each request below went against
# the document, which now states what the server does.


@pytest.mark.parametrize("path, payload", [
    (START, {"name": None}),
    (MACHINES, {"name": None, "definition": HELLO}),
    (MACHINES, {"name": "x", "definition": HELLO, "substitutions": None}),
    ("/v1/activities", {"name": None}),
    ("/v1/activities/a/poll?timeout=0", {"workerName": None}),
    ("/v1/executions/x/stop", {"error": None}),
    ("/v1/tasks/failure", {"taskToken": "t", "cause": None}),
])
async def test_null_is_not_a_string(ready: Api, path: str, payload: Any) -> None:
    body = await refused(ready, "POST", path, 400, word="not null", json=payload)
    assert body["error"] == "InvalidType"


@pytest.mark.parametrize("method, path, word", [
    ("GET", "/v1/executions?stateMachine=", "stateMachine"),
    ("GET", "/v1/executions?status=", "status"),
    ("GET", "/v1/executions?limit=", "limit"),
    ("GET", "/v1/executions?cursor=", "cursor"),
    ("GET", "/v1/executions/x/history?cursor=", "cursor"),
    ("GET", "/v1/dead-letters?limit=", "limit"),
    ("GET", "/v1/state-machines/hello?version=", "version"),
    ("POST", "/v1/activities/a/poll?timeout=", "timeout"),
])
async def test_an_empty_query_parameter_is_refused(ready: Api, method: str, path: str,
                                                   word: str) -> None:
    body = await refused(ready, method, path, 400, word=f"'{word}' is empty")
    assert body["error"] == "InvalidValue"


async def test_versions_are_accepted_up_to_the_documented_maximum(ready: Api) -> None:
    assert parameter_allows("getStateMachine", "version", MAX_VERSION)
    status, body = await ready.call("GET", f"/v1/state-machines/hello?version={MAX_VERSION}")
    assert status == 404 and body["error"] == "StateMachineDoesNotExist", body
    assert not parameter_allows("getStateMachine", "version", MAX_VERSION + 1)
    await refused(ready, "GET", f"/v1/state-machines/hello?version={MAX_VERSION + 1}", 400,
                  word="version")


@pytest.mark.parametrize("operation_id, path, name, value", [
    ("listExecutions", "/v1/executions", "cursor", "A"),
    ("listExecutions", "/v1/executions", "cursor", "\u00b2|x"),  # a digit to isdigit(): was a 500
    ("getExecutionHistory", "/v1/executions/{id}/history", "cursor", "\u00b2"),  # was a 500
    ("getExecutionHistory", "/v1/executions/{id}/history", "cursor", "9" * 30),
    ("listDeadLetters", "/v1/dead-letters", "cursor", "java.lang.Boolean"),
])
async def test_a_malformed_cursor_is_refused_as_documented(ready: Api, operation_id: str,
                                                           path: str, name: str,
                                                           value: str) -> None:
    assert not parameter_allows(operation_id, name, value)
    started = await ready.start("hello")
    path = path.format(id=started["executionId"])
    body = await refused(ready, "GET", path, 400, params={name: value})
    assert body["error"] == "InvalidCursor"


@pytest.mark.parametrize("cursor", ["0-0-0", "999-1-0"])
async def test_any_dead_letter_cursor_of_the_documented_form_is_accepted(ready: Api,
                                                                       cursor: str) -> None:
    # 0-0-0 was a 500 (Redis refuses the range "(0-0"); a shard past the last was a 400
    assert parameter_allows("listDeadLetters", "cursor", cursor)
    status, body = await ready.call("GET", "/v1/dead-letters", params={"cursor": cursor})
    assert status == 200 and body == {"deadLetters": [], "nextCursor": None}, body


@pytest.mark.parametrize("operation_id, path, name, value", [
    ("getStateMachine", "/v1/state-machines/{}", "name", "a\u0092"),
    ("startExecution", "/v1/state-machines/{}/executions", "name", "a\rb"),
    ("pollActivity", "/v1/activities/{}/poll?timeout=0", "name", "a b"),
    ("requeueDeadLetter", "/v1/dead-letters/{}/requeue", "id", "0"),
])
async def test_a_bad_path_parameter_is_refused_as_documented(ready: Api, operation_id: str,
                                                             path: str, name: str,
                                                             value: str) -> None:
    assert not parameter_allows(operation_id, name, value)
    method = "GET" if operation_id == "getStateMachine" else "POST"
    await refused(ready, method, path.format(quote(value, safe="")), 400)


async def test_an_invalid_definition_answer_is_the_documented_400(ready: Api) -> None:
    body = await refused(ready, "POST", MACHINES, 400, json={"name": "x", "definition": ""})
    assert body["error"] == "InvalidDefinition"
    response_conforms("createStateMachine", 400, body)  # was valid under both of a oneOf
