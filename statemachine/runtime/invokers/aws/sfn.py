"""``aws-sdk:sfn:*`` answered by this service: Step Functions is this service here.

A task calling ``arn:aws:states:::aws-sdk:sfn:<action>`` (StartExecution,
DescribeExecution, SendTaskSuccess, StopExecution, ListExecutions, ...) reaches the
service's own AWS API in process (an :class:`SfnApi`, given by whoever can build one: the
API layer's :class:`~statemachine.api.aws.local.LocalSfn`), not an AWS endpoint.  The
exchange is the one botocore would make: the request serialised by botocore's JSON
serialiser from the botocore arguments, the answer parsed by botocore's JSON parser, so
results, timestamps and refusals are exactly what a remote call would give (a refusal
becomes the same ``ClientError``, hence ``Sfn.InvalidTokenException`` with the Java SDK
v2 cause).  ``STATEMACHINE_AWS_ENDPOINT_SFN`` (or ``..._STEPFUNCTIONS``) still sends the calls
to that endpoint; the endpoint for every service does not, since it stands for the other
AWS services.  Without an :class:`SfnApi` (``cli.py run``) the calls go to AWS as any
other service's.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from botocore import parsers, serialize
from botocore.exceptions import ClientError

from statemachine.runtime.invokers.base import InvokerSettings, endpoint_key

__all__ = ["SERVICE", "SfnApi", "call_local", "is_local", "request_id"]

SERVICE = "stepfunctions"
"""botocore's name of Step Functions (Step Functions' resources say ``sfn``)."""
_OWN_ENDPOINT_KEYS = frozenset({endpoint_key("sfn"), endpoint_key(SERVICE)})


class SfnApi(Protocol):
    """This service's AWS API, in process."""

    async def exchange(self, operation: str, body: bytes) -> tuple[int, bytes]:
        """The HTTP status and JSON answer of ``operation`` for the JSON ``body``."""
        ...

    async def close(self) -> None:
        """Release what it holds (its maker calls this, not the invokers)."""
        ...


def is_local(service: str, settings: InvokerSettings, api: SfnApi | None) -> bool:
    """Whether a call on botocore ``service`` is answered by ``api``."""
    if service != SERVICE or api is None:
        return False
    return not any(key in _OWN_ENDPOINT_KEYS for key, _ in settings.aws_service_endpoints)


async def call_local(api: SfnApi, op_model: Any, arguments: dict[str, Any],
                     request_id: str) -> dict[str, Any]:
    """botocore's response to ``arguments`` for ``op_model``, answered by ``api``; raises
    ``ClientError`` for a refusal as a botocore client does."""
    request = serialize.create_serializer("json", include_validation=False) \
        .serialize_to_request(arguments, op_model)
    status, body = await api.exchange(op_model.name, request["body"])
    headers = {"x-amzn-requestid": request_id, "content-type": "application/x-amz-json-1.0",
               "content-length": str(len(body))}
    parsed: dict[str, Any] = parsers.create_parser("json").parse(
        {"body": body, "headers": headers, "status_code": status}, op_model.output_shape)
    if status >= 300:
        raise ClientError(parsed, op_model.name)
    return parsed


def request_id(seed: str) -> str:
    """A request id in AWS's form, stable for one task attempt."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
