"""``serve --mock-config F``: a start on ``<stateMachineArn>#<TestCase>`` (boto3) or with
``{"testCase"}`` (REST) runs that test case of a Step Functions Local mock config.

A real ``cli.py serve`` (its private redis-server, two workers) with the mock config and a
definitions folder; a real local HTTP service for the unmocked states, which also proves that
no mocked state was performed (the mocked states point at its ``/never``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from statemachine.security.keys import ADMIN_KEY_ENV, new_key_id, new_secret
from tests.aws.conftest import ROOT, AwsService, _clean_env, describe_when_done, stop_service
from tests.aws.helpers import ROLE, code, execution_arn, machine_arn
from tests.testing.service_mocks import (
    Recorder,
    history_types,
    quick,
    recording_service,
    serve,
    write_files,
)

INPUT = json.dumps({"lines": ["a", "b", "c"]})


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    with recording_service() as found:
        yield found


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Iterator[AwsService]:
    workdir = tmp_path_factory.mktemp("mocks")
    definitions, mocks = write_files(workdir, recorder.base)
    running = serve(workdir, definitions, mocks)
    try:
        yield running
    finally:
        stop_service(running)


@pytest.fixture
def sfn(service: AwsService) -> Any:
    return service.client()


def _run(sfn: Any, case: str, name: str) -> dict[str, Any]:
    started = sfn.start_execution(stateMachineArn=f"{machine_arn('orders')}#{case}",
                                  name=name, input=INPUT)
    assert started["executionArn"] == execution_arn("orders", name)  # no "#case" in it
    described = describe_when_done(sfn, started["executionArn"])
    assert described["stateMachineArn"] == machine_arn("orders")
    return described


def test_happy_path_mocks_tasks_map_iterations_a_callback_and_an_activity(
        sfn: Any, recorder: Recorder) -> None:
    audited = len(recorder.bodies("/audit"))
    described = _run(sfn, "HappyPath", "happy")
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output == {"lines": ["a", "b", "c"], "charge": {"charged": 42},
                      "shipped": [{"shipped": True}] * 3, "notified": "sent",
                      "review": {"approved": True}, "audit": {"audited": audited + 1}}
    # the unmocked state called the real service with the mocked results before it; no
    # mocked state reached it
    assert recorder.bodies("/audit")[-1] == {k: v for k, v in output.items() if k != "audit"}
    assert recorder.bodies("/never") == []


def test_retry_path_throws_on_attempts_0_and_1_and_returns_on_2(
        sfn: Any, recorder: Recorder) -> None:
    described = _run(sfn, "RetryPath", "retry")
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["charge"] == {"charged": 7}
    failed = [what for kind, what in history_types(sfn, described["executionArn"])
              if kind == "TaskFailed"]
    assert failed == ["Payments.Busy", "Payments.Busy"]
    assert recorder.bodies("/never") == []


def test_catch_path_routes_the_thrown_error_to_the_unmocked_state(
        sfn: Any, recorder: Recorder) -> None:
    described = _run(sfn, "CatchPath", "catch")
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["failure"] == {"Error": "Payments.Declined", "Cause": "no funds"}
    assert recorder.bodies("/audit")[-1]["failure"]["Error"] == "Payments.Declined"
    states = [what for kind, what in history_types(sfn, described["executionArn"])
              if kind == "TaskStateEntered"]
    assert states == ["Charge", "Refund"]
    assert recorder.bodies("/never") == []


def test_a_start_without_a_case_runs_for_real(sfn: Any, recorder: Recorder) -> None:
    started = sfn.start_execution(stateMachineArn=machine_arn("orders"), name="real",
                                  input=INPUT)
    described = describe_when_done(sfn, started["executionArn"])
    assert described["status"] == "FAILED"  # Charge reached /never, which answers 500
    assert described["error"] == "States.Http.StatusCode.500"
    assert recorder.bodies("/never") == [{"lines": ["a", "b", "c"]}]  # the real call
    recorder.calls.pop("/never")


def test_unknown_test_cases_are_validation_errors(sfn: Any) -> None:
    for arn, words in ((f"{machine_arn('orders')}#Nope", "no test case 'Nope'"),
                       (f"{machine_arn('orders')}#", "non-empty"),
                       (f"{machine_arn('hello')}#HappyPath", "no state machine 'hello'")):
        with pytest.raises(ClientError) as error:
            sfn.start_execution(stateMachineArn=arn, input=INPUT)
        assert code(error) == "ValidationException"
        assert words in error.value.response["Error"]["Message"]


def test_an_express_machine_runs_a_case_synchronously(
        service: AwsService, recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore sends StartSyncExecution to "sync-<host>": off for a self-hosted endpoint
    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    sfn = service.client()
    sfn.create_state_machine(name="quick", definition=json.dumps(quick(recorder.base)),
                             roleArn=ROLE, type="EXPRESS")
    done = sfn.start_sync_execution(stateMachineArn=f"{machine_arn('quick')}#Fast", input="{}")
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"fast": True}
    with pytest.raises(ClientError) as error:
        sfn.start_sync_execution(stateMachineArn=f"{machine_arn('quick')}#Slow", input="{}")
    assert code(error) == "ValidationException"
    status, ran = _rest(service, "POST", "/v1/state-machines/quick/executions/sync",
                        {"testCase": "Fast"})
    assert status == 200 and ran["output"] == {"fast": True}, ran
    assert recorder.bodies("/never") == []


def _rest(service: AwsService, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{service.endpoint}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {service.secret}",
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_rest_starts_take_a_test_case(service: AwsService, sfn: Any, recorder: Recorder) -> None:
    status, started = _rest(service, "POST", "/v1/state-machines/orders/executions",
                            {"input": json.loads(INPUT), "testCase": "HappyPath"})
    assert status == 201, started
    describe_when_done(sfn, execution_arn("orders", started["name"]))
    status, described = _rest(service, "GET", f"/v1/executions/{started['executionId']}")
    assert status == 200 and described["status"] == "SUCCEEDED", described
    assert described["testCase"] == "HappyPath"
    assert described["output"]["charge"] == {"charged": 42}
    status, refused = _rest(service, "POST", "/v1/state-machines/orders/executions",
                            {"testCase": "Nope"})
    assert status == 400 and refused["error"] == "InvalidTestCase", refused
    assert "no test case 'Nope'" in refused["message"]
    status, refused = _rest(service, "POST", "/v1/state-machines/orders/executions",
                            {"testCase": 7})
    assert status == 400 and refused["error"] == "InvalidType", refused
    assert recorder.bodies("/never") == []


def test_the_same_name_with_another_case_is_another_execution(sfn: Any) -> None:
    arn = machine_arn("orders")
    sfn.start_execution(stateMachineArn=f"{arn}#HappyPath", name="twice", input=INPUT)
    again = sfn.start_execution(stateMachineArn=f"{arn}#HappyPath", name="twice", input=INPUT)
    assert again["executionArn"] == execution_arn("orders", "twice")  # idempotent
    with pytest.raises(ClientError) as error:
        sfn.start_execution(stateMachineArn=f"{arn}#CatchPath", name="twice", input=INPUT)
    assert code(error) == "ExecutionAlreadyExists"


# -- serve refuses a mock config it cannot use ------------------------------------------------


def _serve_refuses(workdir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``serve`` expecting exit 2; its one line of refusal (the others on stderr say
    what it did before: the private redis-server started and stopped, files registered)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--port", "0", "--workers", "0", *args],
        check=False, cwd=workdir, capture_output=True, text=True, timeout=60,
        env={**_clean_env(), ADMIN_KEY_ENV: f"{new_key_id()}:{new_secret()}", **(env or {})})
    assert done.returncode == 2, done.stderr
    refusals = [line for line in done.stderr.splitlines()
                if line.startswith("statemachine serve:")]
    assert len(refusals) == 1 and "Traceback" not in done.stderr, done.stderr
    return refusals[0]


def test_serve_refuses_a_bad_mock_config_with_one_line(tmp_path: Path, recorder: Recorder) -> None:
    definitions, _ = write_files(tmp_path, recorder.base)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    line = _serve_refuses(tmp_path, "--definitions", str(definitions), "--mock-config",
                          str(broken))
    assert line.startswith(f"statemachine serve: {broken}: not valid JSON"), line
    missing = tmp_path / "missing.json"
    line = _serve_refuses(tmp_path, "--mock-config", str(missing))
    assert line == f"statemachine serve: {missing}: No such file or directory", line


def test_serve_refuses_a_case_that_mocks_a_state_its_machine_lacks(
        tmp_path: Path, recorder: Recorder) -> None:
    definitions, _ = write_files(tmp_path, recorder.base)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({
        "StateMachines": {"orders": {"TestCases": {"Typo": {"Chrage": "R"}}},
                          "unregistered": {"TestCases": {"Any": {"Whatever": "R"}}}},
        "MockedResponses": {"R": {"0": {"Return": 1}}}}))
    # through the environment variable this time
    line = _serve_refuses(tmp_path, "--definitions", str(definitions),
                          env={"STATEMACHINE_MOCK_CONFIG": str(wrong)})
    assert line == (f"statemachine serve: {wrong}: test case 'Typo' of state machine 'orders' "
                    "mocks 'Chrage', which the state machine has no Task state of that name "
                    "for"), line
