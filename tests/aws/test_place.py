"""The region and account the service's ARNs carry are its settings' (STATEMACHINE_REGION,
STATEMACHINE_ACCOUNT): in every answer, in ``$$`` and in a connection's ARN."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from botocore.exceptions import ClientError

from tests.aws.conftest import AwsService, start_service, stop_service
from tests.aws.helpers import code as _code

REGION, ACCOUNT = "eu-west-1", "210987654321"
PREFIX = f"arn:aws:states:{REGION}:{ACCOUNT}"
LOOK = {"StartAt": "Look", "States": {"Look": {"Type": "Pass", "End": True, "Parameters": {
    "execution.$": "$$.Execution.Id", "machine.$": "$$.StateMachine.Id",
    "role.$": "$$.Execution.RoleArn"}}}}


@pytest.fixture(scope="module")
def placed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsService]:
    service = start_service(tmp_path_factory.mktemp("place"),
                            env={"STATEMACHINE_REGION": REGION, "STATEMACHINE_ACCOUNT": ACCOUNT})
    try:
        yield service
    finally:
        stop_service(service)


def _client(service: AwsService) -> Any:
    import boto3

    return boto3.client("stepfunctions", endpoint_url=service.endpoint, region_name=REGION,
                        aws_access_key_id=service.key_id, aws_secret_access_key=service.secret)


def test_arns_and_the_context_object_carry_the_configured_place(placed: AwsService) -> None:
    sfn = _client(placed)
    made = sfn.create_state_machine(name="look", definition=json.dumps(LOOK),
                                    roleArn=f"arn:aws:iam::{ACCOUNT}:role/x")
    assert made["stateMachineArn"] == f"{PREFIX}:stateMachine:look"
    started = sfn.start_execution(stateMachineArn=made["stateMachineArn"], name="one")
    assert started["executionArn"] == f"{PREFIX}:execution:look:one"
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=started["executionArn"]))[
            "status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {
        "execution": f"{PREFIX}:execution:look:one", "machine": f"{PREFIX}:stateMachine:look",
        "role": f"arn:aws:iam::{ACCOUNT}:role/statemachine"}
    activity = sfn.create_activity(name="review")
    assert activity["activityArn"] == f"{PREFIX}:activity:review"
    with pytest.raises(ClientError) as elsewhere:  # another place's ARN names nothing here
        sfn.describe_state_machine(
            stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:look")
    assert _code(elsewhere) == "InvalidArn"


def test_a_connection_arn_carries_the_configured_place(placed: AwsService) -> None:
    response = urllib3.request(
        "POST", f"{placed.endpoint}/v1/connections",
        body=json.dumps({"name": "crm", "authorizationType": "API_KEY", "authParameters": {
            "ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key", "ApiKeyValue": "s3cr3t"}}}),
        headers={"Authorization": f"Bearer {placed.secret}", "Content-Type": "application/json"})
    assert response.status == 201, response.data
    assert response.json()["connectionArn"].startswith(
        f"arn:aws:events:{REGION}:{ACCOUNT}:connection/crm/")


MAPPED = {"StartAt": "Each", "States": {"Each": {
    "Type": "Map", "ItemsPath": "$.items", "End": True,
    "ItemProcessor": {"StartAt": "Look", "States": {"Look": {
        "Type": "Pass", "End": True,
        "Parameters": {"execution.$": "$$.Execution.Id", "machine.$": "$$.StateMachine.Id"}}}}}}}


def test_map_children_carry_the_configured_place_too(placed: AwsService) -> None:
    sfn = _client(placed)
    made = sfn.create_state_machine(name="mapped", definition=json.dumps(MAPPED),
                                    roleArn=f"arn:aws:iam::{ACCOUNT}:role/x")
    started = sfn.start_execution(stateMachineArn=made["stateMachineArn"], name="each",
                                  input=json.dumps({"items": [1, 2]}))
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=started["executionArn"]))[
            "status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED"
    seen = {"execution": f"{PREFIX}:execution:mapped:each",
            "machine": f"{PREFIX}:stateMachine:mapped"}
    assert json.loads(described["output"]) == [seen, seen]
