"""The HTTP task's ``Authentication.ConnectionArn``: credentials added by the invoker, against
real aiohttp servers (the API the task calls, and an OAuth token endpoint)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers import Invokers, InvokerSettings
from statemachine.runtime.invokers.connections import AUTHORIZATION_FAILED, CONNECTION_NOT_FOUND
from statemachine.security.connections import (
    AuthorizationType,
    Connection,
    check_auth_parameters,
    connection_arn,
)

HTTP = "arn:aws:states:::http:invoke"
SECRET = "s3cr3t-value-Zq81"


class Api:
    """An API that records what it receives, echoes it back, and accepts only ``token``."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.accepted_token: str | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = (await request.read()).decode()
        entry = {"headers": dict(request.headers), "query": dict(request.query), "body": body}
        self.seen.append(entry)
        if self.accepted_token is not None and \
                request.headers.get("Authorization") != f"Bearer {self.accepted_token}":
            return web.json_response({"echo": entry}, status=401)
        return web.json_response({"echo": entry})


class TokenEndpoint:
    """An OAuth token endpoint: token-1, token-2... each valid ``expires_in`` seconds."""

    def __init__(self, expires_in: float | None = 3600) -> None:
        self.requests: list[dict[str, Any]] = []
        self.expires_in = expires_in
        self.status = 200

    async def handle(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.requests.append({"headers": dict(request.headers), "form": form,
                              "query": dict(request.query), "method": request.method})
        if self.status != 200:
            return web.json_response({"error": "invalid_client"}, status=self.status)
        answer: dict[str, Any] = {"access_token": f"token-{len(self.requests)}",
                                  "token_type": "Bearer"}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return web.json_response(answer)


def _app(handler: Any) -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@pytest.fixture
async def api(start_app) -> tuple[Api, str]:
    served = Api()
    return served, await start_app(_app(served.handle))


def connection(kind: str, params: dict[str, Any], name: str = "conn") -> Connection:
    auth, checked = check_auth_parameters(kind, params)
    return Connection(name, connection_arn(name, "0b8e5b0e-1c41-4c33-9d53-7d7c0fbd5e11", "us-east-1", "123456789012"),
                      AuthorizationType(auth), checked)


@pytest.fixture
async def registry() -> AsyncIterator[tuple[dict[str, Connection], Invokers]]:
    """Invokers whose connection lookup reads a dict the test fills."""
    known: dict[str, Connection] = {}

    async def lookup(arn: str) -> Connection | None:
        return known.get(arn)

    async with Invokers(InvokerSettings(http_timeout_s=10), lookup) as invokers:
        yield known, invokers


def task(params: dict[str, Any], arn: str | None, n: int = 1) -> InvokeTask:
    if arn is not None:
        params = {**params, "Authentication": {"ConnectionArn": arn}}
    return InvokeTask(token=f"tok-{n}", resource=HTTP, input=params, state="Call", entered=2,
                      idempotency_key=f"e1:{n}", attempt=0, timeout_s=None, heartbeat_s=None,
                      credentials=None, execution="e1")


def _add(known: dict[str, Connection], made: Connection) -> str:
    known[made.arn] = made
    return made.arn


async def test_api_key_header_is_added_and_scrubbed_from_the_result(api, registry) -> None:
    served, base = api
    known, invokers = registry
    arn = _add(known, connection("API_KEY", {"ApiKeyAuthParameters": {
        "ApiKeyName": "X-Api-Key", "ApiKeyValue": SECRET}}))
    result = await invokers.invoke(task({"ApiEndpoint": f"{base}/x", "Method": "GET"}, arn))
    assert served.seen[0]["headers"]["X-Api-Key"] == SECRET
    assert result is not None and result["type"] == "TaskSucceeded"
    # the API echoed the header back: the result holds it masked, never in clear
    assert SECRET not in json.dumps(result)
    assert result["output"]["ResponseBody"]["echo"]["headers"]["X-Api-Key"] == "***"


async def test_basic_auth_replaces_a_header_of_the_task(api, registry) -> None:
    served, base = api
    known, invokers = registry
    arn = _add(known, connection("BASIC", {"BasicAuthParameters": {
        "Username": "ada", "Password": SECRET}}))
    params = {"ApiEndpoint": f"{base}/x", "Method": "POST", "RequestBody": {"a": 1},
              "Headers": {"authorization": "Bearer from-the-definition"}}
    result = await invokers.invoke(task(params, arn))
    sent = served.seen[0]["headers"]
    expected = "Basic " + base64.b64encode(f"ada:{SECRET}".encode()).decode()
    assert sent["Authorization"] == expected
    assert "from-the-definition" not in json.dumps(sent)
    assert result is not None and result["type"] == "TaskSucceeded"
    assert expected.split()[1] not in json.dumps(result)


async def test_invocation_parameters_join_the_request(api, registry) -> None:
    served, base = api
    known, invokers = registry
    arn = _add(known, connection("API_KEY", {
        "ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key", "ApiKeyValue": SECRET},
        "InvocationHttpParameters": {
            "HeaderParameters": [{"Key": "X-Tenant", "Value": "acme"}],
            "QueryStringParameters": [{"Key": "sig", "Value": "q-secret-42",
                                       "IsValueSecret": True}],
            "BodyParameters": [{"Key": "source", "Value": "conn"}]}}))
    params = {"ApiEndpoint": f"{base}/x", "Method": "POST", "RequestBody": {"a": 1},
              "QueryParameters": {"page": "2"}}
    result = await invokers.invoke(task(params, arn))
    seen = served.seen[0]
    assert seen["headers"]["X-Tenant"] == "acme"
    assert seen["query"] == {"page": "2", "sig": "q-secret-42"}
    assert json.loads(seen["body"]) == {"a": 1, "source": "conn"}
    assert "q-secret-42" not in json.dumps(result)


