"""AWS integrations against moto's server: ``aws-sdk:`` and optimised request-response
tasks (S3, DynamoDB, SNS, SQS, EventBridge, SFN, STS), error names, a ``Credentials.RoleArn``
task, endpoint overrides and the egress policy."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import pytest

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers import Invokers, InvokerSettings, kind
from statemachine.testing import run_async

SDK = "arn:aws:states:::aws-sdk:"
OPT = "arn:aws:states:::"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def command(resource: str, input_: Any, **extra: Any) -> InvokeTask:
    fields: dict[str, Any] = {
        "token": "tok-1", "resource": resource, "input": input_, "state": "Call", "entered": 2,
        "idempotency_key": "e:2", "attempt": 0, "timeout_s": None, "heartbeat_s": None,
        "credentials": None, "execution": "e1", **extra}
    return InvokeTask(**fields)


def unique(name: str) -> str:
    """A name of this test's own (the moto server is shared by the whole session)."""
    return f"{name}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def aws(moto_url: str) -> Iterator[Any]:
    """boto3 clients on moto for setting up and reading back: ``aws("s3")``."""
    yield lambda service: boto3.client(service, region_name="us-east-1", endpoint_url=moto_url)


@pytest.fixture
async def invokers(moto_url: str) -> AsyncIterator[Invokers]:
    async with Invokers(InvokerSettings.from_env(aws_endpoint_url=moto_url,
                                                 sqs_endpoint_url=moto_url)) as inv:
        yield inv


def bucket(aws: Any) -> str:
    name = unique("bucket")
    aws("s3").create_bucket(Bucket=name)
    return name


