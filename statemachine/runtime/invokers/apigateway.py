"""API Gateway's optimised integration: ``arn:aws:states:::apigateway:invoke[.waitForTaskToken]``.

Parameters (AWS's "Call API Gateway with Step Functions"):

``ApiEndpoint`` (required)
    The API's host name, ``<api-id>.execute-api.<region>.amazonaws.com``; the request goes
    to ``https://<ApiEndpoint>/<Stage>/<Path>``, or, when ``STATEMACHINE_AWS_ENDPOINT_APIGATEWAY``
    (else ``STATEMACHINE_AWS_ENDPOINT``) is set, to that URL followed by ``/<Stage>/<Path>``
    (LocalStack, a test server).
``Method`` (required)
    ``GET``, ``POST``, ``PUT``, ``DELETE``, ``PATCH``, ``HEAD`` or ``OPTIONS``.
``Stage``, ``Path``
    Appended to the endpoint (``Stage`` may be left out for an HTTP API's ``$default``).
``Headers``, ``QueryParameters``
    Objects whose values are lists of strings (a single string is taken as a list of one);
    a header's values are sent joined by commas.  Header names AWS does not permit (``Host``,
    ``Authorization``, ``X-Amz*``, ``X-Forwarded*``, ...) fail the task.
``RequestBody``
    A JSON value sent as JSON (``null`` members left out unless ``AllowNullValues`` is true),
    or a string sent as it is.
``AuthType``
    ``NO_AUTH`` (the default); ``IAM_ROLE``, the request signed with SigV4 for
    ``execute-api`` in the endpoint's region, with the task's ``Credentials.RoleArn`` when it
    has one, else the service's AWS credentials; ``RESOURCE_POLICY``, signed with the
    service's own credentials (on AWS: Step Functions' service principal, which the API's
    resource policy names).

The result is ``{ResponseBody, Headers, StatusCode, StatusText}`` (the body parsed when it is
JSON).  A status outside 2xx fails the task with ``ApiGateway.<status>``, the response body as
cause; no answer at all is ``ApiGateway.SdkClientException`` (``States.Timeout`` when time ran
out, ``States.Permissions`` when the egress policy refused the host).  A ``.waitForTaskToken``
task ends with the answer if it failed, else waits for its token.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import BotoCoreError, ClientError

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers.aws.clients import AwsClients
from statemachine.runtime.invokers.aws.invoker import role_of
from statemachine.runtime.invokers.base import (
    InvokerSettings,
    Resource,
    TaskResult,
    failed,
    request_timeout,
    succeeded,
    task_headers,
    timeout_failure,
)
from statemachine.runtime.invokers.egress import EGRESS_ERROR, EgressDenied
from statemachine.runtime.invokers.http import (
    ConnectionFailed,
    HttpClient,
    RequestTimedOut,
    dump_json,
    response_document,
)

__all__ = ["ApiGatewayInvoker", "build", "endpoint_url"]

SERVICE = "apigateway"
PREFIX = "ApiGateway"
METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
AUTH_TYPES = frozenset({"NO_AUTH", "IAM_ROLE", "RESOURCE_POLICY"})
_FORBIDDEN = frozenset({"authorization", "connection", "content-md5", "expect", "host",
                        "max-forwards", "proxy-authenticate", "server", "te",
                        "transfer-encoding", "trailer", "upgrade", "via", "www-authenticate"})
_FORBIDDEN_PREFIXES = ("x-forwarded", "x-amz")
_REGION = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


class BadParameters(ValueError):
    """The task's parameters are not an API Gateway call; the message says why."""


