"""``/v1/connections`` and HTTP tasks that name a connection, over a real Service, Worker and
Redis: the task's service gets the credential; no response, history or Redis value holds it."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web

from tests.api.client import Api

SECRET = "k3y-Of-The-Tenant-7781"
PASSWORD = "pa55-Word-Of-Ada-0042"
API_KEY = {"name": "tenant", "authorizationType": "API_KEY",
           "authParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key",
                                                       "ApiKeyValue": SECRET}}}


pytestmark = pytest.mark.usefixtures("own_data_dir")  # before the api fixture starts


def header_echo() -> tuple[list[dict[str, str]], web.Application]:
    """A service that records the headers it gets (in the list) and echoes them back."""
    seen: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"headers": dict(request.headers)})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return seen, app


@pytest.fixture
async def echo(serve_app) -> AsyncIterator[tuple[list[dict[str, str]], str]]:
    seen, app = header_echo()
    async with serve_app(app) as base:
        yield seen, base


def _machine(base: str, arn: str) -> dict[str, Any]:
    return {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {"ApiEndpoint": f"{base}/orders", "Method": "POST",
                       "Authentication": {"ConnectionArn": arn},
                       "RequestBody": {"order.$": "$.order"}},
        "End": True}}}


async def test_create_describe_list_delete(api: Api) -> None:
    status, made = await api.call("POST", "/v1/connections", json={**API_KEY,
                                                                    "description": "crm"})
    assert status == 201, made
    assert made["name"] == "tenant" and made["authorizationType"] == "API_KEY"
    assert made["connectionArn"].startswith(
        "arn:aws:events:us-east-1:123456789012:connection/tenant/")
    assert made["connectionState"] == "AUTHORIZED" and made["description"] == "crm"
    assert made["authParameters"] == {"ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key"}}
    assert (await api.call("GET", "/v1/connections/tenant")) == (200, made)
    status, listed = await api.call("GET", "/v1/connections")
    assert status == 200 and [c["connectionArn"] for c in listed["connections"]] == \
        [made["connectionArn"]]
    status, again = await api.call("POST", "/v1/connections", json=API_KEY)
    assert (status, again["error"]) == (409, "ResourceAlreadyExists")
    status, deleted = await api.call("DELETE", "/v1/connections/tenant")
    assert status == 200 and deleted["connectionState"] == "DELETING"
    for method in ("GET", "DELETE"):
        status, missing = await api.call(method, "/v1/connections/tenant")
        assert (status, missing["error"]) == (404, "ResourceNotFound")
    assert (await api.call("GET", "/v1/connections")) == (200, {"connections": []})


@pytest.mark.parametrize(("body", "says"), [
    ({"authorizationType": "API_KEY", "authParameters": {}}, "field 'name' is required"),
    ({**API_KEY, "name": 7}, "field 'name' must be a string"),
    ({**API_KEY, "name": "a b"}, "connection name 'a b' must be 1 to 64"),
    ({**API_KEY, "authParameters": "x"}, "field 'authParameters' must be an object"),
    ({**API_KEY, "authorizationType": "OAUTH"}, "authorizationType must be one of"),
    ({**API_KEY, "authorizationType": "BASIC"},
     "authParameters.BasicAuthParameters is required"),
    ({**API_KEY, "secret": 1}, "unknown field(s) 'secret'"),
    ({**API_KEY, "description": ["x"]}, "field 'description' must be a string"),
    ({**API_KEY, "authParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "X",
                                                             "ApiKeyValue": 5}}},
     "ApiKeyValue is required (a string)"),
])
async def test_bad_requests_are_400s_that_say_why(api: Api, body: dict[str, Any],
                                                  says: str) -> None:
    status, answer = await api.call("POST", "/v1/connections", json=body)
    assert status == 400, answer
    assert says in answer["message"]
    assert SECRET not in json.dumps(answer)
    assert (await api.call("GET", "/v1/connections")) == (200, {"connections": []})


async def _everything_in(redis_url: str) -> bytes:
    """Every key and value Redis holds, as one blob."""
    client = aioredis.Redis.from_url(redis_url)
    parts: list[bytes] = []
    try:
        for key in await client.keys("*"):
            parts.append(key)
            match (await client.type(key)).decode():
                case "string":
                    parts.append(await client.get(key))
                case "hash":
                    parts += [b"%s=%s" % kv for kv in (await client.hgetall(key)).items()]
                case "list":
                    parts += await client.lrange(key, 0, -1)
                case "zset":
                    parts += await client.zrange(key, 0, -1)
                case "set":
                    parts += list(await client.smembers(key))
                case "stream":
                    parts += [repr(entry).encode() for entry in await client.xrange(key)]
    finally:
        await client.aclose()
    return b"\n".join(parts)


async def test_the_task_gets_the_secret_and_nothing_else_shows_it(
        api: Api, echo: tuple[list[dict[str, str]], str], tmp_path: Path) -> None:
    seen, base = echo
    basic = {"name": "ada", "authorizationType": "BASIC",
             "authParameters": {"BasicAuthParameters": {"Username": "ada",
                                                        "Password": PASSWORD}}}
    arns = []
    for body in (API_KEY, basic):
        status, made = await api.call("POST", "/v1/connections", json=body)
        assert status == 201
        arns.append(made["connectionArn"])
    ids = []
    for n, arn in enumerate(arns):
        await api.define(f"orders{n}", _machine(base, arn))
        ids.append((await api.start(f"orders{n}", {"order": n}))["executionId"])
    for execution_id in ids:
        assert (await api.finished(execution_id))["status"] == "SUCCEEDED"
    assert seen[0]["X-Api-Key"] == SECRET
    assert seen[1]["Authorization"].startswith("Basic ")

    shown = []
    for execution_id in ids:
        shown.append(await api.call("GET", f"/v1/executions/{execution_id}"))
        shown.append(await api.call("GET", f"/v1/executions/{execution_id}/history"))
    shown.append(await api.call("GET", "/v1/executions"))
    shown.append(await api.call("GET", "/v1/connections"))
    for name in ("tenant", "ada"):
        shown.append(await api.call("GET", f"/v1/connections/{name}"))
    text = json.dumps(shown)
    basic_token = seen[1]["Authorization"].split()[1]
    for secret in (SECRET, PASSWORD, basic_token):
        assert secret not in text
    history = shown[1][1]["events"]
    scheduled = next(e for e in history if e["type"] == "TaskScheduled")
    assert arns[0] in json.dumps(scheduled)  # the definition names the connection, no more

    stored = await _everything_in(api.redis_url)
    assert b"tenant" in stored  # the connection is there, sealed
    for secret in (SECRET, PASSWORD, basic_token):
        assert secret.encode() not in stored
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_a_deleted_connection_fails_the_task_with_a_catchable_error(
        api: Api, echo: tuple[list[dict[str, str]], str]) -> None:
    seen, base = echo
    status, made = await api.call("POST", "/v1/connections", json=API_KEY)
    assert status == 201
    await api.call("DELETE", "/v1/connections/tenant")
    status, remade = await api.call("POST", "/v1/connections", json=API_KEY)
    assert status == 201 and remade["connectionArn"] != made["connectionArn"]
    machine = _machine(base, made["connectionArn"])  # the old ARN: that connection is gone
    machine["States"]["Call"]["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Gone",
                                           "ResultPath": "$.error"}]
    machine["States"]["Gone"] = {"Type": "Pass", "End": True}
    await api.define("orders", machine)
    execution = await api.finished((await api.start("orders", {"order": 1}))["executionId"])
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["output"]["error"] == {
        "Error": "Events.ResourceNotFoundException",
        "Cause": f"Connection {made['connectionArn']} does not exist."}
    assert seen == []
