"""Nested executions through a real ``cli.py serve``: ``arn:aws:states:::states:startExecution``
in its four forms, driven by boto3 as a user would (children are machines made with
CreateStateMachine), and the parent link the REST API shows."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.aws.conftest import AwsService

ROLE = "arn:aws:iam::123456789012:role/sfn-role"
ACCOUNT_ARN = "arn:aws:states:us-east-1:123456789012"


def machine(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    arn: str = sfn.create_state_machine(name=name, definition=json.dumps(definition),
                                        roleArn=ROLE)["stateMachineArn"]
    return arn


def task(resource: str, parameters: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {"StartAt": "Nested", "States": {"Nested": {
        "Type": "Task", "Resource": f"arn:aws:states:::states:startExecution{resource}",
        "Parameters": parameters, "End": True, **rest}}}


def run(sfn: Any, wait_done: Callable[..., dict[str, Any]], name: str,
        definition: dict[str, Any], data: Any = None) -> dict[str, Any]:
    arn = machine(sfn, name, definition)
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps(data or {}))
    return wait_done(started["executionArn"])


def rest_describe(service: AwsService, execution_id: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{service.endpoint}/v1/executions/{execution_id}",
                                     headers={"Authorization": f"Bearer {service.secret}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        described: dict[str, Any] = json.loads(response.read())
    return described


def rest_id(service: AwsService, machine_name: str, name: str) -> str:
    """The REST id of ``machine_name``'s execution ``name`` (from the REST listing)."""
    request = urllib.request.Request(
        f"{service.endpoint}/v1/executions?stateMachine={machine_name}&limit=100",
        headers={"Authorization": f"Bearer {service.secret}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        listed = json.loads(response.read())["executions"]
    found = [e["executionId"] for e in listed if e["name"] == name]
    assert len(found) == 1, listed
    return str(found[0])


def wait_started(sfn: Any, execution_arn: str) -> None:
    """Until the workers have started the nested execution ``execution_arn``."""
    deadline = time.monotonic() + 30
    while True:
        try:
            sfn.describe_execution(executionArn=execution_arn)
            return
        except sfn.exceptions.ExecutionDoesNotExist:
            assert time.monotonic() < deadline, f"{execution_arn} was never started"
            time.sleep(0.05)


PASS_CHILD: dict[str, Any] = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"Arg1": "argument1"},
                                                "ResultPath": "$.made", "End": True}}}


def test_request_response_starts_the_child_and_returns_at_once(
        aws_service: AwsService, sfn: Any, wait_done: Callable[..., dict[str, Any]]) -> None:
    child = machine(sfn, "nested-rr-child", PASS_CHILD)
    parent = run(sfn, wait_done, "nested-rr", task("", {
        "StateMachineArn": child, "Input": {"hello": "world"}, "Name": "first"}))
    assert parent["status"] == "SUCCEEDED", parent
    output = json.loads(parent["output"])
    assert output["ExecutionArn"] == f"{ACCOUNT_ARN}:execution:nested-rr-child:first"
    assert isinstance(output["StartDate"], int)
    assert output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    done = wait_done(output["ExecutionArn"])
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"hello": "world", "made": {"Arg1": "argument1"}}
    child_id = rest_id(aws_service, "nested-rr-child", "first")
    assert rest_describe(aws_service, child_id)["startedBy"]["pattern"] == "request"


