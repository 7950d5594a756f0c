"""What the AWS API's tests share: ARNs of the default place, a state machine made (or
revised) through the catalog's operations, an error's code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.aws.conftest import AwsService

PLACE = "us-east-1:123456789012"
ROLE = "arn:aws:iam::123456789012:role/statemachine"


def machine_arn(name: str) -> str:
    return f"arn:aws:states:{PLACE}:stateMachine:{name}"


def execution_arn(machine: str, name: str) -> str:
    return f"arn:aws:states:{PLACE}:execution:{machine}:{name}"


def activity_arn(name: str) -> str:
    return f"arn:aws:states:{PLACE}:activity:{name}"


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def define(aws_service: AwsService, name: str, definition: dict[str, Any]) -> str:
    """Create state machine ``name`` with ``definition`` through CreateStateMachine, or give
    it a new revision through UpdateStateMachine when it exists; its ARN."""
    sfn = aws_service.client()
    arn = machine_arn(name)
    try:
        sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    except ClientError as error:
        if error.response["Error"]["Code"] != "StateMachineAlreadyExists":
            raise
        sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(definition))
    return arn


def pass_machine(result: Any = "done") -> dict[str, Any]:
    return {"StartAt": "One", "States": {
        "One": {"Type": "Pass", "Next": "Two"},
        "Two": {"Type": "Pass", "Result": result, "End": True}}}


def wait_machine(seconds: int = 600) -> dict[str, Any]:
    return {"StartAt": "Sleep", "States": {
        "Sleep": {"Type": "Wait", "Seconds": seconds, "End": True}}}
