"""What the AWS API's tests share: ARNs of the default place, a definition registered through
the REST API (until the catalog's own operations are in), an error's code."""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3
from botocore.exceptions import ClientError

from tests.aws.conftest import AwsService

PLACE = "us-east-1:123456789012"


def machine_arn(name: str) -> str:
    return f"arn:aws:states:{PLACE}:stateMachine:{name}"


def execution_arn(machine: str, name: str) -> str:
    return f"arn:aws:states:{PLACE}:execution:{machine}:{name}"


def activity_arn(name: str) -> str:
    return f"arn:aws:states:{PLACE}:activity:{name}"


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def define(aws_service: AwsService, name: str, definition: dict[str, Any]) -> str:
    """Register ``definition`` as ``name`` through the REST API; its ARN."""
    response = urllib3.request(
        "POST", f"{aws_service.endpoint}/v1/state-machines",
        body=json.dumps({"name": name, "definition": definition}),
        headers={"Authorization": f"Bearer {aws_service.secret}",
                 "Content-Type": "application/json"})
    assert response.status == 201, response.data
    return machine_arn(name)


def pass_machine(result: Any = "done") -> dict[str, Any]:
    return {"StartAt": "One", "States": {
        "One": {"Type": "Pass", "Next": "Two"},
        "Two": {"Type": "Pass", "Result": result, "End": True}}}


def wait_machine(seconds: int = 600) -> dict[str, Any]:
    return {"StartAt": "Sleep", "States": {
        "Sleep": {"Type": "Wait", "Seconds": seconds, "End": True}}}
