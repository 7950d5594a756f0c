"""Structured logs through the command line, with real processes: a ``cli.py serve`` (the
API alone, text lines) and a ``cli.py worker`` (JSON lines) on serve's private Redis;
``define --logging``, and ``cli.py logs ID`` (``--follow`` until the execution ends,
``--json``).  Every line either process wrote about the execution names it."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.test_cli import CLI, _cli, _env, _stop, _wait_healthy
from tests.conftest import admin_key_env, free_port

WAITING = """\
StartAt: Begin
States:
  Begin: {Type: Pass, Next: Nap}
  Nap: {Type: Wait, Seconds: 1, Next: Done}
  Done: {Type: Succeed}
"""


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """serve (no in-process workers, text lines) and one worker (JSON lines); their stdout
    in serve.out and worker.out."""
    work = tmp_path_factory.mktemp("logs")
    (work / "defs").mkdir()
    (work / "waiting.yaml").write_text(WAITING)
    env = admin_key_env()
    port = free_port()
    started: list[subprocess.Popen[str]] = []
    with (work / "serve.out").open("w") as out, (work / "serve.err").open("w") as err:
        started.append(subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", "0", "--definitions", "defs",
             "--log-format", "text"], cwd=work, env=_env(**env), stdout=out, stderr=err,
            text=True))
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, started[0])
        with (work / "worker.out").open("w") as out, (work / "worker.err").open("w") as err:
            started.append(subprocess.Popen([*CLI, "worker", "--concurrency", "2"], cwd=work,
                                            env=_env(**env), stdout=out, stderr=err, text=True))
        yield base, work, env
    finally:
        for proc in reversed(started):
            _stop(proc, 20)


def test_logs_follow_an_execution_and_both_processes_name_it(
        processes: tuple[str, Path, dict[str, str]]) -> None:
    base, work, env = processes
    defined = _cli("define", "waiting.yaml", "--logging", "ALL", "--api", base, cwd=work, **env)
    assert defined.returncode == 0, defined.stderr
    assert "defined waiting version 1" in defined.stdout
    again = _cli("define", "waiting.yaml", "--logging", "ALL", "--api", base, cwd=work, **env)
    assert "unchanged" in again.stdout  # the same definition and logging: no new version
    started = _cli("start", "waiting", "--api", base, cwd=work, **env)
    assert started.returncode == 0, started.stderr
    execution_id = json.loads(started.stdout)["executionId"]

    followed = _cli("logs", execution_id, "--follow", "--interval", "0.2", "--api", base,
                    cwd=work, **env)  # returns once the execution ended (after its Wait)
    assert followed.returncode == 0, followed.stderr
    types = [line.split()[2] for line in followed.stdout.splitlines()]
    assert types == ["ExecutionStarted", "PassStateEntered", "PassStateExited",
                     "WaitStateEntered", "WaitStateExited", "SucceedStateEntered",
                     "SucceedStateExited", "ExecutionSucceeded"]
    as_json = _cli("logs", execution_id, "--json", "--api", base, cwd=work, **env)
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [e["type"] for e in events] == types
    assert all(e["execution_arn"].endswith(f":execution:waiting:{execution_id}") for e in events)

    deadline = time.monotonic() + 10
    while True:  # lines are written together, a fraction of a second later
        worker = [line for line in (work / "worker.out").read_text().splitlines()
                  if execution_id in line]
        if len(worker) >= len(types) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    parsed = [json.loads(line) for line in worker]  # every one a JSON object
    assert [(line["executionId"], line["type"]) for line in parsed] == [
        (execution_id, t) for t in types]
    assert {(line["machine"], line["version"]) for line in parsed} == {("waiting", 1)}
    nap = next(line for line in parsed if line["type"] == "WaitStateExited")
    assert nap["state"] == "Nap" and nap["durationMs"] >= 1000
    serve = [line for line in (work / "serve.out").read_text().splitlines()
             if execution_id in line]
    assert len(serve) == 1 and " INFO statemachine.audit: " in serve[0]
    assert json.loads(serve[0].split("statemachine.audit: ", 1)[1])["executionId"] == \
        execution_id


def test_logs_of_a_machine_that_logs_nothing_say_so(
        processes: tuple[str, Path, dict[str, str]]) -> None:
    base, work, env = processes
    (work / "quiet.yaml").write_text(WAITING.replace("Seconds: 1", "Seconds: 0"))
    assert _cli("define", "quiet.yaml", "--api", base, cwd=work, **env).returncode == 0
    execution_id = json.loads(_cli("start", "quiet", "--api", base, cwd=work,
                                   **env).stdout)["executionId"]
    shown = _cli("logs", execution_id, "--api", base, cwd=work, **env)
    assert shown.returncode == 0 and shown.stdout == ""
    assert "logging is OFF" in shown.stderr
    missing = _cli("logs", "nope", "--api", base, cwd=work, **env)
    assert missing.returncode == 1 and "ExecutionDoesNotExist" in missing.stderr
    bad = _cli("define", "quiet.yaml", "--include-execution-data", "--api", base, cwd=work,
               **env)
    assert bad.returncode == 2 and "--logging" in bad.stderr
