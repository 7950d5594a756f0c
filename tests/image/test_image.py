"""The container image, built from this checkout and run as a user runs it: ``serve`` in the
image against a Redis outside it starts an example to SUCCEEDED through the REST API, and
``docker stop`` (SIGTERM, SIGKILL after 10 s) ends it gracefully with exit code 0; and
``compose.yaml`` (the API, two workers, Redis) validated and brought up the same way.

Every container uses the host's network (the engine runs without a bridge), so no traffic
leaves loopback; the images come from :mod:`tests.image.prepare`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from statemachine.cli import COMMANDS
from statemachine.security.keys import ADMIN_KEY_ENV
from tests.conftest import ROOT, admin_key_env, free_port
from tests.image.engine import Engine, find_executable
from tests.image.prepare import Prepared

COMPOSE = ROOT / "compose.yaml"
EXAMPLE = "hello"
EXAMPLE_INPUT = json.loads((ROOT / "definitions" / "inputs" / "hello.json").read_text())
EXAMPLE_OUTPUT = "Hello, Ada!"
STARTUP_SECONDS = 60.0
RUN_SECONDS = 60.0
STOP_SECONDS = 10
# The first test also waits for the preparation: on a new machine, debootstrap and a first
# build (minutes, on a busy machine more than the suite's 300 s per test).
pytestmark = pytest.mark.timeout(900)


@dataclass(frozen=True)
class Api:
    base: str
    secret: str

    def call(self, method: str, path: str, body: object = None) -> Any:
        request = urllib.request.Request(
            self.base + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.secret}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def wait_healthy(self, gone: Callable[[], str | None]) -> None:
        """Until /healthz answers 200; ``gone()`` says why the server can no longer come."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if reason := gone():
                raise AssertionError(reason)
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.2)
        raise AssertionError(f"no healthy API at {self.base} within {STARTUP_SECONDS:.0f} s")

    def run_example(self) -> dict[str, Any]:
        """Start the example and wait for its end: the described execution."""
        started = self.call("POST", f"/v1/state-machines/{EXAMPLE}/executions",
                            {"input": EXAMPLE_INPUT})
        deadline = time.monotonic() + RUN_SECONDS
        while True:
            described: dict[str, Any] = self.call("GET", f"/v1/executions/{started['executionId']}")
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                return described
            time.sleep(0.2)


def _admin() -> tuple[dict[str, str], str]:
    """A fresh admin key's environment, and its secret (the Bearer token)."""
    env = admin_key_env()
    return env, env[ADMIN_KEY_ENV].partition(":")[2]


def test_the_image_serves_an_example_and_stops_gracefully(prepared: Prepared,
                                                          redis_url: str) -> None:
    engine = prepared.engine
    admin_env, secret = _admin()
    port = free_port()
    name = f"statemachine-test-{uuid.uuid4().hex[:8]}"
    # The key by name only (--env NAME): its value comes from docker's environment, not argv.
    engine.run("run", "--detach", "--name", name, "--network", "host",
               "--env", f"REDIS_URL={redis_url}", "--env", ADMIN_KEY_ENV, prepared.image,
               "serve", "--host", "127.0.0.1", "--port", str(port), extra_env=admin_env)
    try:
        api = Api(f"http://127.0.0.1:{port}", secret)
        api.wait_healthy(lambda: _exited(engine, name))
        described = api.run_example()
        assert described["status"] == "SUCCEEDED", described
        assert described["output"] == EXAMPLE_OUTPUT

        engine.run("stop", "--time", str(STOP_SECONDS), name, timeout=STOP_SECONDS + 30)
        state = json.loads(engine.run("inspect", "--format", "{{json .State}}", name).stdout)
        logs = _logs(engine, name)
        # 0, not 137: SIGTERM alone ended it, before docker's SIGKILL after STOP_SECONDS
        assert (state["ExitCode"], state["OOMKilled"]) == (0, False), logs
        assert "statemachine: shutting down" in logs
        assert secret not in logs
    finally:
        engine.run("rm", "--force", name, check=False)


def test_a_container_stopped_while_waiting_for_redis_exits_at_once(prepared: Prepared) -> None:
    engine = prepared.engine
    name = f"statemachine-test-{uuid.uuid4().hex[:8]}"
    nothing_there = f"redis://127.0.0.1:{free_port()}/0"
    engine.run("run", "--detach", "--name", name, "--network", "host",
               "--env", f"REDIS_URL={nothing_there}", prepared.image, "worker")
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while "Redis is unreachable" not in (logs := _logs(engine, name)):
            assert time.monotonic() < deadline and not _exited(engine, name), logs
            time.sleep(0.2)
        engine.run("stop", "--time", str(STOP_SECONDS), name, timeout=STOP_SECONDS + 30)
        state = json.loads(engine.run("inspect", "--format", "{{json .State}}", name).stdout)
        logs = _logs(engine, name)
        assert state["ExitCode"] == 0, logs  # not 137: it did not wait for docker's SIGKILL
        assert "stopped while connecting to Redis" in logs
    finally:
        engine.run("rm", "--force", name, check=False)


