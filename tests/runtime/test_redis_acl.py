"""An external Redis with ACL users (``redis://user:password@host:port/db``): the service
runs with the least rights the README's Security section gives (:data:`SERVICE_ACL`), the
default user disabled; wrong credentials and missing rights are refused at once, clearly.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp import web

from statemachine.runtime.settings import Settings
from statemachine.runtime.store import RedisStore, Refused
from statemachine.runtime.store.resp import RespConnection
from tests.conftest import free_port
from tests.runtime.redis_servers import Server

ROOT = Path(__file__).resolve().parents[2]
SERVICE_ACL = ["~sm:*", "&sm:*", "+@read", "+@write", "+@scripting", "+@pubsub",
               "+@transaction", "+@connection", "-@dangerous"]
"""The rights the service needs (keep in step with the README's Security section)."""
ADMIN = ("admin", "admin-secret")
SERVICE = ("statemachine", "service-secret")


@pytest.fixture(scope="module")
def acl_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    admin_url = f"redis://{ADMIN[0]}:{ADMIN[1]}@127.0.0.1:{port}/0"
    server = Server(tmp_path_factory.mktemp("redis-acl"), [
        "--port", str(port), "--user", ADMIN[0], "on", f">{ADMIN[1]}", "~*", "&*", "+@all"],
        admin_url)
    with redis.Redis.from_url(admin_url) as admin:
        admin.acl_setuser(SERVICE[0], enabled=True, passwords=[f"+{SERVICE[1]}"],
                          reset=True)
        admin.execute_command("ACL", "SETUSER", SERVICE[0], *SERVICE_ACL)
        admin.execute_command("ACL", "SETUSER", "limited", "on", ">limited-secret", "~sm:*",
                              "&sm:*", "+@read", "+@write", "+@connection")  # no scripts
        admin.execute_command("ACL", "SETUSER", "default", "off")
    yield port
    server.stop()


@pytest.fixture
def redis_url(acl_port: int) -> str:
    """The service user's URL (what the ``runtime`` and ``settings`` fixtures use here)."""
    with redis.Redis.from_url(f"redis://{ADMIN[0]}:{ADMIN[1]}@127.0.0.1:{acl_port}/0") as admin:
        admin.flushall()
    return f"redis://{SERVICE[0]}:{SERVICE[1]}@127.0.0.1:{acl_port}/0"


def test_the_default_user_is_disabled(acl_port: int) -> None:
    with redis.Redis(port=acl_port) as anonymous, pytest.raises(redis.AuthenticationError):
        anonymous.ping()


async def test_an_execution_runs_as_the_acl_user_through_a_worker(
        runtime: Any, serve_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    async def hook(request: web.Request) -> web.Response:
        return web.json_response({"seen": (await request.json())["n"]})

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with serve_app(app) as base, runtime(worker=True, concurrency=4) as rt:
        assert RespConnection.like(rt.service.store.core.client) is not None
        await rt.service.define("acl", {"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": f"{base}/hook", "ResultPath": "$.call",
                     "Next": "Nap"},
            "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Fan"},
            "Fan": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "ResultPath": "$.fanned", "End": True}}})
        first = await rt.service.start("acl", {"n": 1, "items": [1, 2, 3]}, name="first")
        again = await rt.service.start("acl", {"n": 1, "items": [1, 2, 3]}, name="first")  # idempotent by name
        assert again["executionId"] == first["executionId"]
        done = await rt.finished(first["executionId"])
        assert done["status"] == "SUCCEEDED", (done.get("error"), done.get("cause"))
        assert done["output"] == {"n": 1, "items": [1, 2, 3], "call": {"seen": 1},
                                  "fanned": [1, 2, 3]}
        listed = await rt.service.list_executions(status="SUCCEEDED")
        assert [e["executionId"] for e in listed["executions"]] == [first["executionId"]]
        assert await rt.service.store.healthy()  # PING
    # nothing was refused on the way (a loop that fails is logged and goes on: the timers'
    # subscription without +@pubsub, for one)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_wrong_password_is_refused_at_once(acl_port: int) -> None:
    url = f"redis://{SERVICE[0]}:wrong@127.0.0.1:{acl_port}/0"
    began = time.monotonic()
    with pytest.raises(Refused, match="refused the credentials"):
        await RedisStore.connect(Settings.from_env(redis_url=url))
    assert time.monotonic() - began < 5  # not the 30 s of waiting out an outage


async def test_a_user_without_the_rights_is_told_what_is_missing(acl_port: int) -> None:
    url = f"redis://limited:limited-secret@127.0.0.1:{acl_port}/0"
    with pytest.raises(Refused, match="may not do what the service needs: this user has no "
                       "permissions to run the 'script.load' command"):
        await RedisStore.connect(Settings.from_env(redis_url=url))


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_name_the_problem_and_exit_2(acl_port: int, command: str,
                                                      tmp_path: Path) -> None:
    url = f"redis://{SERVICE[0]}:wrong@127.0.0.1:{acl_port}/0"
    extra = ["--port", str(free_port())] if command == "serve" else []
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), command, "--redis-url", url,
                           *extra], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert "refused the credentials" in done.stderr and "Traceback" not in done.stderr
    assert "wrong" not in done.stderr  # the password is masked
