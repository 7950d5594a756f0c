"""The command line: ``serve`` with its private redis-server, the client commands, ``worker``."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from statemachine.cli.serve import register_definitions
from statemachine.security.keys import ADMIN_KEY_ENV, API_KEY_ENV, new_key_id, new_secret
from statemachine.security.secretbox import KEY_ENV
from tests.api.samples import HELLO_YAML
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, str(ROOT / "cli.py")]


def _env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "STATEMACHINE_API", ADMIN_KEY_ENV, API_KEY_ENV, KEY_ENV)}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _cli(*args: str, cwd: Path | None = None, timeout: float = 60,
         **env: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd or ROOT, env=_env(**env), capture_output=True,
                          text=True, timeout=timeout, check=False)


def _wait_healthy(base: str, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve did not become healthy")


def _stop(proc: subprocess.Popen[str], timeout: float = 30) -> None:
    """SIGTERM (the graceful stop) unless it has exited; SIGKILL after ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    """``cli.py serve`` with no Redis URL (so a private redis-server) and a hello definition."""
    work = tmp_path_factory.mktemp("serve")
    definitions = work / "defs"
    definitions.mkdir()
    (definitions / "hello.yaml").write_text(HELLO_YAML)
    (definitions / "notes.txt").write_text("not a definition")
    port = free_port()
    with (work / "serve.log").open("w") as log:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", "2",
             "--definitions", str(definitions)],
            cwd=work, env=_env(), stdout=log, stderr=subprocess.STDOUT, text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        yield base, work, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_starts_private_redis_and_runs_hello(
        served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    base, work, _ = served
    assert (work / ".statemachine" / "appendonlydir").is_dir()
    # Run from serve's folder, the client commands find .statemachine/admin.key themselves.
    done = _cli("start", "hello", "--wait", "--timeout", "30", "--api", base, cwd=work)
    assert done.returncode == 0, done.stderr
    execution = json.loads(done.stdout)
    assert execution["status"] == "SUCCEEDED" and execution["output"] == {"greeting": "hello"}

    described = _cli("describe", execution["executionId"], STATEMACHINE_API=base, cwd=work)
    assert described.returncode == 0 and json.loads(described.stdout) == execution
    history = json.loads(_cli("history", execution["executionId"], "--json", "--api", base,
                              cwd=work).stdout)
    assert history["events"][-1]["type"] == "ExecutionSucceeded"
    limited = json.loads(_cli("history", execution["executionId"], "--limit", "1", "--json",
                              "--api", base, cwd=work).stdout)
    assert [e["type"] for e in limited["events"]] == ["ExecutionStarted"]
    listed = json.loads(_cli("list", "--machine", "hello", "--json", "--api", base,
                             cwd=work).stdout)
    assert execution["executionId"] in [e["executionId"] for e in listed["executions"]]

    started = _cli("start", "hello", "--input", '{"a": 1}', "--name", "named", "--api", base,
                   cwd=work)
    assert started.returncode == 0 and json.loads(started.stdout)["executionId"]


def test_start_errors(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    base, work, _ = served
    unknown = _cli("start", "nope", "--api", base, cwd=work)
    assert unknown.returncode == 1
    assert "does not exist" in json.loads(unknown.stderr)["message"]
    bad_input = _cli("start", "hello", "--input", "{oops", "--api", base, cwd=work)
    assert bad_input.returncode == 2 and "not valid JSON" in bad_input.stderr


def test_the_admin_key_file_is_private_and_no_secret_is_stored_in_clear(
        served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    base, work, _ = served
    path = work / ".statemachine" / "admin.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    admin_id, _, admin_secret = path.read_text().strip().partition(":")
    made = _cli("keys", "create", "--role", "viewer", "--name", "grafana", "--api", base, cwd=work)
    assert made.returncode == 0, made.stderr
    viewer = json.loads(made.stdout)
    assert viewer["role"] == "viewer" and len(viewer["secret"]) >= 43
    aof = b"".join(p.read_bytes() for p in (work / ".statemachine" / "appendonlydir").iterdir())
    assert viewer["id"].encode() in aof and admin_id.encode() in aof  # the keys are there...
    assert viewer["secret"].encode() not in aof  # ...their secrets are not, in any form
    assert admin_secret.encode() not in aof
    listed = json.loads(_cli("keys", "list", "--api", base, cwd=work).stdout)["keys"]
    assert {k["id"] for k in listed} >= {admin_id, viewer["id"]}
    assert "secret" not in json.dumps(listed)


def test_keys_command_roles_and_revocation(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    base, work, _ = served
    viewer = json.loads(_cli("keys", "create", "--role", "viewer", "--api", base, cwd=work).stdout)
    listed = _cli("list", "--api", base, f"--api-key={viewer['secret']}")
    assert listed.returncode == 0, listed.stderr
    refused = _cli("start", "hello", "--api", base, STATEMACHINE_API_KEY=viewer["secret"])
    assert refused.returncode == 1 and json.loads(refused.stderr.split("\n}")[0] + "}")[
        "error"] == "Forbidden"
    revoked = _cli("keys", "revoke", viewer["id"], "--api", base, cwd=work)
    assert revoked.returncode == 0, revoked.stderr
    after = _cli("list", "--api", base, f"--api-key={viewer['secret']}")
    assert after.returncode == 1 and "Unauthorized" in after.stderr
    nobody = _cli("list", "--api", base, cwd=work.parent)  # no key anywhere
    assert nobody.returncode == 1 and "--api-key" in nobody.stderr
    again = _cli("keys", "revoke", viewer["id"], "--api", base, cwd=work)
    assert again.returncode == 1 and "KeyDoesNotExist" in again.stderr


def test_versions_and_aliases_commands(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    base, work, _ = served

    def run(*args: str) -> object:
        done = _cli(*args, "--api", base, cwd=work)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    published = run("versions", "hello", "--publish", "--description", "first")
    assert isinstance(published, dict) and published["stateMachineVersionArn"].endswith(":hello:1")
    assert run("versions", "hello") == {"versions": [published]}
    alias = run("aliases", "hello", "--create", "prod", "--route", "1=100")
    assert isinstance(alias, dict) and alias["stateMachineAliasArn"].endswith(":hello:prod")
    listed = run("aliases", "hello")
    assert isinstance(listed, dict) and [a["stateMachineAliasArn"] for a in listed["aliases"]] == [
        alias["stateMachineAliasArn"]]
    started = run("start", "hello", "--alias", "prod", "--wait", "--timeout", "30")
    assert isinstance(started, dict) and started["stateMachineAliasArn"] == alias["stateMachineAliasArn"]
    refused = _cli("versions", "hello", "--delete", "1", "--api", base, cwd=work)
    assert refused.returncode == 1 and json.loads(refused.stderr)["error"] == "ConflictException"
    bad = _cli("aliases", "hello", "--create", "x", "--route", "one", "--api", base, cwd=work)
    assert bad.returncode == 2 and "N=WEIGHT" in bad.stderr
    run("aliases", "hello", "--delete", "prod")
    run("versions", "hello", "--delete", "1")
    assert run("versions", "hello") == {"versions": []}


def test_serve_stops_cleanly_on_sigterm(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    _, work, proc = served
    redis_pid = int((work / ".statemachine" / "redis.pid").read_text())
    assert _alive(redis_pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    stderr = (work / "serve.log").read_text()
    assert proc.returncode == 0, stderr
    assert "registered hello version 1" in stderr
    assert "private redis-server" in stderr and "stopped" in stderr
    assert "notes" not in stderr
    deadline = time.monotonic() + 5
    while _alive(redis_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(redis_pid)


def test_client_cannot_reach_api() -> None:
    result = _cli("describe", "x", "--api", f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "cannot reach" in result.stderr and "serve" in result.stderr


def test_serve_without_redis_explains(tmp_path: Path) -> None:
    result = _cli("serve", "--port", str(free_port()), cwd=tmp_path,
                  STATEMACHINE_REDIS_SERVER=str(tmp_path / "missing-redis-server"))
    assert result.returncode == 2
    assert "apt-get install redis-server" in result.stderr and "--redis-url" in result.stderr


def test_worker_without_redis_explains(tmp_path: Path) -> None:
    result = _cli("worker", cwd=tmp_path)
    assert result.returncode == 2 and "--redis-url" in result.stderr


def test_worker_runs_and_stops_on_sigterm(redis_url: str, tmp_path: Path) -> None:
    proc = subprocess.Popen([*CLI, "worker", "--redis-url", redis_url, "--concurrency", "2"],
                            cwd=tmp_path, env=_env(), stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        line = ""
        while "worker running" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline() if proc.stderr else ""
            assert line or proc.poll() is None, "worker exited early"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
        assert proc.returncode == 0, stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_register_definitions_only_versions_changes(redis_url: str, tmp_path: Path) -> None:
    from statemachine.service import Service

    (tmp_path / "hello.yaml").write_text(HELLO_YAML)
    (tmp_path / "broken.json").write_text('{"StartAt": "X", "States": {}}')
    service = await Service.connect(redis_url)
    try:
        lines = await register_definitions(service, tmp_path)
        assert any("registered hello version 1" in line for line in lines)
        assert any("broken.json NOT registered" in line for line in lines)
        lines = await register_definitions(service, tmp_path)
        assert any("hello (version 1) unchanged" in line for line in lines)
        (tmp_path / "hello.yaml").write_text(HELLO_YAML.replace("hello", "bonjour"))
        lines = await register_definitions(service, tmp_path)
        assert any("registered hello version 2" in line for line in lines)
        assert (await service.get_machine("hello"))["version"] == 2
    finally:
        await service.close()


def test_insecure_no_auth_is_refused_off_loopback(tmp_path: Path) -> None:
    result = _cli("serve", "--host", "0.0.0.0", "--port", str(free_port()),
                  "--insecure-no-auth", cwd=tmp_path)
    assert result.returncode == 2 and "loopback" in result.stderr
    assert not (tmp_path / ".statemachine").exists()  # refused before anything started


def test_insecure_no_auth_on_loopback_warns_and_lets_requests_through(
        redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "serve.log").open("w") as log:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", "0", "--redis-url", redis_url,
             "--definitions", str(tmp_path), "--data-dir", str(tmp_path / "data"),
             "--insecure-no-auth"],
            cwd=tmp_path, env=_env(), stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_healthy(base, proc)
        with urllib.request.urlopen(f"{base}/v1/executions", timeout=5) as response:
            assert response.status == 200  # no key sent
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    logged = (tmp_path / "serve.log").read_text()
    assert "WARNING: --insecure-no-auth" in logged and "?login=" not in logged


def test_serve_sets_the_admin_key_of_the_environment_and_prints_a_login_link(
        redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    key_id, secret = new_key_id(), new_secret()
    env = {ADMIN_KEY_ENV: f"{key_id}:{secret}"}
    with (tmp_path / "serve.log").open("w") as log:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", "0", "--redis-url", redis_url,
             "--definitions", str(tmp_path), "--data-dir", str(tmp_path / "data")],
            cwd=tmp_path, env=_env(**env), stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_healthy(base, proc)
        listed = _cli("keys", "list", "--api", base, cwd=tmp_path, **env)  # the env's secret
        assert listed.returncode == 0, listed.stderr
        assert [k["id"] for k in json.loads(listed.stdout)["keys"]] == [key_id]
        request = urllib.request.Request(f"{base}/metrics")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    logged = (tmp_path / "serve.log").read_text()
    assert f"admin key {key_id} set from $STATEMACHINE_ADMIN_KEY" in logged
    assert f"{base}/ui/?login=" in logged and secret not in logged
    assert not (tmp_path / "data" / "admin.key").exists()


def test_the_client_finds_its_key_in_order(tmp_path: Path) -> None:
    from statemachine.cli.access import find_api_key

    (tmp_path / "admin.key").write_text(f"{new_key_id()}:{'f' * 43}\n")
    folders = (tmp_path / "missing", tmp_path)
    admin = f"{new_key_id()}:{'a' * 43}"
    assert find_api_key("given", {API_KEY_ENV: "env", ADMIN_KEY_ENV: admin}, folders) == "given"
    assert find_api_key(None, {API_KEY_ENV: "env", ADMIN_KEY_ENV: admin}, folders) == "env"
    assert find_api_key(None, {ADMIN_KEY_ENV: admin}, folders) == "a" * 43
    assert find_api_key(None, {}, folders) == "f" * 43
    assert find_api_key(None, {}, (tmp_path / "missing",)) is None

