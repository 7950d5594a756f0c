"""AWS API calls as Task states: SDK integrations and optimised request-response ones.

``arn:aws:states:::aws-sdk:<service>:<apiAction>``
    Any operation of any service botocore has a model for (services as Step Functions
    spells them: ``s3``, ``dynamodb``, ``sfn``, ``eventbridge``, ``cloudwatchlogs``; see
    :mod:`.names`).  Parameters are the request in PascalCase, the result is the response
    (:mod:`.shapes`), without HTTP metadata.  Errors are ``<Service>.<Exception>``
    (``S3.NoSuchKeyException``, ``DynamoDb.ResourceNotFoundException``).

``arn:aws:states:::<service>:<action>``
    Step Functions' optimised integrations, request-response: ``sns:publish``,
    ``dynamodb:getItem|putItem|updateItem|deleteItem``, ``events:putEvents`` and any
    other ``<service>:<action>`` botocore knows (``athena:startQueryExecution``,
    ``glue:startJobRun``, ...).  The result is the response plus ``SdkHttpMetadata`` and
    ``SdkResponseMetadata``, except for ``events:putEvents``, which returns ``Entries`` and
    ``FailedEntryCount`` and fails with ``EventBridge.FailedEntry`` (the result as cause)
    when an entry failed.  Errors carry the Java SDK v1 names (``SNS.NotFoundException``,
    ``DynamoDB.AmazonDynamoDBException``).

Both run as a ``Credentials.RoleArn`` role when the state has one (:mod:`.clients`), and
their ``.waitForTaskToken`` forms return ``None`` once the call succeeded.  Failures
besides the service's own: ``<Service>.SdkClientException`` (no connection, no answer),
``States.Permissions`` (the egress policy refused the endpoint), ``States.Timeout``,
``States.DataLimitExceeded`` (a streamed body larger than the configured limit),
``States.Runtime`` (an unknown service, operation or parameter).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers.aws import names, sfn, shapes
from statemachine.runtime.invokers.aws.clients import AwsClients
from statemachine.runtime.invokers.base import (
    InvokerSettings,
    Resource,
    TaskResult,
    failed,
    integration,
    request_timeout,
    succeeded,
    timeout_failure,
)
from statemachine.runtime.invokers.egress import EGRESS_ERROR, EgressDenied

__all__ = ["AwsInvoker", "Call", "client_failure", "parse_call", "role_of"]

_OPTIMIZED_SERVICES = {"elasticmapreduce": "emr", "emr-containers": "emr-containers"}
_FALLBACK = {"bedrock": "bedrock-runtime"}
"""Optimised integrations whose operations live in a second botocore service
(``bedrock:invokeModel`` is bedrock-runtime's)."""


@dataclass(frozen=True, slots=True)
class Call:
    """What a resource asks for: a style, the service as written, the action."""

    style: names.Style
    service: str
    action: str


def parse_call(resource: Resource) -> Call:
    """The call a ``aws_sdk`` or ``aws_service`` resource names."""
    rest = integration(resource.target).removesuffix(".waitForTaskToken")
    if rest.startswith("aws-sdk:"):
        service, action = rest[len("aws-sdk:"):].split(":", 1)
        return Call("sdk", service, action)
    service, action = rest.split(":", 1)
    return Call("optimized", service, action)


def role_of(credentials: Any) -> str | None:
    """The role a Task's (evaluated) ``Credentials`` field asks for."""
    if isinstance(credentials, dict) and isinstance(credentials.get("RoleArn"), str):
        return str(credentials["RoleArn"])
    return None


def _dns_text(exc: BaseException) -> str:
    """``host: reason`` for a failed connection, as the Java SDK words it."""
    error = getattr(exc, "kwargs", {}).get("error")
    os_error = getattr(error, "os_error", None)
    host = getattr(error, "host", None)
    if os_error is not None and host:
        return f"{host}: {getattr(os_error, 'strerror', None) or os_error}"
    return str(exc)


def _egress(exc: BaseException) -> EgressDenied | None:
    if isinstance(exc, EgressDenied):
        return exc
    inner = getattr(exc, "kwargs", {}).get("error") if isinstance(exc, HTTPClientError) else None
    return inner if isinstance(inner, EgressDenied) else None


def client_failure(command: InvokeTask, prefix: str, exc: BaseException) -> dict[str, Any]:
    """The failure of a call that got no answer from the service (egress, connection)."""
    denied = _egress(exc)
    if denied is not None:
        return failed(command, EGRESS_ERROR, f"The AWS call was not made: {denied}")
    return failed(command, f"{prefix}.SdkClientException",
                  f"Unable to execute HTTP request: {_dns_text(exc)}")


class AwsInvoker:
    """Performs ``aws_sdk`` and ``aws_service`` tasks through the shared client factory."""

    def __init__(self, clients: AwsClients, settings: InvokerSettings,
                 local_sfn: sfn.SfnApi | None = None) -> None:
        """``local_sfn``: this service's own AWS API, which answers ``aws-sdk:sfn`` (:mod:`.sfn`)."""
        self._clients = clients
        self._settings = settings
        self._sfn = local_sfn

    async def invoke(self, command: InvokeTask, resource: Resource) -> TaskResult:
        call = parse_call(resource)
        found = self._operation(call)
        if isinstance(found, str):
            return failed(command, "States.Runtime", found)
        service, model, operation = found
        errors = names.error_names(model, call.style)
        op_model = model.operation_model(operation)
        try:
            arguments = shapes.request(op_model.input_shape, command.input or {})
        except shapes.ParameterError as bad:
            return failed(command, "States.Runtime",
                          f"The parameters of '{command.resource}' are not {operation}'s: {bad}")
        seconds, from_state = request_timeout(command, self._settings.http_timeout_s)
        try:
            async with asyncio.timeout(seconds):
                local = self._sfn if sfn.is_local(service, self._settings, self._sfn) else None
                if local is not None:
                    response = await sfn.call_local(local, op_model, arguments, sfn.request_id(
                        f"{command.idempotency_key}:{command.attempt}"))
                else:
                    client = await self._clients.client(
                        service, role_arn=role_of(command.credentials), aliases=(call.service,))
                    response = await getattr(client, xform_name(operation))(**arguments)
                body = await self._read_stream(op_model.output_shape, response)
        except TimeoutError:
            return timeout_failure(command, f"{call.service}:{call.action}", seconds, from_state)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code") or "Unknown")
            if exc.operation_name == "AssumeRole":
                return failed(command, "States.TaskFailed",
                              f"Could not assume the role {role_of(command.credentials)}: {exc}")
            return failed(command, names.exception_name(model, code, errors),
                          names.service_cause(errors, code, exc.response))
        except (BotoCoreError, EgressDenied) as exc:
            return client_failure(command, errors.prefix, exc)
        if body is None:
            return failed(command, "States.DataLimitExceeded",
                          f"The response body of {operation} is larger than "
                          f"{self._settings.max_response_bytes} bytes")
        if resource.kind == "callback":
            return None
        output = shapes.result(op_model.output_shape, response)
        if call.style == "sdk":
            return succeeded(command, output)
        if (service, operation) == ("events", "PutEvents"):
            if output.get("FailedEntryCount"):
                return failed(command, "EventBridge.FailedEntry",
                              json.dumps(output, separators=(",", ":")))
            return succeeded(command, output)
        return succeeded(command, output | shapes.sdk_metadata(response))

    def _operation(self, call: Call) -> tuple[str, Any, str] | str:
        """(botocore service, its model, the operation), or why there is none."""
        wanted = (_OPTIMIZED_SERVICES.get(call.service, call.service)
                  if call.style == "optimized" else call.service)
        service = names.botocore_service(wanted)
        if service is None:
            return (f"The resource 'arn:aws:states:::{_prefix(call)}{call.service}:{call.action}'"
                    f" is not supported by this runtime: it names a service botocore does not know "
                    f"('{call.service}').")
        candidates = [service]
        if call.style == "optimized" and call.service in _FALLBACK:
            candidates.append(_FALLBACK[call.service])
        for candidate in candidates:
            model = names.service_model(candidate)
            operation = names.operation_name(model, call.action)
            if operation is not None:
                return candidate, model, operation
        return (f"The resource 'arn:aws:states:::{_prefix(call)}{call.service}:{call.action}'"
                f" is not supported by this runtime: it names an action {service} does not have "
                f"('{call.action}').")

    async def _read_stream(self, shape: Any, response: dict[str, Any]) -> dict[str, Any] | None:
        """Read a streamed payload (an S3 object's ``Body``) into the response, up to the
        size limit; None when it is larger."""
        payload = shape.serialization.get("payload") if shape is not None else None
        if payload is None or not shape.members[payload].serialization.get("streaming", False) \
                and not shape.members[payload].metadata.get("streaming"):
            return response
        stream = response.get(payload)
        if stream is None or not hasattr(stream, "read"):
            return response
        limit = self._settings.max_response_bytes
        async with stream:
            data = await stream.read(limit + 1)
        if len(data) > limit:
            return None
        response[payload] = data
        return response


def _prefix(call: Call) -> str:
    return "aws-sdk:" if call.style == "sdk" else ""

