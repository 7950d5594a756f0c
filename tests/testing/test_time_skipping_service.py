"""``cli.py serve --time-skipping``: the durable service on a virtual clock.

A real ``serve`` subprocess (its private Redis, its in-process workers) and a real local
HTTP service; executions are started over REST.  A three-day Wait between two real HTTP
tasks ends without the days passing, with a history three days apart; a Retry with
hours-long intervals against a service failing twice; a callback awaited holds the clock
(its HeartbeatSeconds would otherwise be skipped past); a restarted serve resumes the
virtual time; and the flags meaning real traffic or shared state are refused with one line.

Polls are generous and time is never asserted: a wrong clock would leave an execution
waiting days, which the poll's deadline turns into a failure.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.api.test_cli import CLI, _env, _wait_healthy
from tests.conftest import admin_key_env, app_in_thread, free_port

HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS
POLL_S = 60.0


def _definitions(service: str) -> dict[str, dict[str, Any]]:
    return {
        "onboarding": {"StartAt": "Welcome", "States": {
            "Welcome": {"Type": "Task", "Resource": f"{service}/welcome", "Next": "Three days"},
            "Three days": {"Type": "Wait", "Seconds": 3 * 24 * 3600, "Next": "Follow up"},
            "Follow up": {"Type": "Task", "Resource": f"{service}/follow-up", "End": True,
                          "ResultSelector": {"followed.$": "$.path",
                                             "entered.$": "$$.State.EnteredTime"}},
        }},
        "retrying": {"StartAt": "Charge", "States": {"Charge": {
            "Type": "Task", "Resource": f"{service}/flaky", "End": True,
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3 * 3600,
                       "BackoffRate": 2.0, "MaxAttempts": 3}]}}},
        "awaiting": {"StartAt": "Both", "States": {"Both": {
            "Type": "Parallel", "End": True, "Branches": [
                {"StartAt": "A day", "States": {
                    "A day": {"Type": "Wait", "Seconds": 24 * 3600, "End": True}}},
                {"StartAt": "Approval", "States": {"Approval": {
                    "Type": "Task", "Resource": "arn:aws:states:::http:invoke.waitForTaskToken",
                    "HeartbeatSeconds": 3600, "End": True,
                    "Parameters": {"ApiEndpoint": f"{service}/approve", "Method": "POST",
                                   "RequestBody": {"token.$": "$$.Task.Token"}}}}}]}}},
    }


@dataclass
class Served:
    base: str
    admin: dict[str, str]
    data: Path
    definitions: Path
    calls: list[tuple[str, Any]]
    proc: subprocess.Popen[str] | None = None

    @property
    def secret(self) -> str:
        return next(iter(self.admin.values())).split(":", 1)[1]

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method,
                                         headers={"Authorization": f"Bearer {self.secret}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def start(self, machine: str, input: Any = None) -> str:
        started = self.request("POST", f"/v1/state-machines/{machine}/executions",
                               {"input": input or {}})
        return str(started["executionId"])

    def finished(self, execution_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + POLL_S
        while True:
            described: dict[str, Any] = self.request("GET", f"/v1/executions/{execution_id}")
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                return described
            time.sleep(0.1)

    def history(self, execution_id: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.request(
            "GET", f"/v1/executions/{execution_id}/history")["events"]
        return events


def _serve(served: Served, log: Path, *extra: str) -> subprocess.Popen[str]:
    port = int(served.base.rsplit(":", 1)[1])
    env = _env(**served.admin)
    with log.open("a") as out:
        return subprocess.Popen(
            [*CLI, "serve", "--time-skipping", "--port", str(port), "--workers", "4",
             "--data-dir", str(served.data), "--definitions", str(served.definitions), *extra],
            cwd=served.data.parent, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    calls: list[tuple[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        calls.append((request.path, body))
        if request.path == "/flaky" and sum(1 for p, _ in calls if p == "/flaky") <= 2:
            return web.json_response({"busy": True}, status=503)
        return web.json_response({"path": request.path})

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    root = tmp_path_factory.mktemp("time-skipping")
    with app_in_thread(app, "skipping-service") as service:
        definitions = root / "definitions"
        definitions.mkdir()
        for name, definition in _definitions(service).items():
            (definitions / f"{name}.json").write_text(json.dumps(definition))
        served = Served(f"http://127.0.0.1:{free_port()}", admin_key_env(), root / "data",
                        definitions, calls)
        log = root / "serve.log"
        served.proc = _serve(served, log)
        try:
            _wait_healthy(served.base, served.proc)
            yield served
        finally:
            _stop(served.proc)
        assert "VIRTUAL clock" in log.read_text()


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


def _ms(timestamp: int | str) -> int:
    """A history event's timestamp (ms) or a date the API shows (ISO 8601), in ms."""
    if isinstance(timestamp, int):
        return timestamp
    return int(datetime.fromisoformat(timestamp).timestamp() * 1000)


def _at(history: list[dict[str, Any]], kind: str) -> list[int]:
    return [_ms(e["timestamp"]) for e in history if e["type"] == kind]


