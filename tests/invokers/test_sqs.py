"""The SQS invoker against moto's server: send, receive the message back, errors."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiobotocore.session import get_session

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers import Invokers, InvokerSettings

SEND = "arn:aws:states:::sqs:sendMessage"


def command(resource: str, input_: Any, **extra: Any) -> InvokeTask:
    fields: dict[str, Any] = {
        "token": "tok-9", "resource": resource, "input": input_, "state": "Notify", "entered": 4,
        "idempotency_key": "e:4", "attempt": 0, "timeout_s": None, "heartbeat_s": None,
        "credentials": None, "execution": "e1", **extra}
    return InvokeTask(**fields)


@pytest.fixture
async def sqs(moto_url: str) -> AsyncIterator[Any]:
    """A plain aiobotocore SQS client on moto, to create queues and read messages back."""
    async with get_session().create_client("sqs", region_name="us-east-1",
                                           endpoint_url=moto_url) as client:
        yield client


@pytest.fixture
async def invokers(moto_url: str) -> AsyncIterator[Invokers]:
    async with Invokers(InvokerSettings.from_env(sqs_endpoint_url=moto_url)) as inv:
        yield inv


async def new_queue(sqs: Any, name: str, **attributes: str) -> str:
    """A queue of this test's own (the moto server is shared by the whole session)."""
    unique = f"{name}-{uuid.uuid4().hex[:12]}"
    if name.endswith(".fifo"):
        unique = f"{name[:-5]}-{uuid.uuid4().hex[:12]}.fifo"
    response = await sqs.create_queue(QueueName=unique, Attributes=attributes)
    return str(response["QueueUrl"])


async def receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    response = await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                         MessageAttributeNames=["All"], WaitTimeSeconds=1)
    return list(response.get("Messages", []))


async def test_send_message_json_body_and_receive_it(sqs, invokers) -> None:
    url = await new_queue(sqs, "orders")
    body = {"order": 42, "items": ["a", "b"], "note": "café"}
    params = {"QueueUrl": url, "MessageBody": body, "Unsupported": "dropped"}
    result = await invokers.invoke(command(SEND, params))
    assert result is not None and result["type"] == "TaskSucceeded"
    output = result["output"]
    assert list(output) == ["MD5OfMessageBody", "MessageId", "SdkHttpMetadata",
                            "SdkResponseMetadata"]
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    assert output["MD5OfMessageBody"] == hashlib.md5(text.encode()).hexdigest()
    assert output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert output["SdkHttpMetadata"]["AllHttpHeaders"]["Content-Type"] == [
        output["SdkHttpMetadata"]["HttpHeaders"]["Content-Type"]]
    messages = await receive(sqs, url)
    assert [m["Body"] for m in messages] == [text]
    assert messages[0]["MessageId"] == output["MessageId"]


async def test_string_body_attributes_and_delay(sqs, invokers) -> None:
    url = await new_queue(sqs, "plain")
    params = {"QueueUrl": url, "MessageBody": "hello", "DelaySeconds": 0,
              "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "greeting"}}}
    result = await invokers.invoke(command(SEND, params))
    assert result is not None and "MD5OfMessageAttributes" in result["output"]
    messages = await receive(sqs, url)
    assert messages[0]["Body"] == "hello"
    assert messages[0]["MessageAttributes"]["kind"]["StringValue"] == "greeting"


async def test_fifo_queue_gets_a_sequence_number(sqs, invokers) -> None:
    url = await new_queue(sqs, "ledger.fifo", FifoQueue="true")
    params = {"QueueUrl": url, "MessageBody": {"n": 1}, "MessageGroupId": "acct-1",
              "MessageDeduplicationId": "e:4"}
    result = await invokers.invoke(command(SEND, params))
    assert result is not None and result["output"]["SequenceNumber"]
    messages = await receive(sqs, url)
    assert json.loads(messages[0]["Body"]) == {"n": 1}


async def test_wait_for_task_token_sends_and_waits(sqs, invokers) -> None:
    url = await new_queue(sqs, "approvals")
    params = {"QueueUrl": url, "MessageBody": {"TaskToken": "tok-9", "amount": 5}}
    assert await invokers.invoke(command(f"{SEND}.waitForTaskToken", params)) is None
    messages = await receive(sqs, url)
    assert json.loads(messages[0]["Body"])["TaskToken"] == "tok-9"


async def test_missing_queue_is_an_sqs_error(moto_url, invokers) -> None:
    params = {"QueueUrl": f"{moto_url}/123456789012/no-such-queue", "MessageBody": "x"}
    result = await invokers.invoke(command(SEND, params))
    assert result is not None and result["type"] == "TaskFailed"
    assert result["error"] == "SQS.QueueDoesNotExistException"
    assert "(Service: AmazonSQS; Status Code: 400; Error Code: " in result["cause"]
    assert result["cause"].endswith("; Proxy: null)")


async def test_missing_message_body_is_the_services_refusal(sqs, invokers) -> None:
    # the service judges the parameters, as for Step Functions (AWS answers MissingParameter,
    # moto an internal error): either way the SDK's base exception
    url = await new_queue(sqs, "nobody")
    result = await invokers.invoke(command(SEND, {"QueueUrl": url, "MessageBody": None}))
    assert result is not None and result["error"] == "SQS.AmazonSQSException"
    assert "(Service: AmazonSQS; Status Code: " in result["cause"]


async def test_unreachable_endpoint_is_a_client_error(closed_port_url) -> None:
    settings = InvokerSettings.from_env(sqs_endpoint_url=closed_port_url)
    async with Invokers(settings) as invokers:
        params = {"QueueUrl": f"{closed_port_url}/1/q", "MessageBody": "x"}
        result = await invokers.invoke(command(SEND, params))
    assert result is not None and result["error"] == "SQS.SdkClientException"
