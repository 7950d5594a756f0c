"""A state machine's ``loggingConfiguration`` through the AWS API (boto3) against a real
``cli.py serve``: CreateStateMachine and UpdateStateMachine take it, DescribeStateMachine
gives it back, with AWS's ``InvalidLoggingConfiguration`` for a bad one; an execution of such
a machine is logged on serve's stdout (JSON lines, every one naming it) and its log read back
over REST."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.aws.conftest import AwsService
from tests.aws.helpers import code

PREFIX = "arn:aws:states:us-east-1:123456789012"
ROLE = "arn:aws:iam::123456789012:role/sfn"
GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/orders:*"
DESTINATION = [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP}}]
FLOW = json.dumps({"StartAt": "Check", "States": {
    "Check": {"Type": "Pass", "Next": "Boom"},
    "Boom": {"Type": "Fail", "Error": "Custom.Boom", "Cause": "it broke"}}})


def _refused(call: Any, error: str, **kwargs: Any) -> None:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    assert code(refused) == error, refused.value.response


def test_the_configuration_round_trips(sfn: Any) -> None:
    arn = sfn.create_state_machine(
        name="logged", definition=FLOW, roleArn=ROLE, publish=True,
        loggingConfiguration={"level": "ERROR", "includeExecutionData": True,
                              "destinations": DESTINATION})["stateMachineArn"]
    described = sfn.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"]
    assert described == {"level": "ERROR", "includeExecutionData": True,
                         "destinations": DESTINATION}
    sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration={
        "level": "FATAL", "destinations": DESTINATION})
    assert sfn.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"] == {
        "level": "FATAL", "includeExecutionData": False, "destinations": DESTINATION}
    version = sfn.describe_state_machine(stateMachineArn=f"{arn}:1")  # as published
    assert version["loggingConfiguration"]["level"] == "ERROR"
    sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration={"level": "OFF"})
    assert sfn.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"] == {
        "level": "OFF", "includeExecutionData": False}
    sfn.delete_state_machine(stateMachineArn=arn)


@pytest.mark.parametrize("config", [
    {"level": "ALL"},  # AWS needs a destination for a level other than OFF
    {"level": "ALL", "destinations": DESTINATION * 2},
    {"level": "ALL", "destinations": [{"cloudWatchLogsLogGroup": {
        "logGroupArn": GROUP.removesuffix(":*")}}]},
    {"level": "ALL", "destinations": [{}]},
])
def test_a_bad_configuration_is_refused(sfn: Any, config: dict[str, Any]) -> None:
    _refused(sfn.create_state_machine, "InvalidLoggingConfiguration", name="refused",
             definition=FLOW, roleArn=ROLE, loggingConfiguration=config)
    _refused(sfn.describe_state_machine, "StateMachineDoesNotExist",
             stateMachineArn=f"{PREFIX}:stateMachine:refused")
    sfn.create_state_machine(name="kept", definition=FLOW, roleArn=ROLE)
    _refused(sfn.update_state_machine, "InvalidLoggingConfiguration",
             stateMachineArn=f"{PREFIX}:stateMachine:kept", loggingConfiguration=config)
    sfn.delete_state_machine(stateMachineArn=f"{PREFIX}:stateMachine:kept")


def test_an_execution_is_logged_on_stdout_and_read_back(sfn: Any, aws_service: AwsService,
                                                        wait_done: Any) -> None:
    arn = sfn.create_state_machine(
        name="traced", definition=FLOW, roleArn=ROLE,
        loggingConfiguration={"level": "ALL", "destinations": DESTINATION})["stateMachineArn"]
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"n": 1}))
    assert wait_done(started["executionArn"])["status"] == "FAILED"
    execution_id = started["executionArn"].rsplit(":", 1)[1]  # unnamed: its name is its id
    request = urllib.request.Request(f"{aws_service.endpoint}/v1/executions/{execution_id}/logs",
                                     headers={"Authorization": f"Bearer {aws_service.secret}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        log = json.loads(response.read())
    assert [e["type"] for e in log["events"]] == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "FailStateEntered",
        "ExecutionFailed"]
    assert {e["execution_arn"] for e in log["events"]} == {started["executionArn"]}

    deadline = time.monotonic() + 10
    while True:  # the lines of a moment are written together, a fraction of a second later
        lines = [json.loads(line) for line in
                 (aws_service.workdir / "serve.log").read_text().splitlines()
                 if line.startswith("{") and execution_id in line]
        if len(lines) >= 6 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert all(line.get("executionId") == execution_id for line in lines), lines
    audit = [line for line in lines if line["logger"] == "statemachine.audit"]
    assert [line["operation"] for line in audit] == ["StartExecution"]
    events = [line for line in lines if line["logger"] == "statemachine.execution"]
    assert [(str(line["eventId"]), line["type"]) for line in events] == [
        (e["id"], e["type"]) for e in log["events"]]
    assert events[-1]["level"] == "ERROR" and events[-1]["error"] == "Custom.Boom"
    assert {line["machine"] for line in events} == {"traced"}
