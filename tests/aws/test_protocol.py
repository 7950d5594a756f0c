"""The AWS API's protocol through real AWS clients: SigV4, roles, errors, the JSON shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3
from botocore.exceptions import ClientError

from tests.aws.conftest import AwsService
from tests.aws.helpers import code as _code
from tests.aws.helpers import define as _define

HELLO = ({"StartAt": "Hi", "States": {"Hi": {"Type": "Pass",
                    "Result": {"greeting": "hello"}, "End": True}}})






def test_start_and_describe_through_boto3(aws_service: AwsService, sfn: Any,
                                          wait_done: Any) -> None:
    _define(aws_service, "hello", HELLO)
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:hello"
    started = sfn.start_execution(stateMachineArn=arn, name="first", input='{"a": 1}')
    assert started["executionArn"] == "arn:aws:states:us-east-1:123456789012:execution:hello:first"
    described = wait_done(started["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"greeting": "hello"}
    assert json.loads(described["input"]) == {"a": 1}
    assert described["stateMachineArn"] == arn and described["name"] == "first"
    assert described["startDate"] <= described["stopDate"]  # datetimes, parsed by botocore
    with pytest.raises(ClientError) as closed:  # a repeat is idempotent only while it runs
        sfn.start_execution(stateMachineArn=arn, name="first", input='{"a": 1}')
    assert _code(closed) == "ExecutionAlreadyExists"
    with pytest.raises(ClientError) as other:
        sfn.start_execution(stateMachineArn=arn, name="first", input='{"a": 2}')
    assert _code(other) == "ExecutionAlreadyExists"


@pytest.mark.parametrize(("arn", "code"), [
    ("arn:aws:states:us-east-1:123456789012:stateMachine:nothing", "StateMachineDoesNotExist"),
    ("arn:aws:states:us-east-1:123456789012:activity:hello", "InvalidArn"),
    ("not-an-arn", "InvalidArn"),
    ("arn:aws:states:eu-west-1:123456789012:stateMachine:hello", "InvalidArn"),
])
def test_start_refusals(sfn: Any, arn: str, code: str) -> None:
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=arn)
    assert _code(refused) == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_bad_input_and_unknown_execution(aws_service: AwsService, sfn: Any) -> None:
    _define(aws_service, "hello", HELLO)
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:hello"
    with pytest.raises(ClientError) as bad:
        sfn.start_execution(stateMachineArn=arn, input="{not json")
    assert _code(bad) == "InvalidExecutionInput"
    with pytest.raises(ClientError) as missing:
        sfn.describe_execution(
            executionArn="arn:aws:states:us-east-1:123456789012:execution:hello:nobody")
    assert _code(missing) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as long_name:
        sfn.start_execution(stateMachineArn=arn, name="x" * 81)
    assert _code(long_name) == "ValidationException"
    assert "Member must have length less than or equal to 80" in str(long_name.value)


def test_payloads_nested_too_deep_are_refused_at_the_edge(aws_service: AwsService,
                                                          sfn: Any) -> None:
    """An input (or a task's output) nested deeper than 100 levels is a 400 naming it, as
    the REST API refuses it, not an execution that fails later inside."""
    _define(aws_service, "hello", HELLO)
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:hello"
    deep = "[" * 150 + "]" * 150
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=arn, name="deep", input=deep)
    assert _code(refused) == "InvalidExecutionInput" and "100 levels" in str(refused.value)
    with pytest.raises(ClientError) as nothing:
        sfn.describe_execution(
            executionArn="arn:aws:states:us-east-1:123456789012:execution:hello:deep")
    assert _code(nothing) == "ExecutionDoesNotExist"  # nothing was started
    with pytest.raises(ClientError) as output:  # a well-formed token: AWS judges it first
        sfn.send_task_success(taskToken="bm9ib2R5." + "x" * 40, output=deep)
    assert _code(output) == "InvalidOutput"
    with pytest.raises(ClientError) as malformed:
        sfn.send_task_success(taskToken="x" * 40, output=deep)
    assert _code(malformed) == "InvalidToken"


def test_signatures(aws_service: AwsService) -> None:
    nobody = "arn:aws:states:us-east-1:123456789012:execution:hello:nobody"
    with pytest.raises(ClientError) as signed:
        aws_service.client().describe_execution(executionArn=nobody)
    assert _code(signed) == "ExecutionDoesNotExist"  # the signature passed
    wrong_secret = aws_service.client(secret="x" * 43)
    with pytest.raises(ClientError) as wrong:
        wrong_secret.describe_execution(executionArn=nobody)
    assert _code(wrong) == "InvalidSignatureException"
    unknown = aws_service.client(key_id="SMK" + "A" * 17, secret="x" * 43)
    with pytest.raises(ClientError) as stranger:
        unknown.describe_execution(executionArn=nobody)
    assert _code(stranger) == "UnrecognizedClientException"
    viewer_id, viewer_secret = aws_service.create_key("viewer")
    viewer = aws_service.client(viewer_id, viewer_secret)
    with pytest.raises(ClientError) as small:
        viewer.start_execution(
            stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:hello")
    assert _code(small) == "AccessDeniedException"


def test_unsigned_and_unknown_operation(aws_service: AwsService) -> None:
    headers = {"Content-Type": "application/x-amz-json-1.0",
               "X-Amz-Target": "AWSStepFunctions.DescribeExecution"}
    unsigned = urllib3.request("POST", f"{aws_service.endpoint}/", body=b"{}", headers=headers)
    assert unsigned.status == 400
    assert unsigned.json()["__type"] == "MissingAuthenticationTokenException"
    unknown = urllib3.request("POST", f"{aws_service.endpoint}/", body=b"{}",
                              headers={**headers, "X-Amz-Target": "AWSStepFunctions.Nothing"})
    assert unknown.status == 400 and unknown.json()["__type"] == "UnknownOperationException"
