"""``arn:aws:states:::apigateway:invoke`` against a real aiohttp app standing in for a deployed
API (``STATEMACHINE_AWS_ENDPOINT_APIGATEWAY`` points the calls at it): the URL from Stage,
Path and QueryParameters, headers, bodies with and without nulls, SigV4 for IAM_ROLE, the
result shape, ``ApiGateway.<status>`` errors, ``.waitForTaskToken`` and the egress policy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from statemachine.runtime.invokers import Invokers, InvokerSettings, kind
from tests.invokers.conftest import StartApp
from tests.invokers.test_aws import command

RESOURCE = "arn:aws:states:::apigateway:invoke"
HOST = "abc123.execute-api.eu-west-1.amazonaws.com"


async def api(start_app: StartApp, seen: list[dict[str, Any]]) -> str:
    """An API that records each request and answers by path."""
    async def handle(request: web.Request) -> web.Response:
        seen.append({"method": request.method, "path": request.path,
                     "query": list(request.query.items()), "headers": dict(request.headers),
                     "body": await request.read()})
        if request.path.endswith("/missing"):
            return web.json_response({"message": "Not Found"}, status=404)
        return web.json_response({"myBills": []}, headers={"X-Answer": "yes"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return await start_app(app)


def invokers_for(url: str, **settings: Any) -> Invokers:
    return Invokers(InvokerSettings.from_env(
        aws_service_endpoints=(("APIGATEWAY", url),), aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret", **settings))


def test_apigateway_invoke_is_performable() -> None:
    assert kind(RESOURCE) == "request"
    assert kind(f"{RESOURCE}.waitForTaskToken") == "callback"


async def test_a_call_is_sent_as_aws_documents_it_and_answers_in_its_shape(
        start_app: StartApp) -> None:
    seen: list[dict[str, Any]] = []
    url = await api(start_app, seen)
    async with invokers_for(url) as invokers:
        result = await invokers.invoke(command(RESOURCE, {
            "ApiEndpoint": HOST, "Method": "POST", "Stage": "prod", "Path": "bills/add",
            "Headers": {"X-Team": ["a", "b"]}, "QueryParameters": {"billId": ["1", "2"]},
            "RequestBody": {"billId": "my-new-bill", "note": None}}))
    assert result is not None and result["type"] == "TaskSucceeded", result
    output = result["output"]
    assert output["ResponseBody"] == {"myBills": []}
    assert output["StatusCode"] == 200 and output["StatusText"] == "OK"
    assert output["Headers"]["x-answer"] == ["yes"]
    [request] = seen
    assert request["method"] == "POST" and request["path"] == "/prod/bills/add"
    assert request["query"] == [("billId", "1"), ("billId", "2")]
    assert request["headers"]["X-Team"] == "a,b"
    assert json.loads(request["body"]) == {"billId": "my-new-bill"}  # nulls left out
    assert "Authorization" not in request["headers"]  # NO_AUTH is the default


async def test_allow_null_values_keeps_them(start_app: StartApp) -> None:
    seen: list[dict[str, Any]] = []
    url = await api(start_app, seen)
    async with invokers_for(url) as invokers:
        await invokers.invoke(command(RESOURCE, {
            "ApiEndpoint": HOST, "Method": "PUT", "RequestBody": {"a": None},
            "AllowNullValues": True}))
    assert json.loads(seen[0]["body"]) == {"a": None}


async def test_iam_role_signs_with_sigv4_for_execute_api_in_the_endpoints_region(
        start_app: StartApp) -> None:
    seen: list[dict[str, Any]] = []
    url = await api(start_app, seen)
    async with invokers_for(url) as invokers:
        result = await invokers.invoke(command(RESOURCE, {
            "ApiEndpoint": HOST, "Method": "GET", "Stage": "prod", "AuthType": "IAM_ROLE"}))
    assert result is not None and result["type"] == "TaskSucceeded", result
    authorization = seen[0]["headers"]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization
    assert "X-Amz-Date" in seen[0]["headers"]


async def test_a_status_outside_2xx_is_api_gateway_status(start_app: StartApp) -> None:
    url = await api(start_app, [])
    async with invokers_for(url) as invokers:
        result = await invokers.invoke(command(RESOURCE, {
            "ApiEndpoint": HOST, "Method": "GET", "Stage": "prod", "Path": "missing"}))
    assert result == {"type": "TaskFailed", "token": "tok-1", "error": "ApiGateway.404",
                      "cause": '{"message":"Not Found"}'}


async def test_wait_for_task_token_sends_then_waits(start_app: StartApp) -> None:
    seen: list[dict[str, Any]] = []
    url = await api(start_app, seen)
    async with invokers_for(url) as invokers:
        result = await invokers.invoke(command(f"{RESOURCE}.waitForTaskToken", {
            "ApiEndpoint": HOST, "Method": "POST", "Headers": {"TaskToken": ["tok-1"]}}))
    assert result is None
    assert seen[0]["headers"]["TaskToken"] == "tok-1"


@pytest.mark.parametrize(("params", "words"), [
    ({"Method": "GET"}, "ApiEndpoint"),
    ({"ApiEndpoint": HOST, "Method": "FETCH"}, "Method"),
    ({"ApiEndpoint": HOST, "Method": "GET", "Headers": {"Host": ["x"]}}, "'Host' is not permitted"),
    ({"ApiEndpoint": HOST, "Method": "GET", "Headers": {"X-Amz-Date": ["x"]}}, "not permitted"),
    ({"ApiEndpoint": HOST, "Method": "GET", "QueryParameters": {"a": [1]}}, "list of strings"),
    ({"ApiEndpoint": HOST, "Method": "GET", "AuthType": "COGNITO"}, "AuthType"),
])
async def test_bad_parameters_fail_the_task_with_a_reason(
        start_app: StartApp, params: dict[str, Any], words: str) -> None:
    seen: list[dict[str, Any]] = []
    url = await api(start_app, seen)
    async with invokers_for(url) as invokers:
        result = await invokers.invoke(command(RESOURCE, params))
    assert result is not None and result["error"] == "States.Runtime"
    assert words in result["cause"]
    assert seen == []


async def test_the_egress_policy_applies(start_app: StartApp) -> None:
    url = await api(start_app, [])
    async with invokers_for(url, egress_deny=("127.0.0.0/8",)) as invokers:
        result = await invokers.invoke(command(RESOURCE, {"ApiEndpoint": HOST, "Method": "GET"}))
    assert result is not None and result["error"] == "States.Permissions", result


async def test_the_destination_cap_counts_the_api_host() -> None:
    call = command(RESOURCE, {"ApiEndpoint": HOST, "Method": "GET"})
    async with Invokers(InvokerSettings()) as plain:
        assert plain.destination(call) == f"{HOST}:443"
    async with invokers_for("http://127.0.0.1:9") as local:
        assert local.destination(call) == "127.0.0.1:9"