def table(aws: Any) -> str:
    name = unique("table")
    aws("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    return name


async def ok(invokers: Invokers, resource: str, params: Any, **extra: Any) -> Any:
    result = await invokers.invoke(command(resource, params, **extra))
    assert result is not None and result["type"] == "TaskSucceeded", result
    return result["output"]


async def fail(invokers: Invokers, resource: str, params: Any, **extra: Any) -> tuple[str, str]:
    result = await invokers.invoke(command(resource, params, **extra))
    assert result is not None and result["type"] == "TaskFailed", result
    return result["error"], result["cause"]


async def test_s3_put_and_get_object_through_the_sdk_integration(aws, invokers) -> None:
    name = bucket(aws)
    put = await ok(invokers, f"{SDK}s3:putObject", {"Bucket": name, "Key": "k", "Body": {"a": 1}})
    assert put["ETag"].startswith('"') and "ResponseMetadata" not in put
    got = await ok(invokers, f"{SDK}s3:getObject", {"Bucket": name, "Key": "k"})
    assert got["Body"] == '{"a":1}'  # a JSON body is stored as its text and read back as text
    assert got["ContentLength"] == 7 and got["Metadata"] == {} and ISO.match(got["LastModified"])
    assert "SdkHttpMetadata" not in got


async def test_a_regional_sdk_arn_is_performed_like_the_region_less_one(aws, invokers) -> None:
    name = bucket(aws)
    regional = "arn:aws:states:us-east-1:123456789012:aws-sdk:s3"
    await ok(invokers, f"{regional}:putObject", {"Bucket": name, "Key": "k", "Body": "hi"})
    got = await ok(invokers, f"{regional}:getObject", {"Bucket": name, "Key": "k"})
    assert got["Body"] == "hi"
    assert kind(f"{regional}:getObject.waitForTaskToken") == "callback"
    assert kind("arn:aws:states:us-east-1:123456789012:sns:publish") is None  # SDK ARNs only


async def test_s3_errors_are_named_as_step_functions_names_them(aws, invokers) -> None:
    name = bucket(aws)
    error, cause = await fail(invokers, f"{SDK}s3:getObject", {"Bucket": name, "Key": "none"})
    assert error == "S3.NoSuchKeyException"
    assert "(Service: S3, Status Code: 404, Request ID: " in cause
    assert "Extended Request ID: " in cause
    error, _ = await fail(invokers, f"{SDK}s3:listObjects", {"Bucket": unique("missing")})
    assert error == "S3.NoSuchBucketException"


async def test_dynamodb_optimised_items_carry_the_sdk_metadata(aws, invokers) -> None:
    name = table(aws)
    key = {"id": {"S": "a"}}
    put = await ok(invokers, f"{OPT}dynamodb:putItem",
                   {"TableName": name, "Item": {"id": {"S": "a"}, "n": {"N": "1"}}})
    assert put["SdkHttpMetadata"]["HttpStatusCode"] == 200 and put["SdkResponseMetadata"]
    updated = await ok(invokers, f"{OPT}dynamodb:updateItem", {
        "TableName": name, "Key": key, "UpdateExpression": "SET n = :n",
        "ExpressionAttributeValues": {":n": {"N": "2"}}, "ReturnValues": "UPDATED_NEW"})
    assert updated["Attributes"] == {"n": {"N": "2"}}
    got = await ok(invokers, f"{OPT}dynamodb:getItem", {"TableName": name, "Key": key})
    assert got["Item"] == {"id": {"S": "a"}, "n": {"N": "2"}} and "SdkHttpMetadata" in got
    sdk = await ok(invokers, f"{SDK}dynamodb:getItem", {"TableName": name, "Key": key})
    assert sdk == {"Item": {"id": {"S": "a"}, "n": {"N": "2"}}}
    await ok(invokers, f"{OPT}dynamodb:deleteItem", {"TableName": name, "Key": key})
    assert "Item" not in await ok(invokers, f"{SDK}dynamodb:getItem",
                                  {"TableName": name, "Key": key})


async def test_dynamodb_missing_table_in_both_styles(invokers) -> None:
    params = {"TableName": unique("none"), "Item": {"id": {"S": "a"}}}
    error, cause = await fail(invokers, f"{OPT}dynamodb:putItem", params)
    assert error == "DynamoDB.ResourceNotFoundException"
    assert re.search(r"\(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: "
                     r"ResourceNotFoundException; Request ID: .*; Proxy: null\)$", cause)
    error, cause = await fail(invokers, f"{SDK}dynamodb:putItem", params)
    assert error == "DynamoDb.ResourceNotFoundException"
    assert "(Service: DynamoDb, Status Code: 400, Request ID: " in cause


async def test_sns_publish_reaches_a_subscribed_queue(aws, invokers) -> None:
    topic = aws("sns").create_topic(Name=unique("topic"))["TopicArn"]
    queue = aws("sqs").create_queue(QueueName=unique("inbox"))["QueueUrl"]
    queue_arn = aws("sqs").get_queue_attributes(
        QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                         Attributes={"RawMessageDelivery": "true"})
    sent = await ok(invokers, f"{OPT}sns:publish", {"TopicArn": topic, "Message": {"hi": 1}})
    assert sent["MessageId"] and sent["SdkHttpMetadata"]["HttpStatusCode"] == 200
    got = aws("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    assert json.loads(got[0]["Body"]) == {"hi": 1}  # an object Message is sent as JSON text
    error, cause = await fail(invokers, f"{OPT}sns:publish",
                              {"TopicArn": f"{topic}-gone", "Message": "x"})
    assert error == "SNS.NotFoundException" and "Service: AmazonSNS; Status Code: 404" in cause


async def test_sns_publish_wait_for_task_token_returns_nothing_yet(aws, invokers) -> None:
    topic = aws("sns").create_topic(Name=unique("topic"))["TopicArn"]
    result = await invokers.invoke(command(f"{OPT}sns:publish.waitForTaskToken",
                                           {"TopicArn": topic, "Message": {"token": "tok-1"}}))
    assert result is None


async def test_events_put_events_in_both_forms(invokers) -> None:
    entries = [{"Source": "shop", "DetailType": "order", "Detail": {"id": 7}}]
    sent = await ok(invokers, f"{OPT}events:putEvents", {"Entries": entries})
    assert sent["FailedEntryCount"] == 0 and sent["Entries"][0]["EventId"]
    assert "SdkHttpMetadata" not in sent  # as AWS returns it for this integration
    sdk = await ok(invokers, f"{SDK}eventbridge:putEvents", {"Entries": entries})
    assert sdk["FailedEntryCount"] == 0


async def test_sqs_through_the_sdk_integration_and_the_optimised_one(aws, invokers) -> None:
    queue = aws("sqs").create_queue(QueueName=unique("q"))["QueueUrl"]
    sdk = await ok(invokers, f"{SDK}sqs:sendMessage", {"QueueUrl": queue, "MessageBody": "a"})
    opt = await ok(invokers, f"{OPT}sqs:sendMessage", {"QueueUrl": queue, "MessageBody": "b"})
    assert sdk["MessageId"] and "SdkHttpMetadata" not in sdk and "SdkHttpMetadata" in opt


async def test_sfn_members_are_pascal_case_both_ways(aws, invokers) -> None:
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    machine = aws("stepfunctions").create_state_machine(
        name=unique("child"), definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn-role")["stateMachineArn"]
    started = await ok(invokers, f"{SDK}sfn:startExecution",
                       {"StateMachineArn": machine, "Input": {"k": "v"}, "Name": "run-1"})
    assert started["ExecutionArn"].endswith(":run-1") and ISO.match(started["StartDate"])
    described = aws("stepfunctions").describe_execution(executionArn=started["ExecutionArn"])
    assert json.loads(described["input"]) == {"k": "v"}  # implicit JSON serialisation


async def test_unknown_services_actions_and_parameters_fail_with_states_runtime(invokers) -> None:
    error, cause = await fail(invokers, f"{SDK}nosuchservice:doIt", {})
    assert error == "States.Runtime" and "'nosuchservice'" in cause
    error, cause = await fail(invokers, f"{SDK}s3:doIt", {})
    assert error == "States.Runtime" and "'doIt'" in cause
    error, cause = await fail(invokers, f"{SDK}s3:getObject", {"Bucket": "b", "Colour": "red"})
    assert error == "States.Runtime" and "'Colour' is not a parameter" in cause


async def test_a_task_runs_as_its_credentials_role(invokers) -> None:
    role = "arn:aws:iam::123456789012:role/reader"
    me = await ok(invokers, f"{SDK}sts:getCallerIdentity", {},
                  credentials={"RoleArn": role})
    assert ":assumed-role/reader/statemachine" in me["Arn"]
    plain = await ok(invokers, f"{SDK}sts:getCallerIdentity", {})
    assert "assumed-role" not in plain["Arn"]


async def test_one_service_endpoint_overrides_the_one_for_all(moto_url, closed_port_url, aws) -> None:
    name = bucket(aws)
    settings = InvokerSettings.from_env(aws_endpoint_url=closed_port_url,
                                        aws_service_endpoints=(("S3", moto_url),))
    async with Invokers(settings) as invokers:
        await ok(invokers, f"{SDK}s3:headBucket", {"Bucket": name})
        error, cause = await fail(invokers, f"{SDK}dynamodb:listTables", {})
    assert error == "DynamoDb.SdkClientException" and "Unable to execute HTTP request" in cause


def test_endpoint_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEMACHINE_AWS_ENDPOINT", "http://all:1")
    monkeypatch.setenv("STATEMACHINE_AWS_ENDPOINT_DYNAMODB", "http://ddb:2")
    monkeypatch.setenv("STATEMACHINE_SQS_ENDPOINT", "http://sqs:3")
    settings = InvokerSettings.from_env()
    assert settings.aws_endpoint("dynamodb") == "http://ddb:2"
    assert settings.aws_endpoint("events", "eventbridge") == "http://all:1"
    assert settings.aws_endpoint("sqs") == "http://sqs:3"
    monkeypatch.delenv("STATEMACHINE_SQS_ENDPOINT")
    monkeypatch.setenv("STATEMACHINE_AWS_ENDPOINT_SQS", "http://sqs:4")
    assert InvokerSettings.from_env().aws_endpoint("sqs") == "http://sqs:4"


@pytest.mark.parametrize("rule", ["deny", "api"])
async def test_the_egress_policy_guards_the_endpoint(moto_url, rule) -> None:
    host_port = moto_url.removeprefix("http://")
    changes: dict[str, Any] = ({"egress_deny": (host_port,)} if rule == "deny"
                               else {"api_endpoints": (host_port,)})
    settings = InvokerSettings.from_env(aws_endpoint_url=moto_url, sqs_endpoint_url=moto_url,
                                        **changes)
    async with Invokers(settings) as invokers:
        error, cause = await fail(invokers, f"{SDK}s3:listBuckets", {})
        assert error == "States.Permissions" and "egress policy denies" in cause
        queue = f"{moto_url}/123456789012/q"
        error, _ = await fail(invokers, f"{OPT}sqs:sendMessage",
                              {"QueueUrl": queue, "MessageBody": "x"})
        assert error == "States.Permissions"


async def test_errors_are_caught_by_name_in_a_run(aws, moto_url, monkeypatch) -> None:
    monkeypatch.setenv("STATEMACHINE_AWS_ENDPOINT", moto_url)
    definition = {"StartAt": "Get", "States": {
        "Get": {"Type": "Task", "Resource": f"{SDK}s3:getObject",
                "Parameters": {"Bucket.$": "$.bucket", "Key": "missing"},
                "Catch": [{"ErrorEquals": ["S3.NoSuchKeyException"], "ResultPath": "$.s3",
                           "Next": "Put"}], "End": True},
        "Put": {"Type": "Task", "Resource": f"{OPT}dynamodb:putItem",
                "Parameters": {"TableName": "nowhere", "Item": {"id": {"S": "1"}}},
                "Catch": [{"ErrorEquals": ["DynamoDB.ResourceNotFoundException"],
                           "ResultPath": "$.ddb", "Next": "Done"}], "End": True},
        "Done": {"Type": "Pass", "End": True}}}
    result = await run_async(definition, {"bucket": bucket(aws)})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output["s3"]["Error"] == "S3.NoSuchKeyException"
    assert result.output["ddb"]["Error"] == "DynamoDB.ResourceNotFoundException"


async def test_the_client_cache_is_bounded_least_recently_used_first(
        moto_url, monkeypatch: pytest.MonkeyPatch) -> None:
    from statemachine.runtime.invokers.aws import clients as factory
    from statemachine.runtime.invokers.egress import EgressPolicy

    monkeypatch.setattr(factory, "MAX_CLIENTS", 2)
    settings = InvokerSettings.from_env(aws_endpoint_url=moto_url)
    made = factory.AwsClients(settings, lambda: EgressPolicy.build(api=()))
    try:
        s3 = await made.client("s3")
        await made.client("sns")
        assert await made.client("s3") is s3  # used again: now the most recent
        await made.client("sqs")  # evicts sns, the least recently used
        assert await made.client("s3") is s3
        assert [key[0] for key in made._clients] == ["sqs", "s3"]
        assert (await s3.list_buckets())["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        await made.close()
