"""``cli.py run --skip-time`` beyond Wait Seconds: retry intervals (BackoffRate,
MaxDelaySeconds, JitterStrategy FULL) answered by a mock config's Throw answers and by a real
local service failing then succeeding, Wait Timestamp and TimestampPath, ``$$`` times, and
a real task in flight holding the clock (its TimeoutSeconds and HeartbeatSeconds count real
time: the clock does not jump to them while the task runs).

History timestamps are asserted; wall time never is.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from statemachine.cli import main as cli_main
from tests.conftest import app_in_thread

Capsys = pytest.CaptureFixture[str]
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS


def _run(tmp_path: Path, capsys: Capsys, definition: dict[str, Any], *args: str,
         input: Any = None, mocks: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(definition))
    extra = list(args)
    if mocks is not None:
        config = tmp_path / "mocks.json"
        config.write_text(json.dumps(mocks))
        extra += ["--mock-config", str(config)]
    code = cli_main(["run", str(path), "--skip-time", "--history",
                     "--input", json.dumps(input or {}), *extra])
    return code, json.loads(capsys.readouterr().out)


def _of(history: list[dict[str, Any]], kind: str) -> list[int]:
    return [e["timestamp"] for e in history if e["type"] == kind]


def _gaps(history: list[dict[str, Any]]) -> list[int]:
    """Between each failed attempt and the next attempt's scheduling."""
    failed, scheduled = _of(history, "TaskFailed"), _of(history, "TaskScheduled")
    return [scheduled[i + 1] - failed[i] for i in range(len(failed)) if i + 1 < len(scheduled)]


def _retrying(resource: str, retrier: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": resource, "End": True,
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3, **retrier}]}}}


FLAKY = {"0-1": {"Throw": {"Error": "Busy", "Cause": "try later"}}, "2": {"Return": {"ok": 1}}}


def test_backoff_capped_by_max_delay_runs_on_the_virtual_clock(
        tmp_path: Path, capsys: Capsys) -> None:
    definition = _retrying("http://127.0.0.1:9/never", {
        "IntervalSeconds": 3600, "BackoffRate": 2.0, "MaxDelaySeconds": 5400})
    mocks = {"StateMachines": {"flow": {"TestCases": {"Flaky": {"Call": "Flaky"}}}},
             "MockedResponses": {"Flaky": FLAKY}}
    code, out = _run(tmp_path, capsys, definition, "--test-case", "Flaky", mocks=mocks)
    assert (code, out["status"], out["output"]) == (0, "SUCCEEDED", {"ok": 1})
    first, second = _gaps(out["history"])
    assert HOUR_MS <= first < HOUR_MS + 60_000  # 3600 s
    assert 1.5 * HOUR_MS <= second < 1.5 * HOUR_MS + 60_000  # 7200 s capped at 5400 s


def test_full_jitter_waits_a_virtual_fraction_of_the_backoff(
        tmp_path: Path, capsys: Capsys) -> None:
    definition = _retrying("http://127.0.0.1:9/never", {
        "IntervalSeconds": 86400, "BackoffRate": 3.0, "JitterStrategy": "FULL"})
    mocks = {"StateMachines": {"flow": {"TestCases": {"Flaky": {"Call": "Flaky"}}}},
             "MockedResponses": {"Flaky": FLAKY}}
    code, out = _run(tmp_path, capsys, definition, "--test-case", "Flaky", mocks=mocks)
    assert (code, out["status"]) == (0, "SUCCEEDED")
    first, second = _gaps(out["history"])
    assert 0 <= first <= DAY_MS + 60_000
    assert 0 <= second <= 3 * DAY_MS + 60_000
    assert first + second > 60_000  # jitter drew some of the virtual day(s)


@pytest.fixture
def flaky_service() -> Iterator[tuple[str, list[str]]]:
    """A real local service: 503 twice, then an answer; it records each call's path."""
    calls: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        calls.append(request.path)
        if request.path == "/slow":
            await asyncio.sleep(0.3)
            return web.json_response({"slow": True})
        if len(calls) <= 2:
            return web.json_response({"busy": True}, status=503)
        return web.json_response({"done": len(calls)})

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    with app_in_thread(app, "flaky-service") as base:
        yield base, calls


def test_a_real_service_failing_twice_is_retried_hours_apart_at_once(
        tmp_path: Path, capsys: Capsys, flaky_service: tuple[str, list[str]]) -> None:
    base, calls = flaky_service
    definition = _retrying(f"{base}/orders", {"IntervalSeconds": 7200, "BackoffRate": 2.0})
    code, out = _run(tmp_path, capsys, definition)
    assert (code, out["status"], out["output"]) == (0, "SUCCEEDED", {"done": 3})
    assert calls == ["/orders"] * 3
    first, second = _gaps(out["history"])
    assert 2 * HOUR_MS <= first < 2 * HOUR_MS + 60_000
    assert 4 * HOUR_MS <= second < 4 * HOUR_MS + 60_000


def test_a_task_in_flight_holds_the_clock_so_its_timeouts_count_real_time(
        tmp_path: Path, capsys: Capsys, flaky_service: tuple[str, list[str]]) -> None:
    """The service answers after 0.3 s; had the clock jumped to the task's timers while it
    ran, the task would have timed out (an hour-long TimeoutSeconds, a ten-minute
    HeartbeatSeconds that an HTTP task never beats)."""
    base, _ = flaky_service
    definition = {"StartAt": "Slow", "States": {"Slow": {
        "Type": "Task", "Resource": f"{base}/slow", "TimeoutSeconds": 3600,
        "HeartbeatSeconds": 600, "End": True}}}
    code, out = _run(tmp_path, capsys, definition)
    assert (code, out["status"], out["output"]) == (0, "SUCCEEDED", {"slow": True})
    (scheduled,), (succeeded,) = _of(out["history"], "TaskScheduled"), _of(out["history"], "TaskSucceeded")
    assert succeeded - scheduled < 600_000


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_wait_timestamps_and_the_context_times_read_as_the_virtual_time(
        tmp_path: Path, capsys: Capsys) -> None:
    until = int(datetime.now(UTC).timestamp() * 1000) + 10 * DAY_MS
    definition = {"StartAt": "Until input", "States": {
        "Until input": {"Type": "Wait", "TimestampPath": "$.until", "Next": "Until 2100"},
        "Until 2100": {"Type": "Wait", "Timestamp": "2100-01-01T00:00:00Z", "Next": "Seen"},
        "Seen": {"Type": "Pass", "End": True, "Parameters": {
            "started.$": "$$.Execution.StartTime", "entered.$": "$$.State.EnteredTime"}},
    }}
    code, out = _run(tmp_path, capsys, definition, input={"until": _iso(until)})
    assert (code, out["status"]) == (0, "SUCCEEDED")
    history = out["history"]
    exited = _of(history, "WaitStateExited")
    assert until // 1000 * 1000 <= exited[0] < until + 60_000
    year_2100 = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert year_2100 <= exited[1] < year_2100 + 60_000
    assert out["output"]["started"][:10] == _iso(history[0]["timestamp"])[:10]
    assert out["output"]["entered"].startswith("2100-01-01T00:0")
