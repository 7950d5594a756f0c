"""``cli.py connections`` against a real ``cli.py serve`` with its private redis-server: the
secret reaches the task's service and no file of the data dir (the AOF included) holds it."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statemachine.cli.access import ADMIN_KEY_FILE, read_key_file
from tests.api.test_cli import CLI, _cli, _env, _stop, _wait_healthy
from tests.api.test_connections import header_echo
from tests.conftest import app_in_thread, free_port

SECRET = "cli-Secret-Of-The-Tenant-5513"


@pytest.fixture
def echo() -> Iterator[tuple[list[dict[str, str]], str]]:
    seen, app = header_echo()
    with app_in_thread(app, "echo") as base:
        yield seen, base


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    definitions = tmp_path / "defs"
    definitions.mkdir()
    port = free_port()
    with (tmp_path / "serve.log").open("w") as log:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", "2",
             "--definitions", str(definitions)],
            cwd=tmp_path, env=_env(STATEMACHINE_SECRET_KEY=None, STATEMACHINE_DATA_DIR=None),
            stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        yield base, tmp_path
    finally:
        _stop(proc)


def _post(base: str, path: str, body: Any, work: Path) -> Any:
    """POST with the admin key serve made in ``work``'s data dir."""
    key = read_key_file(work / ".statemachine" / ADMIN_KEY_FILE)
    assert key is not None
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {key[1]}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_connection_secret_stays_out_of_the_data_dir(
        served: tuple[str, Path], echo: tuple[list[dict[str, str]], str]) -> None:
    base, work = served
    seen, echo_base = echo
    made = subprocess.run(
        [*CLI, "connections", "--api", base, "create", "--name", "tenant", "--type", "API_KEY",
         "--api-key-name", "X-Api-Key", "--api-key-value", "-"],
        input=SECRET + "\n", cwd=work, env=_env(), capture_output=True, text=True, timeout=60,
        check=False)
    assert made.returncode == 0, made.stderr
    arn = json.loads(made.stdout)["connectionArn"]
    assert SECRET not in made.stdout
    listed = _cli("connections", "--api", base, "list", cwd=work)
    assert listed.returncode == 0 and arn in listed.stdout and SECRET not in listed.stdout
    _post(base, "/v1/state-machines", {"name": "call", "definition": {
        "StartAt": "Call", "States": {"Call": {
            "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": f"{echo_base}/orders", "Method": "GET",
                           "Authentication": {"ConnectionArn": arn}},
            "End": True}}}}, work)
    started = _cli("start", "call", "--wait", "--api", base, cwd=work)
    assert started.returncode == 0, started.stderr
    assert seen and seen[0]["X-Api-Key"] == SECRET
    execution_id = json.loads(started.stdout)["executionId"]
    history = _cli("history", execution_id, "--json", "--api", base, cwd=work)
    assert history.returncode == 0 and arn in history.stdout and SECRET not in history.stdout

    data_dir = work / ".statemachine"
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(b"sm:connections" in p.read_bytes() for p in files), files  # written, sealed
    for path in [*files, work / "serve.log"]:
        assert SECRET.encode() not in path.read_bytes(), path
    gone = _cli("connections", "--api", base, "delete", "tenant", cwd=work)
    assert gone.returncode == 0 and json.loads(gone.stdout)["connectionState"] == "DELETING"
    missing = _cli("connections", "--api", base, "describe", "tenant", cwd=work)
    assert missing.returncode == 1 and "ResourceNotFound" in missing.stderr


def test_create_explains_missing_options(tmp_path: Path) -> None:
    result = _cli("connections", "--api", f"http://127.0.0.1:{free_port()}", "create",
                  "--name", "x", "--type", "BASIC", "--username", "u", cwd=tmp_path)
    assert result.returncode == 2
    assert "--type BASIC needs --password" in result.stderr