async def test_oauth_token_is_fetched_once_for_several_tasks(start_app, api, registry) -> None:
    served, base = api
    known, invokers = registry
    tokens = TokenEndpoint()
    token_base = await start_app(_app(tokens.handle))
    arn = _add(known, connection("OAUTH_CLIENT_CREDENTIALS", {"OAuthParameters": {
        "AuthorizationEndpoint": f"{token_base}/oauth2/token", "HttpMethod": "POST",
        "ClientParameters": {"ClientID": "client-7", "ClientSecret": SECRET},
        "OAuthHttpParameters": {"BodyParameters": [{"Key": "scope", "Value": "orders"}]}}}))
    results = await asyncio.gather(*(
        invokers.invoke(task({"ApiEndpoint": f"{base}/x", "Method": "GET"}, arn, n))
        for n in range(5)))
    assert all(r is not None and r["type"] == "TaskSucceeded" for r in results)
    assert len(tokens.requests) == 1
    asked = tokens.requests[0]
    assert asked["form"] == {"grant_type": "client_credentials", "scope": "orders"}
    assert asked["headers"]["Authorization"] == \
        "Basic " + base64.b64encode(f"client-7:{SECRET}".encode()).decode()
    assert {s["headers"]["Authorization"] for s in served.seen} == {"Bearer token-1"}
    assert all("token-1" not in json.dumps(r) for r in results)


async def test_oauth_token_is_fetched_again_once_expired(start_app, api, registry) -> None:
    served, base = api
    known, invokers = registry
    tokens = TokenEndpoint(expires_in=1)
    token_base = await start_app(_app(tokens.handle))
    arn = _add(known, connection("OAUTH_CLIENT_CREDENTIALS", {"OAuthParameters": {
        "AuthorizationEndpoint": f"{token_base}/token", "HttpMethod": "POST",
        "ClientParameters": {"ClientID": "c", "ClientSecret": SECRET}}}))
    call = {"ApiEndpoint": f"{base}/x", "Method": "GET"}
    await invokers.invoke(task(call, arn, 1))
    await asyncio.sleep(1.2)  # past expires_in: the cached token is no longer used
    await invokers.invoke(task(call, arn, 2))
    assert len(tokens.requests) == 2
    assert [s["headers"]["Authorization"] for s in served.seen] == \
        ["Bearer token-1", "Bearer token-2"]


