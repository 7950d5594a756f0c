"""A Distributed Map reading a CSV from S3 through a real ``cli.py serve`` (moto's S3 behind
``STATEMACHINE_AWS_ENDPOINT``), started and described with boto3 as a user would."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws.conftest import AwsService, describe_when_done, start_service, stop_service

ROWS = 250


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, moto_url: str) -> Iterator[AwsService]:
    workdir: Path = tmp_path_factory.mktemp("dmap")
    service = start_service(workdir, env={"STATEMACHINE_AWS_ENDPOINT": moto_url})
    try:
        yield service
    finally:
        stop_service(service)


def test_a_batched_csv_map_over_s3(served: AwsService, moto_url: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    bucket = f"dmap-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    body = "id,qty\n" + "".join(f"{i},{i * 2}\n" for i in range(ROWS))
    s3.put_object(Bucket=bucket, Key="orders.csv", Body=body.encode())
    definition: dict[str, Any] = {"StartAt": "Orders", "States": {"Orders": {
        "Type": "Map", "MaxConcurrency": 5, "ToleratedFailureCount": 0,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW",
                                        "MaxItems": 200},
                       "Parameters": {"Bucket.$": "$.bucket", "Key": "orders.csv"}},
        "ItemBatcher": {"MaxItemsPerBatch": 10, "BatchInput": {"bucket.$": "$.bucket"}},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Count", "States": {"Count": {
                "Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.Items)",
                                               "first.$": "$.Items[0].id",
                                               "bucket.$": "$.BatchInput.bucket"},
                "End": True}}},
        "End": True}}}
    sfn = served.client()
    machine = sfn.create_state_machine(name=f"dmap-{uuid.uuid4().hex[:6]}",
                                       definition=json.dumps(definition),
                                       roleArn="arn:aws:iam::123456789012:role/sfn")
    started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"],
                                  input=json.dumps({"bucket": bucket}))
    done = describe_when_done(sfn, started["executionArn"], timeout=120)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output == [{"n": 10, "first": str(i * 10), "bucket": bucket} for i in range(20)]
