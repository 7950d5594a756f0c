"""``cli.py mocks`` and ``cli.py replay`` against a real ``serve`` and a real task service.

The recorded executions take a retry path, a catch path, a Map (whose iterations interleave
in the durable history) and a callback answered over the API.  Their mock configs drive
``cli.py run`` to the recorded output; replaying them against the same definition is
compatible; a renamed state and a changed Choice rule diverge at the right event.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from statemachine.cli import main as cli_main
from statemachine.language.mocks import MockReturn, parse_mock_config
from statemachine.testing.record import attempt_ranges
from tests.conftest import admin_key_env, app_in_thread, free_port

ROOT = Path(__file__).resolve().parents[2]
Capsys = pytest.CaptureFixture[str]

ORDERS = """\
StartAt: Charge
States:
  Charge:
    Type: Task
    Resource: {service}/charge
    ResultSelector: {{"amount.$": "$.amount"}}
    ResultPath: $.charge
    Retry: [{{ErrorEquals: [States.Http.StatusCode.503], IntervalSeconds: 1, MaxAttempts: 3}}]
    Catch: [{{ErrorEquals: [States.Http.StatusCode.402], ResultPath: $.failure, Next: Declined}}]
    Next: Route
  Route:
    Type: Choice
    Choices: [{{Variable: $.charge.amount, NumericGreaterThanEquals: 100, Next: Review}}]
    Default: Lines
  Review:
    Type: Task
    Resource: arn:aws:states:::http:invoke.waitForTaskToken
    Parameters:
      ApiEndpoint: {service}/review
      Method: POST
      RequestBody: {{"token.$": "$$.Task.Token", "order.$": "$.order"}}
    ResultPath: $.review
    Next: Lines
  Lines:
    Type: Map
    ItemsPath: $.lines
    ResultPath: $.packed
    ItemProcessor:
      StartAt: Pack
      States:
        Pack: {{Type: Task, Resource: "{service}/pack", Next: Check}}
        Check: {{Type: Pass, End: true}}
    End: true
  Declined: {{Type: Pass, End: true}}