async def test_a_401_renews_the_token_and_sends_again(start_app, api, registry) -> None:
    served, base = api
    known, invokers = registry
    tokens = TokenEndpoint()
    token_base = await start_app(_app(tokens.handle))
    arn = _add(known, connection("OAUTH_CLIENT_CREDENTIALS", {"OAuthParameters": {
        "AuthorizationEndpoint": f"{token_base}/token", "HttpMethod": "GET",
        "ClientParameters": {"ClientID": "c", "ClientSecret": SECRET}}}))
    served.accepted_token = "token-2"  # the API revoked the first token
    result = await invokers.invoke(task({"ApiEndpoint": f"{base}/x", "Method": "GET"}, arn))
    assert result is not None and result["type"] == "TaskSucceeded", result
    assert len(tokens.requests) == 2 and tokens.requests[0]["method"] == "GET"
    assert tokens.requests[0]["query"] == {"grant_type": "client_credentials"}
    assert [s["headers"]["Authorization"] for s in served.seen] == \
        ["Bearer token-1", "Bearer token-2"]


async def test_a_failed_token_fetch_fails_the_task_cleanly(start_app, api, registry) -> None:
    served, base = api
    known, invokers = registry
    tokens = TokenEndpoint()
    tokens.status = 401
    token_base = await start_app(_app(tokens.handle))
    arn = _add(known, connection("OAUTH_CLIENT_CREDENTIALS", {"OAuthParameters": {
        "AuthorizationEndpoint": f"{token_base}/token", "HttpMethod": "POST",
        "ClientParameters": {"ClientID": "c", "ClientSecret": SECRET}}}))
    result = await invokers.invoke(task({"ApiEndpoint": f"{base}/x", "Method": "GET"}, arn))
    assert result is not None and result["error"] == AUTHORIZATION_FAILED
    assert "HTTP 401" in result["cause"] and "invalid_client" in result["cause"]
    assert SECRET not in result["cause"] and served.seen == []


async def test_an_unreachable_token_endpoint_fails_the_task(closed_port_url, api, registry) -> None:
    _, base = api
    known, invokers = registry
    arn = _add(known, connection("OAUTH_CLIENT_CREDENTIALS", {"OAuthParameters": {
        "AuthorizationEndpoint": f"{closed_port_url}/token", "HttpMethod": "POST",
        "ClientParameters": {"ClientID": "c", "ClientSecret": SECRET}}}))
    result = await invokers.invoke(task({"ApiEndpoint": f"{base}/x", "Method": "GET"}, arn))
    assert result is not None and result["error"] == AUTHORIZATION_FAILED
    assert "Could not obtain an OAuth token" in result["cause"]


async def test_unknown_connection_and_malformed_authentication(api, registry) -> None:
    served, base = api
    _, invokers = registry
    call = {"ApiEndpoint": f"{base}/x", "Method": "GET"}
    missing = connection_arn("gone", "1f0b4f43-2a6d-4b8e-8a55-0c0d0e0f1a2b", "us-east-1", "123456789012")
    result = await invokers.invoke(task(call, missing))
    assert result == {"type": "TaskFailed", "token": "tok-1", "error": CONNECTION_NOT_FOUND,
                      "cause": f"Connection {missing} does not exist."}
    bad = await invokers.invoke(task({**call, "Authentication": {"Arn": "x"}}, None))
    assert bad is not None and bad["error"] == "States.Runtime"
    assert "ConnectionArn" in bad["cause"]
    assert served.seen == []


async def test_without_a_lookup_a_connection_task_fails_clearly(api) -> None:
    _, base = api
    async with Invokers(InvokerSettings()) as invokers:
        result = await invokers.invoke(task(
            {"ApiEndpoint": f"{base}/x", "Method": "GET"}, connection_arn("a", "b-1", "us-east-1", "123456789012")))
    assert result is not None and result["error"] == "States.Runtime"
    assert "cli.py serve" in result["cause"]
