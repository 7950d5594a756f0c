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
  Error Code: <code>; Request ID: <id>; Proxy: null)`` (:mod:`.aws.names`);
* no connection, bad parameters: ``SQS.SdkClientException``;
* the egress policy refused the address: ``States.Permissions``;
* no answer in time: ``States.Timeout``.

The message goes to the queue URL's host, as AWS's SDK sends it, unless that is AWS's own
(``*.amazonaws.com``): then to the configured SQS endpoint (so a definition naming real
queues runs against LocalStack or moto).  Clients come from the shared factory
(:mod:`.aws.clients`), which also assumes the state's ``Credentials.RoleArn``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers.aws import names
from statemachine.runtime.invokers.aws.clients import AwsClients
from statemachine.runtime.invokers.aws.invoker import client_failure, role_of
from statemachine.runtime.invokers.aws.shapes import sdk_metadata
from statemachine.runtime.invokers.base import (
    InvokerSettings,
    Resource,
    TaskResult,
    failed,
    request_timeout,
    succeeded,
    timeout_failure,
)
from statemachine.runtime.invokers.egress import EgressDenied

SEND_PARAMETERS = ("QueueUrl", "MessageBody", "DelaySeconds", "MessageAttributes",
                   "MessageGroupId", "MessageDeduplicationId")
_RESULT_KEYS = ("MD5OfMessageBody", "MD5OfMessageAttributes", "MD5OfMessageSystemAttributes",
                "MessageId", "SequenceNumber")


class SqsInvoker:
    """Sends SQS messages through the shared AWS client factory."""

    def __init__(self, clients: AwsClients, settings: InvokerSettings) -> None:
        self._clients = clients
        self._settings = settings

    async def invoke(self, command: InvokeTask, resource: Resource) -> TaskResult:
        params = command.input
        arguments = send_arguments(params if isinstance(params, dict) else {})
        seconds, from_state = request_timeout(command, self._settings.http_timeout_s)
        try:
            async with asyncio.timeout(seconds):
                client = await self._clients.client(
                    "sqs", role_arn=role_of(command.credentials),
                    endpoint=queue_endpoint(arguments.get("QueueUrl")))
                response = await client.send_message(**arguments)
        except TimeoutError:
            return timeout_failure(command, "SQS SendMessage", seconds, from_state)
        except ClientError as exc:
            return client_error(command, exc)
        except (BotoCoreError, EgressDenied) as exc:
            return client_failure(command, "SQS", exc)
        except (ValueError, TypeError) as exc:
            return failed(command, "SQS.SdkClientException",
                          f"Unable to execute HTTP request: {exc}")
        return None if resource.kind == "callback" else succeeded(command, send_result(response))


def queue_endpoint(queue_url: Any) -> str | None:
    """Where a message to ``queue_url`` goes: its host unless that is AWS's own (None: the
    configured SQS endpoint)."""
    if not isinstance(queue_url, str) or "://" not in queue_url:
        return None
    parts = urlsplit(queue_url)
    host = parts.hostname or ""
    if not host or host == "amazonaws.com" or host.endswith((".amazonaws.com",
                                                              ".amazonaws.com.cn")):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def send_arguments(params: dict[str, Any]) -> dict[str, Any]:
    """The SendMessage arguments from the task's Parameters."""
    arguments = {key: params[key] for key in SEND_PARAMETERS if key in params}
    body = arguments.get("MessageBody")
    if body is None:  # unset, as the Java SDK leaves it: SQS answers MissingParameter
        arguments.pop("MessageBody", None)
    elif not isinstance(body, str):
        arguments["MessageBody"] = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return arguments


def send_result(response: dict[str, Any]) -> dict[str, Any]:
    """A botocore SendMessage response reshaped as Step Functions returns it."""
    result = {key: response[key] for key in _RESULT_KEYS if key in response}
    return result | sdk_metadata(response)


def client_error(command: InvokeTask, exc: ClientError) -> dict[str, Any]:
    """``SQS.<exception>`` with the Java SDK's cause wording, as Step Functions reports it."""
    model = names.service_model("sqs")
    errors = names.error_names(model, "optimized")
    code = str(exc.response.get("Error", {}).get("Code") or "Unknown")
    return failed(command, names.exception_name(model, code, errors),
                  names.service_cause(errors, code, exc.response))
