"""``aws-sdk:sfn:*`` through a real ``cli.py serve``: Step Functions is this service, so the
calls reach its own machines and executions (not an AWS endpoint), with AWS's SDK
integration shapes and error names; ``STATEMACHINE_AWS_ENDPOINT_SFN`` sends them elsewhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.aws.conftest import REGION, AwsService, describe_when_done, start_service, stop_service
from tests.aws.test_nested import PASS_CHILD, machine, run
from tests.conftest import FAKE_AWS_ENV

SDK = "arn:aws:states:::aws-sdk:sfn"


def test_start_then_describe_a_child_of_this_service(
        sfn: Any, wait_done: Callable[..., dict[str, Any]]) -> None:
    child = machine(sfn, "sdk-sfn-child", PASS_CHILD)
    parent = run(sfn, wait_done, "sdk-sfn-parent", {"StartAt": "Start", "States": {
        "Start": {"Type": "Task", "Resource": f"{SDK}:startExecution",
                  "Parameters": {"StateMachineArn": child, "Name": "sdk-child",
                                 "Input": {"hello": "world"}},
                  "ResultPath": "$.started", "Next": "Describe"},
        "Describe": {"Type": "Task", "Resource": f"{SDK}:describeExecution",
                     "Parameters": {"ExecutionArn.$": "$.started.ExecutionArn"},
                     "Retry": [{"ErrorEquals": ["States.ALL"]}], "End": True}}})
    assert parent["status"] == "SUCCEEDED", parent
    described = json.loads(parent["output"])
    assert described["ExecutionArn"].endswith(":execution:sdk-sfn-child:sdk-child")
    assert described["StateMachineArn"] == child
    assert described["Name"] == "sdk-child"
    assert json.loads(described["Input"]) == {"hello": "world"}  # JSON text, as the SDK's
    assert described["StartDate"].endswith("Z")  # a timestamp in ISO 8601, as AWS writes it
    assert "SdkHttpMetadata" not in described  # an SDK integration's result is the response


def test_a_refusal_is_caught_by_its_sdk_name(
        sfn: Any, wait_done: Callable[..., dict[str, Any]]) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:execution:no-such-machine:nobody"
    parent = run(sfn, wait_done, "sdk-sfn-refused", {"StartAt": "Describe", "States": {
        "Describe": {"Type": "Task", "Resource": f"{SDK}:describeExecution",
                     "Parameters": {"ExecutionArn": missing},
                     "Catch": [{"ErrorEquals": ["Sfn.ExecutionDoesNotExistException"],
                                "Next": "Caught"}], "End": True},
        "Caught": {"Type": "Pass", "End": True}}})
    assert parent["status"] == "SUCCEEDED", parent
    caught = json.loads(parent["output"])
    assert caught["Error"] == "Sfn.ExecutionDoesNotExistException"
    assert "(Service: Sfn, Status Code: 400, Request ID: " in caught["Cause"]


def test_a_child_answers_its_parents_token_through_send_task_success(
        sfn: Any, wait_done: Callable[..., dict[str, Any]]) -> None:
    child = machine(sfn, "sdk-sfn-answering-child", {"StartAt": "Answer", "States": {
        "Answer": {"Type": "Task", "Resource": f"{SDK}:sendTaskSuccess",
                   "Parameters": {"TaskToken.$": "$.token", "Output": {"answered": True}},
                   "End": True}}})
    parent = run(sfn, wait_done, "sdk-sfn-waiting-parent", {"StartAt": "Wait", "States": {
        "Wait": {"Type": "Task",
                 "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                 "Parameters": {"StateMachineArn": child,
                                "Input": {"token.$": "$$.Task.Token"}},
                 "TimeoutSeconds": 60, "End": True}}})
    assert parent["status"] == "SUCCEEDED", parent
    assert json.loads(parent["output"]) == {"answered": True}


@pytest.fixture(scope="module")
def sfn_elsewhere(moto_url: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A service whose aws-sdk:sfn calls go to moto's Step Functions."""
    env = {**FAKE_AWS_ENV, "STATEMACHINE_AWS_ENDPOINT_SFN": moto_url}
    service = start_service(Path(tmp_path_factory.mktemp("sfn-elsewhere")), env=env)
    try:
        yield service
    finally:
        stop_service(service)


def test_the_sfn_endpoint_setting_sends_the_calls_elsewhere(
        sfn_elsewhere: AwsService, moto_url: str) -> None:
    moto = boto3.client("stepfunctions", endpoint_url=moto_url, region_name=REGION)
    moto.create_state_machine(name="only-in-moto", roleArn="arn:aws:iam::123456789012:role/r",
                              definition=json.dumps(PASS_CHILD))
    ours = sfn_elsewhere.client()
    arn = machine(ours, "sdk-sfn-lister", {"StartAt": "List", "States": {
        "List": {"Type": "Task", "Resource": f"{SDK}:listStateMachines",
                 "Parameters": {}, "End": True}}})
    started = ours.start_execution(stateMachineArn=arn, input="{}")
    done = describe_when_done(ours, started["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    names = [m["Name"] for m in json.loads(done["output"])["StateMachines"]]
    assert "only-in-moto" in names and "sdk-sfn-lister" not in names  # moto's, not ours


def test_start_sync_execution_runs_an_express_child_to_its_end(
        sfn: Any, wait_done: Callable[..., dict[str, Any]]) -> None:
    child = sfn.create_state_machine(
        name="sdk-sfn-express-child", definition=json.dumps(PASS_CHILD), type="EXPRESS",
        roleArn="arn:aws:iam::123456789012:role/sfn-role")["stateMachineArn"]
    parent = run(sfn, wait_done, "sdk-sfn-sync-parent", {"StartAt": "Run", "States": {
        "Run": {"Type": "Task", "Resource": f"{SDK}:startSyncExecution",
                "Parameters": {"StateMachineArn": child, "Input": {"n": 1}}, "End": True}}})
    assert parent["status"] == "SUCCEEDED", parent
    result = json.loads(parent["output"])
    assert result["Status"] == "SUCCEEDED"
    assert json.loads(result["Output"]) == {"n": 1, "made": {"Arg1": "argument1"}}


def test_test_state_may_do_only_what_its_callers_key_may(aws_service: AwsService) -> None:
    """TestState runs the caller's own definition: an operator's cannot create activities
    (an admin's operation) through aws-sdk:sfn; an admin's can."""
    state = {"Type": "Task", "Resource": f"{SDK}:createActivity",
             "Parameters": {"Name": "made-by-test-state"}, "End": True}
    def client(key_id: str, secret: str) -> Any:  # TestState's host prefix off: a local port
        return boto3.client("stepfunctions", endpoint_url=aws_service.endpoint,
                            region_name=REGION, aws_access_key_id=key_id,
                            aws_secret_access_key=secret,
                            config=Config(retries={"max_attempts": 1}, inject_host_prefix=False))

    refused = client(*aws_service.create_key("operator")).test_state(definition=json.dumps(state), input="{}",
                                  roleArn="arn:aws:iam::123456789012:role/r")
    assert refused["status"] == "FAILED", refused
    assert "may not perform states:CreateActivity" in refused["cause"]
    made = client(aws_service.key_id, aws_service.secret).test_state(definition=json.dumps(state), input="{}",
                                           roleArn="arn:aws:iam::123456789012:role/r")
    assert made["status"] == "SUCCEEDED", made
    assert json.loads(made["output"])["ActivityArn"].endswith(":activity:made-by-test-state")