def test_sync_waits_and_gives_the_description_with_json_text(
        aws_service: AwsService, sfn: Any, wait_done: Callable[..., dict[str, Any]]) -> None:
    child = machine(sfn, "nested-sync-child", {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "P"}, **PASS_CHILD["States"]}})
    parent = run(sfn, wait_done, "nested-sync", task(".sync", {
        "StateMachineArn": child, "Input": json.dumps({"n": 1}),
        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}))
    assert parent["status"] == "SUCCEEDED", parent
    output = json.loads(parent["output"])
    assert output["Status"] == "SUCCEEDED"
    assert json.loads(output["Input"]) == {"n": 1}
    assert json.loads(output["Output"]) == {"n": 1, "made": {"Arg1": "argument1"}}
    assert output["StateMachineArn"] == child
    assert output["StopDate"] >= output["StartDate"]
    # the parent lists the child it started; the child names its parent
    parent_id = rest_id(aws_service, "nested-sync", parent["name"])
    nested = rest_describe(aws_service, parent_id)["nestedExecutions"]
    assert [n["pattern"] for n in nested] == ["sync"]
    child_described = rest_describe(aws_service, nested[0]["executionId"])
    assert child_described["startedBy"] == {"executionId": parent_id, "pattern": "sync"}


def test_sync2_gives_input_and_output_as_json(
        sfn: Any, wait_done: Callable[..., dict[str, Any]]) -> None:
    child = machine(sfn, "nested-sync2-child", PASS_CHILD)
    parent = run(sfn, wait_done, "nested-sync2", task(".sync:2", {
        "StateMachineArn": child, "Input.$": "$"}), {"k": [1, 2]})
    assert parent["status"] == "SUCCEEDED", parent
    output = json.loads(parent["output"])
    assert output["Input"] == {"k": [1, 2]}
    assert output["Output"] == {"k": [1, 2], "made": {"Arg1": "argument1"}}
    assert output["OutputDetails"] == {"Included": True}
    # AWS notes the child's start between TaskStarted and the end: TaskSubmitted
    events = sfn.get_execution_history(executionArn=parent["executionArn"])["events"]
    [submitted] = [e for e in events if e["type"] == "TaskSubmitted"]
    details = submitted["taskSubmittedEventDetails"]
    assert details["resourceType"] == "states"
    assert details["resource"] == "startExecution.sync:2"
    assert json.loads(details["output"])["ExecutionArn"].endswith(":nested-sync2-child:" + (
        json.loads(parent["output"])["Name"]))
    assert "SdkHttpMetadata" in json.loads(details["output"])
    types = [e["type"] for e in events]
    assert types.index("TaskScheduled") < types.index("TaskSubmitted") < types.index(
        "TaskSucceeded")


