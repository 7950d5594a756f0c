"""The HTTP invokers (plain URLs, http:invoke) and the registry, against a real aiohttp server."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers import Invokers, InvokerSettings, kind, traceparent
from statemachine.runtime.invokers.http import url_encode

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")


class Service:
    """A small HTTP service that records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def record(self, request: web.Request) -> dict[str, Any]:
        body = await request.read()
        query = {k: request.query.getall(k) for k in request.query}
        entry = {"method": request.method, "path": request.path, "query": query,
                 "headers": dict(request.headers), "body": body.decode()}
        self.requests.append(entry)
        return entry

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/echo", self.echo)
        app.router.add_post("/status/{code}", self.status)
        app.router.add_post("/text", self.text)
        app.router.add_post("/empty", self.empty)
        app.router.add_post("/slow", self.slow)
        app.router.add_post("/hook", self.hook)
        app.router.add_post("/big", self.big)
        app.router.add_post("/cookie", self.cookie)
        return app

    async def cookie(self, request: web.Request) -> web.Response:
        await self.record(request)
        response = web.json_response({})
        response.set_cookie("session", "from-one-execution")
        return response

    async def echo(self, request: web.Request) -> web.Response:
        entry = await self.record(request)
        parsed = json.loads(entry["body"]) if entry["body"] else None
        return web.json_response({"got": parsed, "query": entry["query"]},
                                 headers={"X-Trace": "a"})

    async def status(self, request: web.Request) -> web.Response:
        await self.record(request)
        code = int(request.match_info["code"])
        return web.Response(status=code, text=request.query.get("body", "went wrong"))

    async def text(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(text="plain words")

    async def empty(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(status=200)

    async def slow(self, request: web.Request) -> web.Response:
        await self.record(request)
        await asyncio.sleep(5)
        return web.json_response({})

    async def big(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(status=500, text="x" * 40000)

    async def hook(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(status=202)


@pytest.fixture
async def service(start_app) -> tuple[Service, str]:
    svc = Service()
    return svc, await start_app(svc.app())


@pytest.fixture
async def invokers() -> AsyncIterator[Invokers]:
    settings = InvokerSettings(callback_url="http://127.0.0.1:8080/v1/tasks", http_timeout_s=10)
    async with Invokers(settings) as inv:
        yield inv


def command(resource: str, input_: Any, **extra: Any) -> InvokeTask:
    fields: dict[str, Any] = {
        "token": "tok-1", "resource": resource, "input": input_, "state": "Charge", "entered": 2,
        "idempotency_key": "exec-1:2", "attempt": 0, "timeout_s": None, "heartbeat_s": None,
        "credentials": None, "execution": "e1", **extra}
    return InvokeTask(**fields)


async def test_url_posts_input_and_returns_the_json_answer(service, invokers) -> None:
    svc, base = service
    result = await invokers.invoke(command(f"{base}/echo", {"amount": 12, "ok": True}))
    assert result == {"type": "TaskSucceeded", "token": "tok-1",
                      "output": {"got": {"amount": 12, "ok": True}, "query": {}}}
    sent = svc.requests[0]
    assert sent["method"] == "POST"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["headers"]["Idempotency-Key"] == "exec-1:2"
    assert TRACEPARENT.match(sent["headers"]["traceparent"])
    assert "X-Task-Token" not in sent["headers"]


async def test_a_cookie_one_task_received_is_not_sent_by_the_next(service, invokers) -> None:
    """One session serves every execution's tasks: it keeps no cookies between requests."""
    svc, base = service
    base = base.replace("127.0.0.1", "localhost")  # cookie jars keep no cookies of IP hosts
    await invokers.invoke(command(f"{base}/cookie", {}))
    await invokers.invoke(command(f"{base}/echo", {}, token="tok-2", idempotency_key="exec-2:2"))
    assert [r["path"] for r in svc.requests] == ["/cookie", "/echo"]
    assert "Cookie" not in svc.requests[1]["headers"]


async def test_idempotency_key_and_trace_stable_across_attempts(service, invokers) -> None:
    svc, base = service
    for attempt in (0, 1, 1):
        await invokers.invoke(command(f"{base}/echo", {}, attempt=attempt))
    keys = {r["headers"]["Idempotency-Key"] for r in svc.requests}
    traces = [TRACEPARENT.match(r["headers"]["traceparent"]) for r in svc.requests]
    assert keys == {"exec-1:2"}
    assert len({t.group(1) for t in traces}) == 1, "one trace for every attempt of an entry"
    assert traces[0].group(2) != traces[1].group(2), "a new span per attempt"
    assert traces[1].group(0) == traces[2].group(0), "the same attempt gives the same header"


def test_traceparent_uses_a_configured_parent_trace() -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    header = traceparent(command("http://x", {}, idempotency_key="k", attempt=3), parent)
    match = TRACEPARENT.match(header)
    assert match and match.group(1) == "0af7651916cd43dd8448eb211c80319c"
    assert match.group(2) != "b7ad6b7169203331"


async def test_url_empty_and_text_bodies(service, invokers) -> None:
    _, base = service
    empty = await invokers.invoke(command(f"{base}/empty", {}))
    text = await invokers.invoke(command(f"{base}/text", {}))
    assert empty is not None and empty["output"] is None
    assert text is not None and text["output"] == "plain words"


async def test_url_non_2xx_is_a_status_code_error_with_the_body(service, invokers) -> None:
    _, base = service
    result = await invokers.invoke(command(f"{base}/status/503?body=busy", {}))
    assert result == {"type": "TaskFailed", "token": "tok-1",
                      "error": "States.Http.StatusCode.503", "cause": "busy"}


async def test_url_long_error_body_is_truncated(service, invokers) -> None:
    _, base = service
    result = await invokers.invoke(command(f"{base}/big", {}))
    assert result is not None and result["error"] == "States.Http.StatusCode.500"
    assert len(result["cause"]) == 32768 and result["cause"].endswith("40000 characters in all]")


async def test_state_timeout_gives_states_timeout_with_empty_cause(service, invokers) -> None:
    _, base = service
    result = await invokers.invoke(command(f"{base}/slow", {}, timeout_s=0.2))
    assert result == {"type": "TaskFailed", "token": "tok-1", "error": "States.Timeout",
                      "cause": ""}


async def test_default_timeout_names_the_request(service) -> None:
    _, base = service
    async with Invokers(InvokerSettings(http_timeout_s=0.2)) as inv:
        result = await inv.invoke(command(f"{base}/slow", {}))
    assert result is not None and result["error"] == "States.Timeout"
    assert result["cause"] == f"POST {base}/slow did not answer within 0.2 s"


async def test_connection_refused_is_a_socket_error(invokers, closed_port_url) -> None:
    result = await invokers.invoke(command(f"{closed_port_url}/x", {}))
    assert result is not None and result["error"] == "States.Http.Socket"
    assert result["cause"].startswith(f"POST {closed_port_url}/x failed: ")


async def test_url_callback_sends_token_and_waits(service, invokers) -> None:
    svc, base = service
    result = await invokers.invoke(command(f"{base}/hook.waitForTaskToken", {"order": 7}))
    assert result is None
    sent = svc.requests[0]
    assert sent["path"] == "/hook"
    assert json.loads(sent["body"]) == {"order": 7}
    assert sent["headers"]["X-Task-Token"] == "tok-1"
    assert sent["headers"]["X-Callback-Url"] == "http://127.0.0.1:8080/v1/tasks"
    assert sent["headers"]["Idempotency-Key"] == "exec-1:2"


async def test_url_callback_refused_fails_the_task(service, invokers) -> None:
    _, base = service
    result = await invokers.invoke(command(f"{base}/status/409.waitForTaskToken", {}))
    assert result is not None and result["error"] == "States.Http.StatusCode.409"


async def test_http_invoke_get_with_query_and_headers(service, invokers) -> None:
    svc, base = service
    params = {"ApiEndpoint": f"{base}/echo", "Method": "GET",
              "QueryParameters": {"page": "2", "tag": ["a", "b"]},
              "Headers": {"Authorization": "Bearer s3cret", "Idempotency-Key": "mine"}}
    result = await invokers.invoke(command("arn:aws:states:::http:invoke", params))
    assert result is not None and result["type"] == "TaskSucceeded"
    output = result["output"]
    assert list(output) == ["Headers", "ResponseBody", "StatusCode", "StatusText"]
    assert output["StatusCode"] == 200 and output["StatusText"] == "OK"
    assert output["ResponseBody"] == {"got": None, "query": {"page": ["2"], "tag": ["a", "b"]}}
    assert output["Headers"]["x-trace"] == ["a"]
    assert output["Headers"]["content-type"] == ["application/json; charset=utf-8"]
    sent = svc.requests[0]
    assert sent["method"] == "GET" and sent["body"] == ""
    assert sent["headers"]["Authorization"] == "Bearer s3cret"
    assert sent["headers"]["Idempotency-Key"] == "mine", "the definition's header wins"
    assert TRACEPARENT.match(sent["headers"]["traceparent"])


async def test_http_invoke_posts_json_body(service, invokers) -> None:
    svc, base = service
    params = {"ApiEndpoint": f"{base}/echo", "Method": "POST", "RequestBody": {"n": [1, 2]}}
    result = await invokers.invoke(command("arn:aws:states:::http:invoke", params))
    assert result is not None and result["output"]["ResponseBody"]["got"] == {"n": [1, 2]}
    assert svc.requests[0]["headers"]["Content-Type"] == "application/json"


async def test_http_invoke_url_encoded_body(service, invokers) -> None:
    svc, base = service
    params = {"ApiEndpoint": f"{base}/hook", "Method": "POST",
              "RequestBody": {"name": "A B", "items": ["x", "y"], "card": {"cvc": 123}},
              "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                            "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}}}
    result = await invokers.invoke(command("arn:aws:states:::http:invoke", params))
    assert result is not None and result["output"]["StatusCode"] == 202
    assert result["output"]["ResponseBody"] == ""
    sent = svc.requests[0]
    assert sent["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent["body"] == "name=A%20B&items[]=x&items[]=y&card[cvc]=123"


@pytest.mark.parametrize(("style", "expected"), [
    ("INDICES", "a[0]=x&a[1]=y"),
    ("REPEAT", "a=x&a=y"),
    ("COMMAS", "a=x%2Cy"),
    ("BRACKETS", "a[]=x&a[]=y"),
])
def test_url_encoding_array_formats(style: str, expected: str) -> None:
    assert url_encode({"a": ["x", "y"]}, style) == expected


async def test_http_invoke_non_2xx_cause_is_the_response_document(service, invokers) -> None:
    _, base = service
    params = {"ApiEndpoint": f"{base}/status/404", "Method": "POST", "RequestBody": {}}
    result = await invokers.invoke(command("arn:aws:states:::http:invoke", params))
    assert result is not None and result["error"] == "States.Http.StatusCode.404"
    cause = json.loads(result["cause"])
    assert cause["StatusCode"] == 404 and cause["StatusText"] == "Not Found"
    assert cause["ResponseBody"] == "went wrong"


async def test_http_invoke_without_endpoint_is_a_runtime_error(invokers) -> None:
    result = await invokers.invoke(command("arn:aws:states:::http:invoke", {"Method": "GET"}))
    assert result is not None and result["error"] == "States.Runtime"
    assert "ApiEndpoint" in result["cause"]


async def test_http_invoke_callback(service, invokers) -> None:
    svc, base = service
    params = {"ApiEndpoint": f"{base}/hook", "Method": "POST",
              "RequestBody": {"token": "tok-1"}}
    result = await invokers.invoke(command("arn:aws:states:::http:invoke.waitForTaskToken", params))
    assert result is None
    assert svc.requests[0]["headers"]["X-Task-Token"] == "tok-1"


async def test_unsupported_resource_fails_naming_it(invokers) -> None:
    resource = "arn:aws:states:::glue:startJobRun.sync"
    result = await invokers.invoke(command(resource, {}))
    assert result is not None and result["type"] == "TaskFailed"
    assert result["error"] == "States.Runtime"
    assert f"'{resource}' is not supported" in result["cause"]


async def test_activity_is_left_to_pollers(invokers) -> None:
    resource = "arn:aws:states:us-east-1:123456789012:activity:approve"
    assert await invokers.invoke(command(resource, {})) is None


@pytest.mark.parametrize(("resource", "expected"), [
    ("https://api.example.com/pay", "request"),
    ("http://svc/approve.waitForTaskToken", "callback"),
    ("arn:aws:states:::http:invoke", "request"),
    ("arn:aws:states:::http:invoke.waitForTaskToken", "callback"),
    ("arn:aws:states:::sqs:sendMessage", "request"),
    ("arn:aws:states:::sqs:sendMessage.waitForTaskToken", "callback"),
    ("arn:aws:states:::lambda:invoke", "request"),
    ("arn:aws:states:::lambda:invoke.waitForTaskToken", "callback"),
    ("arn:aws:lambda:us-east-1:111111111111:function:f", "request"),
    ("arn:aws:lambda:us-east-1:111111111111:function:f:prod", "request"),
    ("arn:aws:states:eu-west-1:123456789012:activity:approve", "activity"),
    ("arn:aws:states:::states:startExecution.sync", "callback"),
    ("arn:aws:states:::states:startExecution.sync:3", None),
    ("arn:aws:states:::dynamodb:putItem", "request"),
    ("arn:aws:states:::sns:publish.waitForTaskToken", "callback"),
    ("arn:aws:states:::aws-sdk:s3:getObject", "request"),
    ("arn:aws:states:::aws-sdk:sfn:sendTaskSuccess.waitForTaskToken", "callback"),
    ("arn:aws:states:::glue:startJobRun.sync", None),
    ("arn:aws:states:::aws-sdk:s3:getObject.sync", None),
    ("ftp://example.com", None),
])
def test_kind(resource: str, expected: str | None) -> None:
    assert kind(resource) == expected
