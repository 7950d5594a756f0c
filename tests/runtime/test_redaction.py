"""Credentials written inline in an HTTP task reach the service but stay out of history: the
history API (Redis runtime) and ``cli.py run`` (in memory) both mask them, alike."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp import web

from statemachine.language.model import compile_machine
from statemachine.runtime.invokers import Invokers, InvokerSettings
from statemachine.runtime.local import LocalRunner
from statemachine.runtime.redaction import MASK, Redactor
from tests.api.client import keyed_app


def definition(base: str) -> dict[str, Any]:
    return {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {"ApiEndpoint": f"{base}/echo", "Method": "POST",
                       "Headers": {"Authorization": "Bearer s3cret", "cookie": "sid=c00kie",
                                   "X-Tenant-Key": "t3nant", "Accept": "application/json"},
                       "RequestBody": {"a": 1}},
        "ResultSelector": {"status.$": "$.StatusCode"}, "End": True}}}


class Echo:
    def __init__(self) -> None:
        self.headers: list[Any] = []  # case-insensitive, as sent

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/echo", self.echo)
        return app

    async def echo(self, request: web.Request) -> web.Response:
        self.headers.append(request.headers.copy())
        return web.json_response({"ok": True})


def scheduled(events: list[dict[str, Any]]) -> dict[str, Any]:
    event = next(e for e in events if e["type"] == "TaskScheduled")
    return json.loads(event["taskScheduledEventDetails"]["parameters"])  # type: ignore[no-any-return]


def assert_sent_in_full(seen: Any) -> None:
    assert seen["Authorization"] == "Bearer s3cret"
    assert seen["cookie"] == "sid=c00kie"
    assert seen["X-Tenant-Key"] == "t3nant"


async def test_the_history_api_masks_inline_credentials(runtime: Any, serve_app: Any) -> None:
    echo = Echo()
    async with serve_app(echo.app()) as base, runtime(redact_headers=("x-tenant-key",)) as rt:
        await rt.service.define("secret", definition(base))
        started = await rt.service.start("secret", {})
        done = await rt.finished(started["executionId"])
        assert done["status"] == "SUCCEEDED", done
        assert_sent_in_full(echo.headers[0])
        app, auth = await keyed_app(rt.service)
        async with serve_app(app) as api, aiohttp.ClientSession(headers=auth) as http, \
                http.get(f"{api}/v1/executions/{started['executionId']}/history") as response:
            assert response.status == 200
            text = await response.text()
        for secret in ("s3cret", "c00kie", "t3nant"):
            assert secret not in text
        headers = scheduled(json.loads(text)["events"])["Headers"]
        assert headers == {"Authorization": MASK, "cookie": MASK, "X-Tenant-Key": MASK,
                           "Accept": "application/json"}


async def test_both_runtimes_mask_alike(runtime: Any, serve_app: Any) -> None:
    echo = Echo()
    async with serve_app(echo.app()) as base, runtime(redact_headers=("X-Tenant-Key",)) as rt:
        invokers = Invokers(InvokerSettings())
        try:
            local = await LocalRunner(compile_machine(definition(base)), invokers.invoke,
                                      redactor=Redactor(["X-Tenant-Key"])).run({})
        finally:
            await invokers.close()
        await rt.service.define("secret", definition(base))
        started = await rt.service.start("secret", {})
        await rt.finished(started["executionId"])
        durable = await rt.events(started["executionId"])
    assert local.execution["status"] == "SUCCEEDED"
    assert [assert_sent_in_full(seen) for seen in echo.headers] == [None, None]
    assert scheduled(local.history) == scheduled(durable)
    assert "s3cret" not in json.dumps(local.history)


def test_events_without_sensitive_headers_are_left_alone() -> None:
    redactor = Redactor()
    plain = [{"type": "TaskScheduled", "taskScheduledEventDetails": {
        "parameters": json.dumps({"Headers": {"Accept": "text/plain"}})}}]
    assert redactor.history(plain) == plain
    other = [{"type": "PassStateEntered", "stateEnteredEventDetails": {"input": "{}"}}]
    assert redactor.history(other) is other