def test_wait_for_task_token_waits_for_the_child_to_call_back(
        sfn: Any, wait_done: Callable[..., dict[str, Any]]) -> None:
    child = machine(sfn, "nested-token-child", {"StartAt": "P", "States": {"P": {
        "Type": "Pass", "End": True}}})
    arn = machine(sfn, "nested-token", task(".waitForTaskToken", {
        "StateMachineArn": child, "Name": "called-back",
        "Input": {"token.$": "$$.Task.Token"}}))
    started = sfn.start_execution(stateMachineArn=arn, input="{}")
    child_arn = f"{ACCOUNT_ARN}:execution:nested-token-child:called-back"
    wait_started(sfn, child_arn)
    done_child = wait_done(child_arn)
    assert done_child["status"] == "SUCCEEDED"
    token = json.loads(done_child["output"])["token"]
    assert sfn.describe_execution(executionArn=started["executionArn"])["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output=json.dumps({"answer": 42}))
    parent = wait_done(started["executionArn"])
    assert parent["status"] == "SUCCEEDED"
    assert json.loads(parent["output"]) == {"answer": 42}


def test_a_failing_child_fails_the_task_and_is_caught_by_name(
        sfn: Any, wait_done: Callable[..., dict[str, Any]]) -> None:
    child = machine(sfn, "nested-fail-child", {"StartAt": "F", "States": {"F": {
        "Type": "Fail", "Error": "SomeFailure", "Cause": "it broke"}}})
    definition = task(".sync", {"StateMachineArn": child}, Catch=[
        {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.caught", "Next": "Handled"}])
    definition["States"]["Nested"].pop("End")
    definition["States"]["Nested"]["Next"] = "Handled"
    definition["States"]["Handled"] = {"Type": "Pass", "End": True}
    parent = run(sfn, wait_done, "nested-fail", definition)
    assert parent["status"] == "SUCCEEDED", parent
    caught = json.loads(parent["output"])["caught"]
    assert caught["Error"] == "States.TaskFailed"
    cause = json.loads(caught["Cause"])
    assert (cause["Status"], cause["Error"], cause["Cause"]) == ("FAILED", "SomeFailure", "it broke")
    assert "Output" not in cause


def test_a_machine_that_does_not_exist_fails_the_task_as_aws_names_it(
        sfn: Any, wait_done: Callable[..., dict[str, Any]]) -> None:
    missing = f"{ACCOUNT_ARN}:stateMachine:nested-nowhere"
    parent = run(sfn, wait_done, "nested-missing", task(".sync", {"StateMachineArn": missing}))
    assert parent["status"] == "FAILED"
    assert parent["error"] == "StepFunctions.StateMachineDoesNotExistException"
    assert parent["cause"].startswith(f"State Machine Does Not Exist: '{missing}' (Service: "
                                      "AWSStepFunctions; Status Code: 400; Error Code: "
                                      "StateMachineDoesNotExist; Request ID: ")


@pytest.mark.parametrize("resource", [".sync", ".sync:2"])
def test_stopping_the_parent_stops_its_sync_child(
        aws_service: AwsService, sfn: Any, wait_done: Callable[..., dict[str, Any]],
        resource: str) -> None:
    suffix = resource.replace(".", "").replace(":", "")
    child = machine(sfn, f"nested-stop-child-{suffix}", {"StartAt": "W", "States": {"W": {
        "Type": "Wait", "Seconds": 3600, "End": True}}})
    arn = machine(sfn, f"nested-stop-{suffix}", task(resource, {
        "StateMachineArn": child, "Name": "long"}))
    started = sfn.start_execution(stateMachineArn=arn, input="{}")
    child_arn = f"{ACCOUNT_ARN}:execution:nested-stop-child-{suffix}:long"
    wait_started(sfn, child_arn)
    sfn.stop_execution(executionArn=started["executionArn"], error="Enough", cause="stopped")
    assert wait_done(started["executionArn"])["status"] == "ABORTED"
    assert wait_done(child_arn)["status"] == "ABORTED"


@pytest.mark.parametrize("resource", [".sync", ".sync:2"])
def test_a_sync_task_that_times_out_stops_its_child(
        sfn: Any, wait_done: Callable[..., dict[str, Any]], resource: str) -> None:
    suffix = resource.replace(".", "").replace(":", "")
    child = machine(sfn, f"nested-timeout-child-{suffix}", {"StartAt": "W", "States": {"W": {
        "Type": "Wait", "Seconds": 3600, "End": True}}})
    parent = run(sfn, wait_done, f"nested-timeout-{suffix}", task(resource, {
        "StateMachineArn": child, "Name": "slow"}, TimeoutSeconds=1))
    assert (parent["status"], parent["error"]) == ("FAILED", "States.Timeout")
    child_arn = f"{ACCOUNT_ARN}:execution:nested-timeout-child-{suffix}:slow"
    assert wait_done(child_arn)["status"] == "ABORTED"


def test_a_parent_execution_that_times_out_stops_its_sync_child(
        sfn: Any, wait_done: Callable[..., dict[str, Any]]) -> None:
    child = machine(sfn, "nested-exec-timeout-child", {"StartAt": "W", "States": {"W": {
        "Type": "Wait", "Seconds": 3600, "End": True}}})
    definition = {**task(".sync", {"StateMachineArn": child, "Name": "slow"}),
                  "TimeoutSeconds": 1}
    parent = run(sfn, wait_done, "nested-exec-timeout", definition)
    assert parent["status"] == "TIMED_OUT"
    child_arn = f"{ACCOUNT_ARN}:execution:nested-exec-timeout-child:slow"
    assert wait_done(child_arn)["status"] == "ABORTED"
