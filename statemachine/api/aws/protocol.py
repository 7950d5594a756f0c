"""The AWS Step Functions API on the service's own port: AWS JSON 1.0 on ``POST /``.

A request names its operation in ``X-Amz-Target: AWSStepFunctions.<Operation>`` and carries
a JSON body (``Content-Type: application/x-amz-json-1.0``) signed with SigV4.  One request
goes: operation known (else ``UnknownOperationException``) → body read and parsed (else
``SerializationException``) → signature checked against the API keys
(:mod:`~statemachine.api.aws.sigv4`; skipped with ``--insecure-no-auth``) → the key's role
against the operation's (``AccessDeniedException``) → the body against the operation's
input shape (:func:`~statemachine.api.aws.model.check_input`) → the handler, whose result
is written through the output shape.  Every refusal is HTTP 400 with ``{"__type",
"message"}``; an unreachable Redis is 503 ``ServiceUnavailableException``; a bug 500
``InternalFailure`` with nothing of it told.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from statemachine.api.appkeys import SERVICE
from statemachine.api.audit import AWS_OPERATION, READ_ONLY
from statemachine.api.auth import AUTH, Principal, set_principal
from statemachine.api.aws.call import AwsError, Call, aws_error
from statemachine.api.aws.model import perform
from statemachine.api.aws.operations import OPERATIONS
from statemachine.api.aws.sigv4 import check_signature, read_authorization
from statemachine.api.problems import MAX_DEFINITION_BYTES, STORE_UNAVAILABLE, store_trouble
from statemachine.errors import DefinitionError, InputError
from statemachine.language.arns import InvalidArn
from statemachine.security.keys import ApiKey
from statemachine.security.roles import Role

__all__ = ["CONTENT_TYPE", "TARGET_PREFIX", "aws_endpoint"]

log = logging.getLogger("statemachine.api.aws")
CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIX = "AWSStepFunctions."


def _reply(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=CONTENT_TYPE,
                        headers={"X-Content-Type-Options": "nosniff"})


def _refusal(error: AwsError) -> web.Response:
    response = _reply({"__type": error.code, "message": error.message}, error.status)
    response.headers["x-amzn-ErrorType"] = error.code
    return response


async def aws_endpoint(request: web.Request) -> web.Response:
    """``POST /``: one operation of the AWS API (see the module's docstring)."""
    try:
        return _reply(await _perform(request))
    except AwsError as error:
        return _refusal(error)
    except (InputError, InvalidArn, DefinitionError) as error:
        return _refusal(aws_error(error))
    except STORE_UNAVAILABLE as error:
        log.warning("%s: the store is unavailable: %s", request.headers.get("X-Amz-Target"), error)
        return _refusal(AwsError("ServiceUnavailableException", store_trouble(error), 503))
    except Exception:  # a bug: logged, and answered as AWS does, with nothing of it told
        log.exception("unhandled error in %s", request.headers.get("X-Amz-Target"))
        return _refusal(AwsError("InternalFailure", "The request processing has failed "
                                 "because of an unknown error, exception or failure.", 500))


async def _perform(request: web.Request) -> dict[str, Any]:
    target = request.headers.get("X-Amz-Target", "")
    name = target.removeprefix(TARGET_PREFIX)
    operation = OPERATIONS.get(name) if target.startswith(TARGET_PREFIX) else None
    if operation is None:
        raise AwsError("UnknownOperationException",
                       f"unknown operation {target[:100]!r}: expected X-Amz-Target: "
                       f"{TARGET_PREFIX}<Operation> of the Step Functions API")
    request[AWS_OPERATION] = name
    if request.content_type != CONTENT_TYPE:
        raise AwsError("SerializationException", f"the body must be sent as {CONTENT_TYPE}", 415)
    request[READ_ONLY] = operation.role is Role.VIEWER
    raw = await _read(request)
    key = await _authenticate(request, raw)
    if key is not None and not key.role.allows(operation.role):
        raise AwsError("AccessDeniedException",
                       f"User: {key.id} is not authorized to perform: states:{name} (the "
                       f"operation needs a key of role {operation.role.value!r}; this one is "
                       f"{key.role.value!r})")
    service = request.app[SERVICE]
    return await perform(Call(service, service.settings.place, key, request, name), operation, raw)


async def _read(request: web.Request) -> bytes:
    if (request.content_length or 0) > MAX_DEFINITION_BYTES:
        raise AwsError("ValidationException",
                       f"the request body is larger than {MAX_DEFINITION_BYTES} bytes", 413)
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise AwsError("ValidationException",
                       f"the request body is larger than {MAX_DEFINITION_BYTES} bytes",
                       413) from None


async def _authenticate(request: web.Request, raw: bytes) -> ApiKey | None:
    """The key that signed the request (None when authentication is off)."""
    config = request.app[AUTH]
    if not config.enforce:
        return None
    signed = read_authorization(request.headers.get("Authorization"))
    keyring = config.keyring
    key = await keyring.get(signed.key_id)
    secret = None if key is None else await keyring.secret(signed.key_id)
    if key is None or secret is None:
        raise AwsError("UnrecognizedClientException",
                       "The security token included in the request is invalid.")
    headers = {name.lower(): value for name, value in request.headers.items()}
    check_signature(signed, secret, method=request.method, path_qs=request.raw_path,
                    headers=headers, body=raw, now=datetime.now(UTC))
    set_principal(request, Principal(key, "sigv4"))
    return key
