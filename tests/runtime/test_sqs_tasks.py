"""SQS tasks through the durable runtime, against moto's server.

``sqs:sendMessage`` records the send's result; ``sqs:sendMessage.waitForTaskToken`` puts the
task token in the message and waits until a consumer of the queue calls back.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiobotocore.session import get_session

from statemachine.runtime.invokers.base import InvokerSettings


def machine(queue_url: str) -> dict[str, Any]:
    return {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": queue_url, "MessageBody": {"order.$": "$.order"}},
                "ResultSelector": {"id.$": "$.MessageId"},
                "ResultPath": "$.sent",
                "Next": "Ask",
            },
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue_url,
                               "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
                "TimeoutSeconds": 60,
                "ResultPath": "$.answer",
                "End": True,
            },
        },
    }


async def test_send_message_and_wait_for_the_consumer_to_call_back(runtime: Any, moto_url: str) -> None:
    session = get_session()
    async with session.create_client("sqs", region_name="us-east-1", endpoint_url=moto_url) as sqs:
        queue_url = (await sqs.create_queue(QueueName="orders"))["QueueUrl"]
        invokers = InvokerSettings.from_env(sqs_endpoint_url=moto_url)
        async with runtime(invokers=invokers) as rt:
            service = rt.service
            await service.define("sqs", machine(queue_url))
            started = await service.start("sqs", {"order": 7})
            await rt.drain()  # both messages sent; the execution waits for the consumer
            bodies: list[dict[str, Any]] = []
            for _ in range(60):
                got = await sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1, MaxNumberOfMessages=10)
                bodies += [orjson.loads(m["Body"]) for m in got.get("Messages", [])]
                if len(bodies) >= 2:
                    break
            assert bodies[0] == {"order": 7}
            assert bodies[1]["order"] == 7 and bodies[1]["token"]
            await service.send_task_success(bodies[1]["token"], {"accepted": True})
            done = await rt.finished(started["executionId"])
            events = await rt.events(started["executionId"])
    assert done["status"] == "SUCCEEDED"
    assert done["output"]["answer"] == {"accepted": True}
    assert done["output"]["sent"]["id"]
    types = [e["type"] for e in events]
    assert types.count("TaskSucceeded") == 2