def _values(field: str, value: Any) -> list[tuple[str, str]]:
    """``{"k": ["a", "b"]}`` (or ``{"k": "a"}``) as ``[("k", "a"), ("k", "b")]``."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise BadParameters(f"Parameters.{field} must be an object of string lists")
    pairs: list[tuple[str, str]] = []
    for key, items in value.items():
        for item in items if isinstance(items, list) else [items]:
            if not isinstance(item, str):
                raise BadParameters(f"Parameters.{field}.{key} must be a list of strings, "
                                    f"not {dump_json(items).decode()[:100]}")
            pairs.append((str(key), item))
    return pairs


def _without_nulls(value: Any) -> Any:
    match value:
        case dict():
            return {k: _without_nulls(v) for k, v in value.items() if v is not None}
        case list():
            return [_without_nulls(v) for v in value if v is not None]
        case _:
            return value


def endpoint_url(params: dict[str, Any], settings: InvokerSettings) -> str:
    """The URL a call goes to (query string included)."""
    host = params.get("ApiEndpoint")
    if not isinstance(host, str) or not host.strip():
        raise BadParameters("Parameters.ApiEndpoint must be the API's host name "
                            "(<api-id>.execute-api.<region>.amazonaws.com)")
    base = settings.aws_endpoint(SERVICE, "execute-api") or \
        (host if host.startswith(("https://", "http://")) else f"https://{host}")
    parts = []
    for field in ("Stage", "Path"):
        value = params.get(field)
        if value is not None and not isinstance(value, str):
            raise BadParameters(f"Parameters.{field} must be a string")
        if value and value.strip("/"):
            parts.append(quote(value.strip("/"), safe="/-_.~$"))
    url = "/".join([base.rstrip("/"), *parts])
    query = _values("QueryParameters", params.get("QueryParameters"))
    return f"{url}?{urlencode(query)}" if query else url


def build(params: Any, settings: InvokerSettings) -> tuple[str, str, dict[str, str], bytes | None]:
    """Method, URL, the caller's headers and the body of an ``apigateway:invoke`` call."""
    if not isinstance(params, dict):
        raise BadParameters("Parameters must be an object with ApiEndpoint and Method")
    method = params.get("Method")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise BadParameters(f"Parameters.Method must be one of {', '.join(sorted(METHODS))}")
    url = endpoint_url(params, settings)
    headers: dict[str, str] = {}
    for name, value in _values("Headers", params.get("Headers")):
        lowered = name.lower()
        if lowered in _FORBIDDEN or lowered.startswith(_FORBIDDEN_PREFIXES):
            raise BadParameters(f"The header '{name}' is not permitted in Parameters.Headers")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    data: bytes | None = None
    body = params.get("RequestBody")
    if isinstance(body, str):
        data = body.encode()
    elif body is not None:
        data = dump_json(body if params.get("AllowNullValues") is True else _without_nulls(body))
        headers.setdefault("Content-Type", "application/json")
    return method.upper(), url, headers, data


class ApiGatewayInvoker:
    """Calls a deployed API through the shared HTTP client (egress policy included)."""

    def __init__(self, client: HttpClient, clients: AwsClients, settings: InvokerSettings) -> None:
        self._client = client
        self._clients = clients
        self._settings = settings

    async def invoke(self, command: InvokeTask, resource: Resource) -> TaskResult:
        params = command.input
        try:
            method, url, headers, data = build(params, self._settings)
            auth = params.get("AuthType", "NO_AUTH")
            if auth not in AUTH_TYPES:
                raise BadParameters(f"Parameters.AuthType must be one of {', '.join(sorted(AUTH_TYPES))}")
        except BadParameters as bad:
            return failed(command, "States.Runtime", f"The apigateway:invoke task's {bad}")
        headers.update(task_headers(command, self._settings, resource.kind == "callback"))
        seconds, from_state = request_timeout(command, self._settings.http_timeout_s)
        try:
            if auth != "NO_AUTH":
                role = role_of(command.credentials) if auth == "IAM_ROLE" else None
                headers = await self._signed(method, url, headers, data, params, role)
            answer = await self._client.request(method, url, headers=headers, data=data,
                                                timeout=seconds, task=command)
        except RequestTimedOut:
            return timeout_failure(command, f"{method} {url}", seconds, from_state)
        except EgressDenied as exc:
            return failed(command, EGRESS_ERROR, f"{method} {url} refused: {exc}")
        except (ConnectionFailed, BotoCoreError, ClientError) as exc:
            return failed(command, f"{PREFIX}.SdkClientException",
                          f"Unable to execute HTTP request: {exc}")
        document = response_document(answer)
        if not answer.ok:
            body = document["ResponseBody"]
            return failed(command, f"{PREFIX}.{answer.status}",
                          body if isinstance(body, str) else dump_json(body).decode())
        return None if resource.kind == "callback" else succeeded(command, document)

    async def _signed(self, method: str, url: str, headers: dict[str, str], data: bytes | None,
                      params: dict[str, Any], role_arn: str | None) -> dict[str, str]:
        """``headers`` with a SigV4 signature for ``execute-api`` added."""
        keys = await self._clients.credentials(role_arn)
        found = _REGION.search(str(params.get("ApiEndpoint", "")))
        region = found.group(1) if found else self._settings.aws_region
        request = AWSRequest(method=method, url=url, data=data or b"", headers=dict(headers))
        request.headers["Host"] = urlsplit(url).netloc
        SigV4Auth(BotoCredentials(keys.access_key, keys.secret_key, keys.token or None),
                  "execute-api", region).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}
