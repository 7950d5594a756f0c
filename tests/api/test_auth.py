"""API keys and roles, the dashboard's session, and the audit trail, through the real app."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from statemachine.api import create_app
from statemachine.api.auth import COOKIE, AuthConfig
from statemachine.api.routes import ROUTES
from statemachine.cli.access import bootstrap_admin
from statemachine.keyring import Keyring
from statemachine.runtime.store import keys as K
from statemachine.security.keys import ADMIN_KEY_ENV, new_key_id, new_secret
from statemachine.security.roles import Role
from statemachine.security.secretbox import SecretBox
from tests.api.client import Api
from tests.api.samples import HELLO

START = "/v1/state-machines/hello/executions"


async def test_a_start_without_a_key_is_401(api_alone: Api) -> None:
    await api_alone.define("hello", HELLO)
    async with api_alone.client.post(START, json={}) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = await response.json()
    assert body["error"] == "Unauthorized" and body["message"]
    for header in ("Bearer nope", "Basic dXNlcjpwYXNz", "Bearer", "bearer " + "x" * 300):
        status, body = await api_alone.call("POST", START, json={},
                                            headers={"Authorization": header})
        assert (status, body["error"]) == (401, "Unauthorized"), header
    listed = await api_alone.call("GET", "/v1/executions")
    assert listed[1]["executions"] == []  # nothing was started


async def test_roles_viewer_reads_operator_runs_admin_defines(api_alone: Api) -> None:
    await api_alone.define("hello", HELLO)
    viewer, operator = await api_alone.key(Role.VIEWER), await api_alone.key(Role.OPERATOR)
    status, body = await api_alone.call("POST", START, json={}, auth=viewer)
    assert (status, body["error"]) == (403, "Forbidden")
    assert "operator" in body["message"]
    assert (await api_alone.call("GET", "/v1/state-machines", auth=viewer))[0] == 200
    assert (await api_alone.call("GET", "/v1/executions", auth=viewer))[0] == 200
    status, body = await api_alone.call("POST", "/v1/state-machines", auth=operator,
                                        json={"name": "mine", "definition": HELLO})
    assert (status, body["error"]) == (403, "Forbidden")
    status, started = await api_alone.call("POST", START, json={}, auth=operator)
    assert status == 201
    stop = f"/v1/executions/{started['executionId']}/stop"
    assert (await api_alone.call("POST", stop, auth=viewer))[0] == 403
    assert (await api_alone.call("POST", stop, auth=operator))[0] == 200
    for path in ("/v1/keys", "/metrics"):
        assert (await api_alone.call("GET", path, auth=False))[0] == 401, path
    assert (await api_alone.call("GET", "/v1/keys", auth=operator))[0] == 403
    assert (await api_alone.call("GET", "/metrics", auth=viewer))[0] == 200


async def test_open_routes_need_no_key_and_task_callbacks_answer_by_token(api_alone: Api) -> None:
    for path in ("/healthz", "/openapi.json", "/ui/", "/ui/app.js"):
        assert (await api_alone.call("GET", path, auth=False))[0] == 200, path
    status, body = await api_alone.call("POST", "/v1/tasks/success", auth=False,
                                        json={"taskToken": "forged", "output": {}})
    assert (status, body["error"]) == (400, "InvalidToken")  # the token decides, not a key


async def test_a_revoked_key_is_refused_at_once(api_alone: Api) -> None:
    status, made = await api_alone.call("POST", "/v1/keys", json={"role": "viewer", "name": "ci"})
    assert status == 201 and made["role"] == "viewer" and made["name"] == "ci"
    assert (await api_alone.call("GET", "/v1/executions", auth=made["secret"]))[0] == 200
    status, listed = await api_alone.call("GET", "/v1/keys")
    assert made["id"] in [k["id"] for k in listed["keys"]]
    assert "secret" not in json.dumps(listed) and made["secret"] not in json.dumps(listed)
    assert (await api_alone.call("DELETE", f"/v1/keys/{made['id']}"))[0] == 200
    status, body = await api_alone.call("GET", "/v1/executions", auth=made["secret"])
    assert (status, body["error"]) == (401, "Unauthorized")
    status, body = await api_alone.call("DELETE", f"/v1/keys/{made['id']}")
    assert (status, body["error"]) == (404, "KeyDoesNotExist")
    for bad in ({"role": "root"}, {}, {"role": "viewer", "name": "x" * 81},
                {"role": "viewer", "secret": "mine"}):
        assert (await api_alone.call("POST", "/v1/keys", json=bad))[0] == 400, bad


async def test_no_secret_is_stored_in_clear(api_alone: Api) -> None:
    _, made = await api_alone.call("POST", "/v1/keys", json={"role": "operator"})
    client = aioredis.Redis.from_url(api_alone.redis_url)
    try:
        stored = await client.hgetall(K.API_KEYS)
        everything = b"".join([*stored.keys(), *stored.values(),
                               *(await client.hgetall(K.API_KEY_DIGESTS)).keys()])
    finally:
        await client.aclose()
    assert made["id"].encode() in everything
    for secret in (made["secret"], api_alone.secret):
        assert secret.encode() not in everything
    record = json.loads(stored[made["id"].encode()])
    assert set(record) == {"id", "name", "role", "created", "sealed", "digest"}
    assert await api_alone.keyring.secret(made["id"]) == made["secret"]  # sealed, not lost


async def test_the_route_table_gives_every_route_a_need() -> None:
    needs = {route.access for route in ROUTES}
    assert Role.ADMIN in needs and Role.OPERATOR in needs and Role.VIEWER in needs
    by_path = {(route.method, route.path): route.access for route in ROUTES}
    assert by_path[("POST", "/v1/state-machines")] is Role.ADMIN
    assert by_path[("POST", "/v1/activities/{name}/poll")] is Role.OPERATOR
    assert by_path[("POST", "/v1/tasks/success")].value == "task-token"


async def test_metrics_public_and_insecure_no_auth(api_alone: Api) -> None:
    await api_alone.define("hello", HELLO)
    public = create_app(api_alone.service,
                        auth=AuthConfig(api_alone.keyring, public=frozenset({"/metrics"})))
    async with TestClient(TestServer(public)) as client:
        assert (await client.get("/metrics")).status == 200
        assert (await client.get("/v1/executions")).status == 401
    insecure = create_app(api_alone.service, auth=AuthConfig(api_alone.keyring, enforce=False))
    async with TestClient(TestServer(insecure)) as client:
        assert (await client.post(START, json={})).status == 201


# -- the dashboard's session -----------------------------------------------------------


async def _login(api: Api, secret: str) -> str:
    async with api.client.post("/v1/session", json={"secret": secret},
                               headers={"Origin": _origin(api)}) as response:
        assert response.status == 200, await response.text()
        cookie = response.cookies[COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        assert (await response.json())["key"]["role"] in ("viewer", "operator", "admin")
        return cookie.value


def _origin(api: Api) -> str:
    return str(api.client.make_url("/")).rstrip("/")


async def _as_session(api: Api, method: str, path: str, token: str,
                      **headers: str) -> tuple[int, Any]:
    return await api.call(method, path, auth=False, json={} if method == "POST" else None,
                          headers={"Cookie": f"{COOKIE}={token}", **headers})


async def test_a_session_cookie_works_from_its_own_origin_only(api_alone: Api) -> None:
    await api_alone.define("hello", HELLO)
    token = await _login(api_alone, await api_alone.key(Role.OPERATOR))
    own = _origin(api_alone)
    assert (await _as_session(api_alone, "POST", START, token, Origin=own,
                              **{"Sec-Fetch-Site": "same-origin"}))[0] == 201
    assert (await _as_session(api_alone, "GET", "/v1/executions", token))[0] == 200
    status, who = await _as_session(api_alone, "GET", "/v1/session", token)
    assert status == 200 and who["via"] == "session" and who["key"]["role"] == "operator"
    for headers in ({"Origin": "http://127.0.0.1:1"}, {"Origin": "null"},
                    {"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": own, "Sec-Fetch-Site": "cross-site"}, {}):
        status, body = await _as_session(api_alone, "POST", START, token, **headers)
        assert (status, body["error"]) == (403, "Forbidden"), headers
    status, _ = await _as_session(api_alone, "GET", "/v1/executions", token,
                                  **{"Sec-Fetch-Site": "same-site"})
    assert status == 403
    # A login from another origin is refused too; so is a wrong secret.
    status, _ = await api_alone.call("POST", "/v1/session", auth=False, json={"secret": "x" * 43},
                                     headers={"Origin": own})
    assert status == 401
    status, _ = await api_alone.call("POST", "/v1/session", auth=False,
                                     json={"secret": api_alone.secret},
                                     headers={"Origin": "http://evil.example"})
    assert status == 403
    # Logging out ends the session at once.
    assert (await _as_session(api_alone, "DELETE", "/v1/session", token, Origin=own))[0] == 200
    assert (await _as_session(api_alone, "GET", "/v1/executions", token))[0] == 401


async def test_a_login_link_works_once(api_alone: Api) -> None:
    key = await api_alone.keyring.verify(api_alone.secret)
    assert key is not None
    token = await api_alone.keyring.login_token(key)
    async with api_alone.client.get(f"/ui/?login={token}", allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/ui/"
        session = response.cookies[COOKIE]
        assert session["httponly"] and session["samesite"] == "Strict"
    assert (await _as_session(api_alone, "GET", "/v1/executions", session.value))[0] == 200
    async with api_alone.client.get(f"/ui/?login={token}", allow_redirects=False) as again:
        assert again.status == 303 and COOKIE not in again.cookies


# -- the audit trail -------------------------------------------------------------------


async def test_every_state_changing_call_is_audited(api_alone: Api,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="statemachine.audit")
    await api_alone.define("hello", HELLO)
    _, started = await api_alone.call("POST", START, json={"name": "audited"})
    await api_alone.call("POST", START, json={}, auth=False)
    await api_alone.call("POST", "/v1/tasks/heartbeat", auth=False, json={"taskToken": "t"})
    await api_alone.call("GET", "/v1/executions")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "statemachine.audit"]
    admin = await api_alone.keyring.verify(api_alone.secret)
    assert admin is not None
    assert lines == [
        {"keyId": admin.id, "method": "POST", "route": "/v1/state-machines", "target": {},
         "status": 201},
        {"keyId": admin.id, "method": "POST", "route": "/v1/state-machines/{name}/executions",
         "target": {"name": "hello"}, "status": 201, "executionId": started["executionId"]},
        {"keyId": "anonymous", "method": "POST",
         "route": "/v1/state-machines/{name}/executions", "target": {"name": "hello"},
         "status": 401},
        {"keyId": "task-token", "method": "POST", "route": "/v1/tasks/heartbeat", "target": {},
         "status": 400},
    ]
    assert started["name"] == "audited"


# -- bootstrapping ---------------------------------------------------------------------


async def test_the_admin_key_comes_from_the_environment_or_the_data_dir(
        api_alone: Api, tmp_path: Any) -> None:
    keyring = Keyring(api_alone.service.store, SecretBox.generate())
    pair = f"{new_key_id()}:{new_secret()}"
    key, line = await bootstrap_admin(keyring, tmp_path, {ADMIN_KEY_ENV: pair})
    assert key.role is Role.ADMIN and key.id in line
    assert (await keyring.verify(pair.partition(":")[2])) == key
    assert not (tmp_path / "admin.key").exists()

    made, _ = await bootstrap_admin(keyring, tmp_path / "data", {})
    path = tmp_path / "data" / "admin.key"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "data").stat().st_mode & 0o777) == "0o700"
    secret = path.read_text().strip().partition(":")[2]
    assert (await keyring.verify(secret)) == made
    await keyring.revoke(made.id)  # as if Redis were new: the file's key is registered again
    again, line = await bootstrap_admin(keyring, tmp_path / "data", {})
    assert again.id == made.id and "again" in line
    assert (await keyring.verify(secret)) == again
    with pytest.raises(ValueError):
        await bootstrap_admin(keyring, tmp_path, {ADMIN_KEY_ENV: "not-a-pair"})
    with pytest.raises(ValueError):
        await bootstrap_admin(keyring, tmp_path, {ADMIN_KEY_ENV: f"{new_key_id()}:short"})


async def test_a_refused_secret_is_not_echoed(api_alone: Api) -> None:
    secret = new_secret()
    status, body = await api_alone.call("GET", "/v1/executions", auth=secret)
    assert status == 401 and secret not in json.dumps(body)
