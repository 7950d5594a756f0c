"""Step Functions' spelling of AWS calls, without a network: service and error names,
request members matched case-insensitively, results in PascalCase."""

from __future__ import annotations

import datetime as dt

import pytest

from statemachine.runtime.invokers.aws import names, shapes


@pytest.mark.parametrize(("written", "botocore"), [
    ("s3", "s3"), ("dynamodb", "dynamodb"), ("sfn", "stepfunctions"), ("eventbridge", "events"),
    ("cloudwatchlogs", "logs"), ("redshiftdata", "redshift-data"),
    ("bedrockagent", "bedrock-agent"), ("emrserverless", "emr-serverless"), ("nope", None),
    ("sesv2", "sesv2"), ("migrationhub", "mgh"), ("costandusagereport", "cur"),
    ("iotjobsdataplane", "iot-jobs-data"), ("iotdataplane", "iot-data")])
def test_service_names(written: str, botocore: str | None) -> None:
    assert names.botocore_service(written) == botocore


@pytest.mark.parametrize(("service_id", "java"), [
    ("DynamoDB", "DynamoDb"), ("SFN", "Sfn"), ("S3", "S3"), ("ACM PCA", "AcmPca"),
    ("EC2", "Ec2"), ("CloudWatch Logs", "CloudWatchLogs"), ("EventBridge", "EventBridge"),
    ("SESv2", "SesV2"), ("IoT Data Plane", "IotDataPlane"), ("CloudHSM V2", "CloudHsmV2")])
def test_java_client_names(service_id: str, java: str) -> None:
    assert names.java_client_name(service_id) == java


def test_exception_names_take_the_modelled_shape_or_the_base() -> None:
    s3 = names.service_model("s3")
    sdk = names.error_names(s3, "sdk")
    assert names.exception_name(s3, "NoSuchKey", sdk) == "S3.NoSuchKeyException"
    assert names.exception_name(s3, "SlowDown", sdk) == "S3.S3Exception"
    sqs = names.service_model("sqs")
    v1 = names.error_names(sqs, "optimized")
    assert names.exception_name(sqs, "AWS.SimpleQueueService.NonExistentQueue", v1) == \
        "SQS.QueueDoesNotExistException"
    sns = names.service_model("sns")
    assert names.exception_name(sns, "NotFound", names.error_names(sns, "optimized")) == \
        "SNS.NotFoundException"


def test_requests_match_members_case_insensitively_and_serialise_strings() -> None:
    start = names.service_model("stepfunctions").operation_model("StartExecution")
    arguments = shapes.request(start.input_shape, {"StateMachineArn": "arn", "Input": {"a": [1]},
                                                   "Name": None})
    assert arguments == {"stateMachineArn": "arn", "input": '{"a":[1]}'}
    put = names.service_model("s3").operation_model("PutObject")
    assert shapes.request(put.input_shape, {"Bucket": "b", "Key": "k", "Body": False}) == \
        {"Bucket": "b", "Key": "k", "Body": b"false"}
    with pytest.raises(shapes.ParameterError, match="'Tags' must be an array"):
        create = names.service_model("sns").operation_model("CreateTopic")
        shapes.request(create.input_shape, {"Name": "t", "Tags": {"a": 1}})


def test_results_are_pascal_case_with_iso_times_and_text_or_base64_blobs() -> None:
    start = names.service_model("stepfunctions").operation_model("StartExecution")
    when = dt.datetime(2025, 11, 6, 12, 20, 5, 123456, tzinfo=dt.UTC)
    assert shapes.result(start.output_shape, {"executionArn": "x", "startDate": when}) == \
        {"ExecutionArn": "x", "StartDate": "2025-11-06T12:20:05.123Z"}
    get = names.service_model("dynamodb").operation_model("GetItem")
    item = {"Item": {"id": {"S": "a"}, "bin": {"B": b"\xff\x00"}, "txt": {"B": b"hi"}}}
    assert shapes.result(get.output_shape, item) == \
        {"Item": {"id": {"S": "a"}, "bin": {"B": "/wA="}, "txt": {"B": "hi"}}}