def test_a_three_day_wait_between_real_tasks_passes_at_once(served: Served) -> None:
    execution_id = served.start("onboarding", {"user": "ada"})
    described = served.finished(execution_id)
    assert described["status"] == "SUCCEEDED", described
    history = served.history(execution_id)
    (entered,), (exited,) = _at(history, "WaitStateEntered"), _at(history, "WaitStateExited")
    assert 3 * DAY_MS <= exited - entered < 3 * DAY_MS + 60_000
    assert _ms(history[-1]["timestamp"]) - _ms(history[0]["timestamp"]) >= 3 * DAY_MS
    assert [p for p, _ in served.calls if p in ("/welcome", "/follow-up")][-2:] == [
        "/welcome", "/follow-up"]
    output = described["output"]
    assert output == {"followed": "/follow-up", "entered": output["entered"]}
    assert _ms(output["entered"]) - _ms(history[0]["timestamp"]) >= 3 * DAY_MS


def test_retry_intervals_of_hours_against_a_service_failing_twice(served: Served) -> None:
    execution_id = served.start("retrying")
    described = served.finished(execution_id)
    assert described["status"] == "SUCCEEDED", described
    history = served.history(execution_id)
    failed, scheduled = _at(history, "TaskFailed"), _at(history, "TaskScheduled")
    assert len(failed) == 2 and len(scheduled) == 3
    assert 3 * HOUR_MS <= scheduled[1] - failed[0] < 3 * HOUR_MS + 60_000
    assert 6 * HOUR_MS <= scheduled[2] - failed[1] < 6 * HOUR_MS + 60_000


def test_a_task_awaiting_its_callback_holds_the_clock(served: Served) -> None:
    """While the callback is awaited, the one-day Wait of the other branch must not be
    skipped to, nor the task's one-hour heartbeat timeout: the answer comes in real time."""
    execution_id = served.start("awaiting")
    deadline = time.monotonic() + POLL_S
    while not any(p == "/approve" for p, _ in served.calls) and time.monotonic() < deadline:
        time.sleep(0.05)
    token = next(body["token"] for p, body in served.calls if p == "/approve")
    time.sleep(1.5)  # several of the skipper's looks: it must find the callback in flight
    assert served.request("GET", f"/v1/executions/{execution_id}")["status"] == "RUNNING"
    served.request("POST", "/v1/tasks/success", {"taskToken": token, "output": {"ok": True}})
    described = served.finished(execution_id)
    assert described["status"] == "SUCCEEDED", described
    history = served.history(execution_id)
    assert not [e for e in history if e["type"] == "TaskTimedOut"]
    (scheduled,), (answered,) = _at(history, "TaskScheduled"), _at(history, "TaskSucceeded")
    assert answered - scheduled < HOUR_MS
    (entered,), (exited,) = _at(history, "WaitStateEntered"), _at(history, "WaitStateExited")
    assert exited - entered >= DAY_MS


def test_a_restarted_serve_resumes_the_virtual_time_and_others_refuse_its_redis(
        served: Served, tmp_path: Path) -> None:
    before = served.start("onboarding")
    ended = _ms(served.finished(before)["stopDate"])
    assert served.proc is not None
    _stop(served.proc)
    assert served.proc.returncode == 0
    plain = subprocess.run([*CLI, "serve", "--port", str(free_port()), "--data-dir",
                            str(served.data), "--definitions", str(served.definitions)],
                           env=_env(), capture_output=True, text=True, timeout=60, check=False)
    assert plain.returncode == 2
    assert [line for line in plain.stderr.splitlines()
            if line.startswith("statemachine serve:") and "serve --time-skipping" in line]
    served.proc = _serve(served, tmp_path / "again.log")
    _wait_healthy(served.base, served.proc)
    worker = subprocess.run([*CLI, "worker", "--drain", "--data-dir", str(served.data)],
                            cwd=served.data.parent, env=_env(), capture_output=True, text=True,
                            timeout=60, check=False)
    assert worker.returncode == 2 and "serve --time-skipping" in worker.stderr
    after = served.start("onboarding")
    described = served.finished(after)
    assert described["status"] == "SUCCEEDED"
    assert _ms(described["startDate"]) >= ended  # history never goes back


@pytest.mark.parametrize(("extra", "env", "named"), [
    (["--redis-url", "redis://127.0.0.1:1/0"], {}, "--redis-url"),
    ([], {"REDIS_URL": "redis://127.0.0.1:1/0"}, "REDIS_URL"),
    (["--host", "0.0.0.0"], {}, "--host 0.0.0.0"),
    (["--workers", "0"], {}, "--workers 0"),
    (["--archive-url", "s3://bucket/prefix"], {}, "--archive-url"),
    (["--min-replicas-ack", "1"], {}, "--min-replicas-ack"),
])
def test_flags_meaning_real_traffic_or_shared_state_are_refused(
        extra: list[str], env: dict[str, str], named: str, tmp_path: Path) -> None:
    done = subprocess.run([*CLI, "serve", "--time-skipping", "--data-dir", str(tmp_path / "d"),
                           *extra], env=_env(**env), capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "--time-skipping" in lines[0], lines
    assert not (tmp_path / "d").exists()  # refused before its private Redis was started
