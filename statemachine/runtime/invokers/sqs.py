"""SQS tasks: ``arn:aws:states:::sqs:sendMessage[.waitForTaskToken]`` through aiobotocore.

Parameters ``QueueUrl``, ``MessageBody``, ``DelaySeconds``, ``MessageAttributes``,
``MessageGroupId`` and ``MessageDeduplicationId`` are passed on; other keys are dropped, as
Step Functions drops them.  A ``MessageBody`` that is not a string is sent as its compact
JSON text, as AWS does.

Results, shaped as Step Functions' optimised SQS integration returns them::

    {"MD5OfMessageBody", ["MD5OfMessageAttributes",] "MessageId", ["SequenceNumber",]
     "SdkHttpMetadata": {"AllHttpHeaders", "HttpHeaders", "HttpStatusCode"},
     "SdkResponseMetadata": {"RequestId"}}

The ``.waitForTaskToken`` variant returns ``None`` once the message is sent.  Failures:

* the service refused: ``SQS.<Java SDK exception>`` — ``SQS.QueueDoesNotExistException``,
  ``SQS.InvalidMessageContentsException``, ``SQS.UnsupportedOperationException``, otherwise
  ``SQS.AmazonSQSException`` — with the cause ``<message> (Service: AmazonSQS; Status Code: n;
  Error Code: <code>; Request ID: <id>; Proxy: null)``;
* no connection, bad parameters: ``SQS.SdkClientException``;
* no answer in time: ``States.Timeout``.

One client is opened on first use and kept until :meth:`SqsInvoker.close`.  The state's
``Credentials`` (an IAM role to assume) cannot be honoured here and is ignored.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers.base import (
    InvokerSettings,
    Resource,
    TaskResult,
    failed,
    request_timeout,
    succeeded,
    timeout_failure,
)

SEND_PARAMETERS = ("QueueUrl", "MessageBody", "DelaySeconds", "MessageAttributes",
                   "MessageGroupId", "MessageDeduplicationId")
_EXCEPTIONS = {
    "QueueDoesNotExist": "QueueDoesNotExistException",
    "AWS.SimpleQueueService.NonExistentQueue": "QueueDoesNotExistException",
    "InvalidMessageContents": "InvalidMessageContentsException",
    "UnsupportedOperation": "UnsupportedOperationException",
    "AWS.SimpleQueueService.UnsupportedOperation": "UnsupportedOperationException",
}
_RESULT_KEYS = ("MD5OfMessageBody", "MD5OfMessageAttributes", "MD5OfMessageSystemAttributes",
                "MessageId", "SequenceNumber")
_HEADER_CASE = {"content-length": "Content-Length", "content-type": "Content-Type",
                "date": "Date", "x-amzn-requestid": "x-amzn-RequestId"}


class SqsInvoker:
    """Sends SQS messages with one long-lived aiobotocore client."""

    def __init__(self, settings: InvokerSettings) -> None:
        self._settings = settings
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def _get_client(self) -> Any:
        async with self._lock:
            if self._client is None:
                settings = self._settings
                stack = AsyncExitStack()
                self._client = await stack.enter_async_context(get_session().create_client(
                    "sqs", region_name=settings.sqs_region, endpoint_url=settings.sqs_endpoint_url,
                    aws_access_key_id=settings.aws_access_key_id,
                    aws_secret_access_key=settings.aws_secret_access_key,
                    aws_session_token=settings.aws_session_token,
                    config=AioConfig(max_pool_connections=settings.connection_limit,
                                     retries={"max_attempts": 2, "mode": "standard"}),
                ))
                self._stack = stack
            return self._client

    async def invoke(self, command: InvokeTask, resource: Resource) -> TaskResult:
        params = command.input
        arguments = send_arguments(params if isinstance(params, dict) else {})
        seconds, from_state = request_timeout(command, self._settings.http_timeout_s)
        try:
            async with asyncio.timeout(seconds):
                client = await self._get_client()
                response = await client.send_message(**arguments)
        except TimeoutError:
            return timeout_failure(command, "SQS SendMessage", seconds, from_state)
        except ClientError as exc:
            return client_error(command, exc)
        except (BotoCoreError, ValueError, TypeError) as exc:
            return failed(command, "SQS.SdkClientException",
                          f"Unable to execute HTTP request: {exc}")
        return None if resource.kind == "callback" else succeeded(command, send_result(response))

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack, self._client = None, None


def send_arguments(params: dict[str, Any]) -> dict[str, Any]:
    """The SendMessage arguments from the task's Parameters."""
    arguments = {key: params[key] for key in SEND_PARAMETERS if key in params}
    body = arguments.get("MessageBody")
    if "MessageBody" in arguments and not isinstance(body, str):
        arguments["MessageBody"] = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return arguments


def send_result(response: dict[str, Any]) -> dict[str, Any]:
    """A botocore SendMessage response reshaped as Step Functions returns it."""
    meta = response.get("ResponseMetadata", {})
    raw = meta.get("HTTPHeaders", {})
    headers = {_HEADER_CASE.get(name, name): value for name, value in raw.items()}
    result = {key: response[key] for key in _RESULT_KEYS if key in response}
    result["SdkHttpMetadata"] = {
        "AllHttpHeaders": {name: [value] for name, value in headers.items()},
        "HttpHeaders": headers,
        "HttpStatusCode": meta.get("HTTPStatusCode", 200),
    }
    result["SdkResponseMetadata"] = {"RequestId": meta.get("RequestId", "")}
    return result


def client_error(command: InvokeTask, exc: ClientError) -> dict[str, Any]:
    """``SQS.<exception>`` with the Java SDK's cause wording, as Step Functions reports it."""
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    code = str(error.get("Code") or "Unknown")
    details = "; ".join([
        "Service: AmazonSQS", f"Status Code: {meta.get('HTTPStatusCode', 400)}",
        f"Error Code: {code}", f"Request ID: {meta.get('RequestId', '')}", "Proxy: null",
    ])
    name = _EXCEPTIONS.get(code, "AmazonSQSException")
    return failed(command, f"SQS.{name}", f"{error.get('Message') or code} ({details})")