def test_compose_file_runs_the_api_two_workers_and_redis() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    assert set(services) == {"api", "worker-1", "worker-2", "redis"}
    ours = {name: service for name, service in services.items() if name != "redis"}
    assert {s["image"] for s in ours.values()} == {"${STATEMACHINE_IMAGE:-statemachine}"}
    assert services["api"]["build"]["args"] == {"BASE": "${BASE:-python:3.11-slim}"}
    assert "ARG BASE=python:3.11-slim" in (ROOT / "Dockerfile").read_text()
    for name, service in ours.items():
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0", name
        assert service["volumes"] == ["data:/data"], name  # one secret.key for all
        assert "redis" in service["depends_on"], name
        _parses(service["command"])
    assert [ours[name]["command"][0] for name in sorted(ours)] == ["serve", "worker", "worker"]
    assert "--workers" in ours["api"]["command"]  # the API leaves the work to the workers


def test_compose_brings_up_the_api_two_workers_and_redis(prepared: Prepared,
                                                         tmp_path: Path) -> None:
    compose = _compose_tool(prepared.engine)
    if compose is None:
        pytest.skip("no compose tool (Debian's docker-compose) to bring compose.yaml up; "
                    "the file is checked by the test above")
    admin_env, secret = _admin()
    api_port = free_port()
    env = {**prepared.engine.env, **admin_env, "STATEMACHINE_IMAGE": prepared.image,
           "REDIS_IMAGE": prepared.base}
    project = f"statemachinetest{uuid.uuid4().hex[:8]}"
    variant = tmp_path / "compose.yaml"
    variant.write_text(yaml.safe_dump(_on_host_network(
        yaml.safe_load(COMPOSE.read_text()), redis_port=free_port(), api_port=api_port)))

    def run(*args: str, file: Path = variant,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*compose, "--project-name", project, "--project-directory",
                               str(ROOT), "--file", str(file), *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0 or not check, f"compose {args[0]}: {done.stderr}"
        return done

    run("config", "--quiet", file=COMPOSE)  # the file as users get it
    try:
        run("up", "--detach", "--no-build")
        api = Api(f"http://127.0.0.1:{api_port}", secret)
        api.wait_healthy(lambda: _compose_exited(prepared.engine, project))
        described = api.run_example()
        assert described["status"] == "SUCCEEDED", (described, run("logs").stdout)
        assert described["output"] == EXAMPLE_OUTPUT

        run("stop", "--timeout", str(STOP_SECONDS))
        logs = run("logs", "--no-color").stdout
        exits = _exit_codes(prepared.engine, project)
        assert len(exits) == 4 and set(exits.values()) == {0}, (exits, logs)
        assert logs.count("statemachine: worker running against") == 2, logs
        assert secret not in logs
    finally:
        run("down", "--volumes", "--timeout", str(STOP_SECONDS), check=False)


def _on_host_network(spec: dict[str, Any], redis_port: int, api_port: int) -> dict[str, Any]:
    """compose.yaml with every container on the host's network (the engine here has no
    bridge) instead of the compose network and its published port, listening on loopback
    on free ports: the only changes the test makes."""
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    for name, service in spec["services"].items():
        service["network_mode"] = "host"
        service.pop("ports", None)
        if name == "redis":
            service["command"] += ["--port", str(redis_port), "--bind", "127.0.0.1"]
        else:
            service["environment"]["REDIS_URL"] = redis_url
        if name == "api":  # the last --host/--port wins
            service["command"] += ["--host", "127.0.0.1", "--port", str(api_port)]
    return spec


def _parses(command: list[str]) -> None:
    """``command`` is a valid ``cli.py`` command line (its parser accepts it)."""
    module_name, _ = COMMANDS[command[0]]
    parser = argparse.ArgumentParser(prog=command[0])
    importlib.import_module(module_name).configure(parser, command[0])
    parser.parse_args(command[1:])


def _exited(engine: Engine, name: str) -> str | None:
    running = engine.run("inspect", "--format", "{{.State.Running}}", name, check=False)
    if running.stdout.strip() == "true":
        return None
    return f"the container stopped: {_logs(engine, name)}"


def _logs(engine: Engine, name: str) -> str:
    done = engine.run("logs", name, check=False)
    return done.stdout + done.stderr


def _compose_tool(engine: Engine) -> list[str] | None:
    """Debian's docker-compose, or the client's compose plug-in."""
    if tool := find_executable("docker-compose"):
        return [tool]
    if engine.run("compose", "version", check=False).returncode == 0:
        return [engine.client, "compose"]
    return None


def _project_states(engine: Engine, project: str) -> dict[str, str]:
    """Each container of the compose project by name: its state (running, exited...)."""
    listed = engine.run("ps", "--all", "--format", "{{.Names}} {{.State}}", "--filter",
                        f"label=com.docker.compose.project={project}")
    return dict(line.rsplit(" ", 1) for line in listed.stdout.splitlines())


def _exit_codes(engine: Engine, project: str) -> dict[str, int]:
    inspected = engine.run("inspect", "--format", "{{.Name}} {{.State.ExitCode}}",
                           *_project_states(engine, project))
    return {name: int(code) for name, code in
            (line.rsplit(" ", 1) for line in inspected.stdout.splitlines())}


def _compose_exited(engine: Engine, project: str) -> str | None:
    stopped = [name for name, state in _project_states(engine, project).items()
               if state not in ("running", "created")]
    return f"containers stopped: {stopped}" if stopped else None
