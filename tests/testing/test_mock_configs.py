"""``cli.py run --mock-config F --test-case C``: Step Functions Local's mock configs drive a run.

One workflow, one mock config, as a user writes them: the happy path, a retry path (attempts
0-1 throw, 2 returns), a catch path; the state the cases leave unmocked calls a real local
HTTP service; Map iterations and a ``.waitForTaskToken`` task mocked; bad inputs exit 2 with
one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from statemachine.cli import main as cli_main
from tests.conftest import app_in_thread

Capsys = pytest.CaptureFixture[str]

MOCKS = {
    "StateMachines": {
        "orders": {"TestCases": {
            "HappyPath": {"Charge": "ChargeOk", "Ship": "ShipOk", "Notify": "NotifyOk"},
            "RetryPath": {"Charge": "ChargeFlaky", "Ship": "ShipOk", "Notify": "NotifyOk"},
            "CatchPath": {"Charge": "ChargeDeclined"},
        }},
    },
    "MockedResponses": {
        "ChargeOk": {"0": {"Return": {"charged": 42}}},
        "ChargeFlaky": {
            "0-1": {"Throw": {"Error": "Payments.Busy", "Cause": "try again"}},
            "2": {"Return": {"charged": 7}},
        },
        "ChargeDeclined": {"0": {"Throw": {"Error": "Payments.Declined", "Cause": "no funds"}}},
        "ShipOk": {"0": {"Return": {"shipped": True}}},
        "NotifyOk": {"0": {"Return": "sent"}},
    },
}


def _definition(service: str) -> dict[str, Any]:
    never = "http://127.0.0.1:9/never-called"  # a mocked state must not reach it
    return {
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task", "Resource": never, "ResultPath": "$.charge",
                "Retry": [{"ErrorEquals": ["Payments.Busy"], "IntervalSeconds": 1,
                           "MaxAttempts": 3, "BackoffRate": 1}],
                "Catch": [{"ErrorEquals": ["Payments.Declined"], "ResultPath": "$.failure",
                           "Next": "Refund"}],
                "Next": "Lines",
            },
            "Lines": {
                "Type": "Map", "ItemsPath": "$.lines", "ResultPath": "$.shipped",
                "ItemProcessor": {"StartAt": "Ship", "States": {
                    "Ship": {"Type": "Task", "Resource": never, "End": True}}},
                "Next": "Notify",
            },
            "Notify": {
                "Type": "Task", "Resource": "arn:aws:states:::http:invoke.waitForTaskToken",
                "Parameters": {"ApiEndpoint": never, "Method": "POST",
                               "RequestBody": {"token.$": "$$.Task.Token"}},
                "ResultPath": "$.notified", "Next": "Audit",
            },
            "Audit": {"Type": "Task", "Resource": f"{service}/audit", "ResultPath": "$.audit",
                      "End": True},
            "Refund": {"Type": "Task", "Resource": f"{service}/audit", "ResultPath": "$.audit",
                       "End": True},
        },
    }


@pytest.fixture
def service() -> Iterator[tuple[str, list[Any]]]:
    """The real local HTTP service the unmocked states call; it records what it received."""
    received: list[Any] = []

    async def audit(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"audited": len(received)})

    app = web.Application()
    app.router.add_post("/audit", audit)
    with app_in_thread(app, "audit-service") as base:
        yield base, received


@pytest.fixture
def files(tmp_path: Path, service: tuple[str, list[Any]]) -> tuple[Path, Path]:
    definition = tmp_path / "orders.json"
    definition.write_text(json.dumps(_definition(service[0])))
    mocks = tmp_path / "MockConfigFile.json"
    mocks.write_text(json.dumps(MOCKS))
    return definition, mocks


def _run(capsys: Capsys, *args: str) -> tuple[int, Any]:
    code = cli_main(["run", *args, "--history"])
    return code, json.loads(capsys.readouterr().out)


def _input() -> str:
    return json.dumps({"lines": ["a", "b", "c"]})


def test_happy_path_mocks_map_iterations_and_a_callback_task(
        capsys: Capsys, files: tuple[Path, Path], service: tuple[str, list[Any]]) -> None:
    definition, mocks = files
    code, out = _run(capsys, str(definition), "--input", _input(),
                     "--mock-config", str(mocks), "--test-case", "HappyPath")
    assert code == 0, out
    assert out["output"] == {"lines": ["a", "b", "c"], "charge": {"charged": 42},
                             "shipped": [{"shipped": True}] * 3, "notified": "sent",
                             "audit": {"audited": 1}}
    # the unmocked state really called the service, with the mocked results before it
    assert service[1] == [{k: v for k, v in out["output"].items() if k != "audit"}]


def test_retry_path_throws_twice_then_returns(
        capsys: Capsys, files: tuple[Path, Path]) -> None:
    definition, mocks = files
    code, out = _run(capsys, str(definition), "--input", _input(),
                     "--mock-config", str(mocks), "--test-case", "RetryPath")
    assert code == 0, out
    assert out["output"]["charge"] == {"charged": 7}
    failures = [h for h in out["history"] if h["type"] == "TaskFailed"]
    assert [f["taskFailedEventDetails"]["error"] for f in failures] == ["Payments.Busy"] * 2


def test_catch_path_routes_the_thrown_error_to_the_unmocked_state(
        capsys: Capsys, files: tuple[Path, Path], service: tuple[str, list[Any]]) -> None:
    definition, mocks = files
    code, out = _run(capsys, str(definition), "--input", _input(),
                     "--mock-config", str(mocks), "--test-case", "CatchPath")
    assert code == 0, out
    assert out["output"]["failure"] == {"Error": "Payments.Declined", "Cause": "no funds"}
    assert service[1][0]["failure"]["Error"] == "Payments.Declined"


def test_machine_name_defaults_to_the_stem_and_can_be_given(
        capsys: Capsys, files: tuple[Path, Path], tmp_path: Path) -> None:
    definition, mocks = files
    renamed = tmp_path / "other.json"
    renamed.write_text(definition.read_text())
    code, out = _run(capsys, str(renamed), "--input", _input(), "--mock-config", str(mocks),
                     "--test-case", "HappyPath", "--machine", "orders")
    assert code == 0, out


def _error(capsys: Capsys, *args: str) -> str:
    assert cli_main(["run", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_bad_inputs_exit_2_with_one_line(capsys: Capsys, files: tuple[Path, Path],
                                         tmp_path: Path) -> None:
    definition, mocks = files
    d = str(definition)
    assert "No such file" in _error(capsys, d, "--mock-config", str(tmp_path / "nope.json"),
                                    "--test-case", "HappyPath")
    assert "no test case 'Nope'" in _error(capsys, d, "--mock-config", str(mocks),
                                            "--test-case", "Nope")
    assert "no state machine 'elsewhere'" in _error(
        capsys, d, "--mock-config", str(mocks), "--test-case", "HappyPath", "--machine", "elsewhere")
    assert "go together" in _error(capsys, d, "--mock-config", str(mocks))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({
        "StateMachines": {"orders": {"TestCases": {"T": {"Chrage": "R"}}}},
        "MockedResponses": {"R": {"0": {"Return": 1}}}}))
    assert "'Chrage'" in _error(capsys, d, "--mock-config", str(wrong), "--test-case", "T")


@pytest.mark.parametrize(("responses", "message"), [
    ({"R": {"1": {"Return": 1}}}, "attempt 0 is missing"),
    ({"R": {"0-1": {"Return": 1}, "1": {"Return": 2}}}, "attempt 2 is given twice"),
    ({"R": {"0": {"Return": 1, "Throw": {"Error": "E"}}}}, "exactly one of Return and Throw"),
    ({"R": {"0": {"Throw": {"Cause": "c"}}}}, "$.MockedResponses.R.0.Throw: needs Error"),
    ({"R": {"x": {"Return": 1}}}, "key 'x' is not an attempt number"),
    ({"R": {"2-1": {"Return": 1}}}, "not a range from low to high"),
    ({}, "no mocked response 'R'"),
])
def test_malformed_mock_configs_name_the_json_path(
        capsys: Capsys, files: tuple[Path, Path], tmp_path: Path,
        responses: dict[str, Any], message: str) -> None:
    definition, _ = files
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"StateMachines": {"orders": {"TestCases": {"T": {"Charge": "R"}}}},
                               "MockedResponses": responses}))
    line = _error(capsys, str(definition), "--mock-config", str(bad), "--test-case", "T")
    assert line.startswith(f"statemachine run: {bad}: ") and message in line, line


def test_states_inside_parallel_branches_are_mocked(capsys: Capsys, tmp_path: Path) -> None:
    definition = tmp_path / "fanout.json"
    never = "http://127.0.0.1:9/never-called"
    definition.write_text(json.dumps({"StartAt": "Both", "States": {"Both": {
        "Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "Left", "States": {"Left": {"Type": "Task", "Resource": never, "End": True}}},
            {"StartAt": "Right", "States": {"Right": {"Type": "Task", "Resource": never,
                                                      "End": True}}},
        ]}}}))
    mocks = tmp_path / "mocks.json"
    mocks.write_text(json.dumps({
        "StateMachines": {"fanout": {"TestCases": {"T": {"Left": "L", "Right": "R"}}}},
        "MockedResponses": {"L": {"0": {"Return": "left"}}, "R": {"0": {"Return": "right"}}}}))
    code, out = _run(capsys, str(definition), "--mock-config", str(mocks), "--test-case", "T")
    assert code == 0, out
    assert out["output"] == ["left", "right"]