"""

INPUTS = {
    "retry": {"order": "flaky", "amount": 50, "lines": ["a", "b"]},
    "catch": {"order": "declined", "amount": 5, "lines": []},
    "callback": {"order": "big", "amount": 150, "lines": ["x"]},
    "fragile": {"order": "glass", "amount": 20, "lines": ["glass", "cup"]},
}


@dataclass
class Recorded:
    api: str
    folder: Path
    definition: Path
    ids: dict[str, str]  # INPUTS key -> execution id
    described: dict[str, dict[str, Any]]


def _tasks_app(tokens: list[str]) -> web.Application:
    """The real task service: Charge fails once with 503 for "flaky" and with 402 for
    "declined"; Pack says whether an item is fragile; Review keeps the task token."""
    calls: dict[str, int] = {}

    async def charge(request: web.Request) -> web.Response:
        body = await request.json()
        order = body["order"]
        calls[order] = calls.get(order, 0) + 1
        if order == "flaky" and calls[order] == 1:
            return web.json_response({"busy": True}, status=503)
        if order == "declined":
            return web.json_response({"declined": True}, status=402)
        return web.json_response({"amount": body["amount"], "receipt": f"r-{order}"})

    async def pack(request: web.Request) -> web.Response:
        return web.json_response({"packed": True, "fragile": await request.json() == "glass"})

    async def review(request: web.Request) -> web.Response:
        tokens.append((await request.json())["token"])
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/charge", charge)
    app.router.add_post("/pack", pack)
    app.router.add_post("/review", review)
    return app


def _call(api: str, key: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        api + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def _until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    folder = tmp_path_factory.mktemp("record")
    definitions = folder / "defs"
    definitions.mkdir()
    tokens: list[str] = []
    key_env = admin_key_env()
    secret = next(iter(key_env.values())).partition(":")[2]
    saved = {k: os.environ.get(k) for k in key_env}
    os.environ.update(key_env)  # the in-process CLI commands send this key
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "STATEMACHINE_API")}
    with app_in_thread(_tasks_app(tokens), "tasks") as service, \
            (folder / "serve.log").open("w") as log:
        definition = definitions / "orders.yaml"
        definition.write_text(ORDERS.format(service=service))
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port), "--workers", "2",
             "--definitions", str(definitions)],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            _until(lambda: _healthy(api, proc), "serve to answer")
            ids = {case: _call(api, secret, "POST", "/v1/state-machines/orders/executions",
                               {"input": value, "name": case})["executionId"]
                   for case, value in INPUTS.items()}
            token = _until(lambda: tokens[0] if tokens else None, "the Review callback")
            _call(api, secret, "POST", "/v1/tasks/success",
                  {"taskToken": token, "output": {"approved": True}})

            def finished() -> dict[str, dict[str, Any]] | None:
                described = {case: _call(api, secret, "GET", f"/v1/executions/{i}")
                             for case, i in ids.items()}
                done = all(d["status"] != "RUNNING" for d in described.values())
                return described if done else None

            described = _until(finished, "the executions to end")
            yield Recorded(api, folder, definition, ids, described)
        finally:
            proc.terminate()
            proc.wait(20)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _healthy(api: str, proc: subprocess.Popen[str]) -> bool:
    assert proc.poll() is None, "serve exited early"
    try:
        with urllib.request.urlopen(f"{api}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _cli(capsys: Capsys, *args: str) -> tuple[int, str, str]:
    code = cli_main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _history(capsys: Capsys, rec: Recorded, case: str) -> list[dict[str, Any]]:
    code, out, _ = _cli(capsys, "history", rec.ids[case], "--json", "--api", rec.api)
    assert code == 0
    events: list[dict[str, Any]] = json.loads(out)["events"]
    return events


def _event_id(events: list[dict[str, Any]], kind: str, state: str) -> int:
    return int(next(e["id"] for e in events if e["type"] == kind
                    and e.get("stateEnteredEventDetails", {}).get("name") == state))


def test_the_recorded_executions_took_their_paths(recorded: Recorded) -> None:
    statuses = {case: d["status"] for case, d in recorded.described.items()}
    assert statuses == dict.fromkeys(INPUTS, "SUCCEEDED")
    assert recorded.described["catch"]["output"]["failure"]["Error"] == "States.Http.StatusCode.402"
    assert recorded.described["callback"]["output"]["review"] == {"approved": True}


@pytest.mark.parametrize("case", ["retry", "catch", "callback"])
def test_mocks_drive_run_to_the_recorded_result(capsys: Capsys, recorded: Recorded,
                                                tmp_path: Path, case: str) -> None:
    code, config, err = _cli(capsys, "mocks", recorded.ids[case], "--api", recorded.api)
    assert code == 0 and err == ""
    mocks = tmp_path / "MockConfigFile.json"
    mocks.write_text(config)
    parsed = parse_mock_config(mocks.read_bytes(), str(mocks)).case("orders", "Recorded")
    if case == "retry":  # attempt 0 threw the 503, attempt 1 returned the raw result
        charge = json.loads(config)["MockedResponses"]["Charge.Recorded"]
        assert charge == {"0": {"Throw": {"Error": "States.Http.StatusCode.503",
                                          "Cause": '{"busy": true}'}},
                          "1": {"Return": {"amount": 50, "receipt": "r-flaky"}}}
    if case == "callback":
        assert parsed.outcome("Review", 0) == MockReturn({"approved": True})
    code, out, err = _cli(capsys, "run", str(recorded.definition), "--input",
                          json.dumps(INPUTS[case]), "--mock-config", str(mocks),
                          "--test-case", "Recorded", "--skip-time")
    assert code == 0, err
    result = json.loads(out)
    described = recorded.described[case]
    assert (result["status"], result["output"]) == (described["status"], described["output"])


def test_mocks_warns_when_map_iterations_were_answered_differently(
        capsys: Capsys, recorded: Recorded) -> None:
    code, config, err = _cli(capsys, "mocks", recorded.ids["fragile"], "--case", "Glass",
                             "--machine", "shop", "--api", recorded.api)
    assert code == 0
    assert err.count("\n") == 1 and "warning" in err and "'Pack'" in err
    parsed = json.loads(config)
    assert parsed["StateMachines"]["shop"]["TestCases"]["Glass"]["Pack"] == "Pack.Glass"
    # the first iteration's answer is kept: the history's first Pack result
    events = _history(capsys, recorded, "fragile")
    first = next(e for e in events if e["type"] == "TaskSucceeded"
                 and "fragile" in e["taskSucceededEventDetails"]["output"])
    kept = json.loads(first["taskSucceededEventDetails"]["output"])
    assert parsed["MockedResponses"]["Pack.Glass"] == {"0": {"Return": kept}}


def test_replay_against_the_same_definition_is_compatible(capsys: Capsys,
                                                          recorded: Recorded) -> None:
    code, out, err = _cli(capsys, "replay", *recorded.ids.values(), "--definition",
                          str(recorded.definition), "--api", recorded.api)
    assert code == 0, out + err
    assert [line.split()[-1] for line in out.splitlines()[:-1]] == ["compatible"] * len(INPUTS)
    assert out.splitlines()[-1] == "4 replayed against orders.yaml: 4 compatible, 0 diverging"
    code, out, _ = _cli(capsys, "replay", "--last", "10", "--machine", "orders", "--json",
                        "--definition", str(recorded.definition), "--api", recorded.api)
    report = json.loads(out)
    assert code == 0 and report["compatible"] is True
    assert sorted(e["executionId"] for e in report["executions"]) == sorted(recorded.ids.values())


def _replay_changed(capsys: Capsys, recorded: Recorded, tmp_path: Path,
                    old: str, new: str) -> tuple[int, dict[str, Any]]:
    changed = tmp_path / "orders-v2.yaml"
    text = recorded.definition.read_text()
    assert old in text
    changed.write_text(text.replace(old, new))
    code, out, _ = _cli(capsys, "replay", *recorded.ids.values(), "--definition", str(changed),
                        "--json", "--api", recorded.api)
    report = json.loads(out)
    by_case = {case: next(e for e in report["executions"] if e["executionId"] == i)
               for case, i in recorded.ids.items()}
    return code, by_case


def test_a_renamed_state_diverges_where_it_was_entered(capsys: Capsys, recorded: Recorded,
                                                       tmp_path: Path) -> None:
    code, by_case = _replay_changed(capsys, recorded, tmp_path, "Route", "Decide")
    assert code == 1
    assert by_case["catch"]["compatible"] is True  # it never reached the Choice
    divergence = by_case["retry"]["divergence"]
    events = _history(capsys, recorded, "retry")
    assert divergence["eventId"] == _event_id(events, "ChoiceStateEntered", "Route")
    assert divergence["state"] == "Route"
    assert divergence["recorded"].startswith("ChoiceStateEntered Route ")
    assert divergence["now"].startswith("ChoiceStateEntered Decide ")


def test_a_renamed_state_inside_a_map_diverges(capsys: Capsys, recorded: Recorded,
                                               tmp_path: Path) -> None:
    code, by_case = _replay_changed(capsys, recorded, tmp_path, "Check", "Verify")
    assert code == 1
    divergence = by_case["retry"]["divergence"]
    events = _history(capsys, recorded, "retry")
    assert divergence["eventId"] == _event_id(events, "PassStateEntered", "Check")
    assert divergence["state"] == "Check" and divergence["now"].startswith("PassStateEntered Verify")


def test_a_changed_choice_rule_diverges_at_the_branch_taken(capsys: Capsys, recorded: Recorded,
                                                            tmp_path: Path) -> None:
    code, by_case = _replay_changed(capsys, recorded, tmp_path, "NumericGreaterThanEquals: 100",
                                    "NumericGreaterThanEquals: 40")
    assert code == 1
    assert by_case["callback"]["compatible"] and by_case["catch"]["compatible"]
    assert by_case["fragile"]["compatible"]  # 20 is below either threshold
    divergence = by_case["retry"]["divergence"]  # 50: Lines then, Review now
    events = _history(capsys, recorded, "retry")
    assert divergence["eventId"] == _event_id(events, "MapStateEntered", "Lines")
    assert divergence["state"] == "Lines"
    assert divergence["now"].startswith("TaskStateEntered Review")


def test_the_human_report_names_event_state_and_both_sides(capsys: Capsys, recorded: Recorded,
                                                           tmp_path: Path) -> None:
    changed = tmp_path / "renamed.yaml"
    changed.write_text(recorded.definition.read_text().replace("Route", "Decide"))
    code, out, _ = _cli(capsys, "replay", recorded.ids["retry"], "--definition", str(changed),
                        "--api", recorded.api)
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith(f"{recorded.ids['retry']}  diverges at event ")
    assert lines[0].endswith(", state Route")
    assert lines[1].startswith("    recorded: ChoiceStateEntered Route")
    assert lines[2].startswith("    now:      ChoiceStateEntered Decide")


@pytest.mark.parametrize("args, says", [
    (["replay", "{retry}", "--definition", "missing.yaml"], "missing.yaml: no such file"),
    (["replay", "no-such-execution", "--definition", "{definition}"],
     "no execution 'no-such-execution'"),
    (["replay", "--last", "3", "--machine", "nope", "--definition", "{definition}"],
     "no state machine 'nope'"),
    (["replay", "--definition", "{definition}"], "give execution ids"),
    (["mocks", "no-such-execution"], "no execution 'no-such-execution'"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: Capsys, recorded: Recorded, tmp_path: Path,
                                          args: list[str], says: str) -> None:
    filled = [a.format(retry=recorded.ids["retry"], definition=recorded.definition)
              for a in args]
    missing = [str(tmp_path / a) if a == "missing.yaml" else a for a in filled]
    code, out, err = _cli(capsys, *missing, "--api", recorded.api)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and says in err


def test_attempt_ranges_join_consecutive_equal_answers() -> None:
    from statemachine.language.mocks import MockThrow

    busy = MockThrow("Busy", "later")
    assert attempt_ranges([busy, busy, MockReturn(1), MockReturn(1), busy]) == {
        "0-1": {"Throw": {"Error": "Busy", "Cause": "later"}},
        "2-3": {"Return": 1},
        "4": {"Throw": {"Error": "Busy", "Cause": "later"}},
    }
