"""What every task invoker shares: settings, the resource grammar, result shapes, headers.

This module imports nothing heavier than the standard library, so that
``statemachine.runtime.invokers.kind`` can be asked about a resource without loading
aiohttp or aiobotocore.

Resources understood (the ``Resource`` field of a Task state)::

    resource                                                 family
    http://... | https://... [.waitForTaskToken]             url              POST the input as JSON
    arn:aws:states:::http:invoke[.waitForTaskToken]          http_invoke      the HTTP task
    arn:aws:states:::sqs:sendMessage[.waitForTaskToken]      sqs_send         SQS SendMessage
    arn:aws:lambda:<region>:<account>:function:<name>[:<q>]  lambda_function  Lambda, direct
    arn:aws:states:::lambda:invoke[.waitForTaskToken]        lambda_invoke    Lambda, integration
    arn:aws:states:<region>:<account>:activity:<name>        activity         polled by workers
    arn:aws:states:::aws-sdk:<service>:<apiAction>[.wait..]  aws_sdk          any AWS API (aws/)
    arn:aws:states:<region>:<account>:aws-sdk:...            aws_sdk          the same (see below)
    arn:aws:states:::<service>:<action>[.waitForTaskToken]   aws_service      optimised integration
    arn:aws:states:::apigateway:invoke[.waitForTaskToken]   apigateway_invoke  a deployed API
    arn:aws:states:::states:startExecution[.sync[:2]|.waitForTaskToken]
                                                             states_start     a nested execution

``aws_service`` is every other ``<service>:<action>`` of Step Functions' optimised
integrations (``sns:publish``, ``dynamodb:getItem``, ``events:putEvents``, ...), performed
request-response through :mod:`.aws`; their ``.sync`` forms are not performed here.

Any AWS partition (``aws``, ``aws-cn``, ``aws-us-gov``) is accepted in ARNs.  An
``aws-sdk`` ARN may name a region and account (``arn:aws:states:us-east-1:123456789012:
aws-sdk:s3:getObject``, as CloudFormation's ``${AWS::Region}``/``${AWS::AccountId}`` fill it):
AWS accepts it and calls the service in the state machine's own region ("cross-Region AWS
SDK integration [is not] available in Step Functions": the developer guide's "Accessing
resources in other AWS accounts"), so it is performed as the region-less form, in the
configured ``aws_region``.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.tracing.context import (
    attempt_span,
    client_span,
    execution_context,
    header,
)
from statemachine.runtime.tracing.sampling import DEFAULT_SAMPLER, Sampler

Kind = Literal["request", "callback", "activity"]
TaskResult = dict[str, Any] | None

CALLBACK_SUFFIX = ".waitForTaskToken"
MAX_CAUSE_CHARS = 32768
"""The longest ``cause`` Step Functions accepts (SendTaskFailure's limit); longer causes are cut."""

_STATES_ARN = re.compile(r"^arn:aws[a-z-]*:states:([^:]*):([^:]*):(.+)$")
_LAMBDA_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[^:]+:[^:]+:function:[^:]+(:[^:]+)?$")
_STATES_START = "states:startExecution"
_SYNC_SUFFIXES = (".sync", ".sync:2")
_INTEGRATIONS = {"http:invoke": "http_invoke", "sqs:sendMessage": "sqs_send",
                 "lambda:invoke": "lambda_invoke", "apigateway:invoke": "apigateway_invoke"}
_AWS_SDK = re.compile(r"^aws-sdk:[a-z0-9-]+:[a-zA-Z0-9]+$")
_AWS_SERVICE = re.compile(r"^([a-z0-9-]+):[a-zA-Z0-9]+$")
_NOT_AWS_SERVICE = frozenset({"states", "http", "activity", "aws-sdk"})
"""Services whose ``<service>:<action>`` is not an optimised AWS API call (nested
executions are ``states``)."""
_NOT_AN_API_CALL = frozenset({"eks:call"})
"""Optimised integrations that are no botocore operation and not performed here (EKS's
call goes to the cluster's Kubernetes API); API Gateway's invoke has its own family."""


@dataclass(frozen=True, slots=True)
class Resource:
    """A parsed ``Resource`` string: which plug-in serves it and how the state waits.

    ``target`` is the URL without the ``.waitForTaskToken`` suffix for plain URLs, and the
    resource itself otherwise.
    """

    family: str
    kind: Kind
    target: str


def parse_resource(resource: str) -> Resource | None:
    """Classify ``resource``; ``None`` when no invoker here can perform it."""
    if not isinstance(resource, str):
        return None
    return _parsed(resource)


@functools.lru_cache(maxsize=4096)
def _parsed(resource: str) -> Resource | None:
    """:func:`parse_resource` of a string, remembered: a task step asks several times (the
    planner, the dispatcher, the invoker), and the strings are a few definitions' own."""
    callback = resource.endswith(CALLBACK_SUFFIX)
    base = resource[: -len(CALLBACK_SUFFIX)] if callback else resource
    kind: Kind = "callback" if callback else "request"
    if base.startswith(("http://", "https://")):
        return Resource("url", kind, base)
    if _LAMBDA_ARN.match(resource):
        return Resource("lambda_function", "request", resource)
    match = _STATES_ARN.match(base)
    if match is None:
        return None
    region, account, rest = match.groups()
    if rest.startswith("activity:") and region and account and not callback:
        return Resource("activity", "activity", resource)
    if (region or account) and not _AWS_SDK.match(rest):
        return None
    suffixes = ("",) if callback else ("", *_SYNC_SUFFIXES)
    if rest.startswith(_STATES_START) and rest[len(_STATES_START):] in suffixes:
        # .sync waits for the child's end, which arrives later like a callback's result
        waits = callback or rest != _STATES_START
        return Resource("states_start", "callback" if waits else "request", resource)
    family = _INTEGRATIONS.get(rest)
    if family is None and _AWS_SDK.match(rest):
        family = "aws_sdk"
    elif family is None and (service := _AWS_SERVICE.match(rest)) \
            and service.group(1) not in _NOT_AWS_SERVICE and rest not in _NOT_AN_API_CALL:
        family = "aws_service"
    return Resource(family, kind, resource) if family else None


def integration(target: str) -> str:
    """What an integration ARN calls, after its region and account: ``aws-sdk:s3:getObject``
    for ``arn:aws:states:::aws-sdk:s3:getObject`` and its regional form alike."""
    match = _STATES_ARN.match(target)
    return match.group(3) if match else target


def kind(resource: str) -> Kind | None:
    """``"request"``, ``"callback"``, ``"activity"`` or ``None`` (unsupported); pure, no I/O.

    A ``"request"`` task's result is what :meth:`Invokers.invoke` returns; a ``"callback"``
    task's result arrives later through SendTaskSuccess/SendTaskFailure; an ``"activity"``
    task waits for an outside worker to poll it.
    """
    parsed = parse_resource(resource)
    return parsed.kind if parsed else None


def destination(resource: Resource, params: Any, settings: InvokerSettings) -> str | None:
    """The ``host:port`` a task's request goes to (the per-destination cap's key), from its
    resource and parameters alone; None for what sends nothing (activities) or no usable URL.
    Lambda and SQS tasks go to their configured endpoint."""
    url: Any
    match resource.family:
        case "url":
            url = resource.target
        case "http_invoke":
            url = params.get("ApiEndpoint") if isinstance(params, dict) else None
        case "lambda_function" | "lambda_invoke":
            url = settings.lambda_endpoint or f"https://lambda.{settings.lambda_region}"
        case "sqs_send":
            url = settings.sqs_endpoint_url or f"https://sqs.{settings.sqs_region}"
        case "apigateway_invoke":  # the host of apigateway.endpoint_url's URL
            host = params.get("ApiEndpoint") if isinstance(params, dict) else None
            url = settings.aws_endpoint("apigateway", "execute-api") or (
                host if not isinstance(host, str) or "://" in host else f"https://{host}")
        case "aws_sdk" | "aws_service":
            service = integration(resource.target).removeprefix("aws-sdk:").split(":")[0]
            url = (settings.aws_endpoint(service)
                   or f"https://{service}.{settings.aws_region}.amazonaws.com")
        case _:
            return None
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return f"{parts.hostname}:{port}" if parts.hostname else None


AWS_ENDPOINT_ENV = "STATEMACHINE_AWS_ENDPOINT"


def endpoint_key(service: str) -> str:
    """A service's name as the endpoint variables spell it: ``dynamodb`` -> ``DYNAMODB``."""
    return service.upper().replace("-", "").replace("_", "")


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _list(value: str | None) -> tuple[str, ...]:
    """``a, b,c`` as ``("a", "b", "c")``."""
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class InvokerSettings:
    """Where the invokers send things and how long they wait.

    ``http_timeout_s`` bounds a request when the command carries no ``timeout_s`` (60 s is
    also AWS's limit for one HTTP task request); ``lambda_timeout_s`` likewise for Lambda
    (900 s, Lambda's own maximum).  ``callback_url`` is sent to callback services as
    ``X-Callback-Url`` so they know where to report; ``trace_parent`` (a W3C traceparent)
    puts the requests of executions started without a trace header into its trace;
    ``trace_sampler`` (``OTEL_TRACES_SAMPLER``) decides which executions' spans are
    recorded, and the sampled flag of their requests' ``traceparent``.

    The egress policy (:mod:`.egress`): ``egress_allow`` / ``egress_deny`` rules (CIDRs and
    host names); ``api_endpoints``, the ``host:port``s the service's API listens on, and
    ``redis_endpoint``, its Redis (URL or ``host:port``): requests to them are denied, and
    loopback is open only while every API listener is on loopback (or none is known).

    AWS calls (:mod:`.aws`) go to ``aws_region``, to ``aws_endpoint_url`` for every service
    when set, or to a service's own entry of ``aws_service_endpoints`` (``(NAME, url)``
    pairs, ``NAME`` upper case without ``-``/``_``: ``S3``, ``DYNAMODB``, ``EVENTS``);
    ``sqs_endpoint_url`` is SQS's entry.
    """

    http_timeout_s: float = 60.0
    lambda_timeout_s: float = 900.0
    max_response_bytes: int = 1 << 20
    sqs_endpoint_url: str | None = None
    sqs_region: str = "us-east-1"
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = field(default=None, repr=False)  # never in a log line
    aws_session_token: str | None = field(default=None, repr=False)
    lambda_endpoint: str | None = None
    lambda_region: str = "us-east-1"
    lambda_account: str = "111111111111"
    callback_url: str | None = None
    trace_parent: str | None = None
    trace_sampler: Sampler = DEFAULT_SAMPLER
    connection_limit: int = 100
    egress_allow: tuple[str, ...] = ()
    egress_deny: tuple[str, ...] = ()
    api_endpoints: tuple[str, ...] = ()
    redis_endpoint: str | None = None
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    aws_service_endpoints: tuple[tuple[str, str], ...] = ()

    def aws_endpoint(self, *services: str) -> str | None:
        """The endpoint override for the first of ``services`` (botocore or Step Functions
        spellings: ``events``, ``eventbridge``) that has one, else the one for all services;
        None: AWS's own endpoint (or botocore's ``AWS_ENDPOINT_URL*`` variables)."""
        overrides = dict(self.aws_service_endpoints)
        for service in services:
            key = endpoint_key(service)
            if key == "SQS" and self.sqs_endpoint_url:
                return self.sqs_endpoint_url
            if key in overrides:
                return overrides[key]
        return self.aws_endpoint_url

    @classmethod
    def from_env(cls, **overrides: Any) -> InvokerSettings:
        """Settings from the environment; keyword arguments win over it.

        ``STATEMACHINE_SQS_ENDPOINT`` or ``AWS_ENDPOINT_URL_SQS``, ``AWS_REGION`` or
        ``AWS_DEFAULT_REGION``, the usual ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` /
        ``AWS_SESSION_TOKEN``, ``STATEMACHINE_LAMBDA_ENDPOINT``, ``STATEMACHINE_CALLBACK_URL``,
        ``STATEMACHINE_HTTP_TIMEOUT`` (seconds), ``TRACEPARENT``, and
        ``STATEMACHINE_EGRESS_ALLOW`` / ``STATEMACHINE_EGRESS_DENY`` (comma-separated rules),
        ``STATEMACHINE_AWS_ENDPOINT`` (every AWS service) and
        ``STATEMACHINE_AWS_ENDPOINT_<SERVICE>`` (one: ``_S3``, ``_DYNAMODB``, ``_SNS``, ...).
        """
        region = _env("AWS_REGION", "AWS_DEFAULT_REGION") or "us-east-1"
        timeout = _env("STATEMACHINE_HTTP_TIMEOUT")
        prefix = f"{AWS_ENDPOINT_ENV}_"
        services = tuple(sorted((endpoint_key(name[len(prefix):]), value)
                                for name, value in os.environ.items()
                                if name.startswith(prefix) and value))
        values: dict[str, Any] = {
            "sqs_endpoint_url": _env("STATEMACHINE_SQS_ENDPOINT", f"{prefix}SQS",
                                     "AWS_ENDPOINT_URL_SQS"),
            "sqs_region": region,
            "aws_region": region,
            "aws_endpoint_url": _env(AWS_ENDPOINT_ENV),
            "aws_service_endpoints": services,
            "lambda_region": region,
            "aws_access_key_id": _env("AWS_ACCESS_KEY_ID"),
            "aws_secret_access_key": _env("AWS_SECRET_ACCESS_KEY"),
            "aws_session_token": _env("AWS_SESSION_TOKEN"),
            "lambda_endpoint": _env("STATEMACHINE_LAMBDA_ENDPOINT"),
            "callback_url": _env("STATEMACHINE_CALLBACK_URL"),
            "trace_parent": _env("TRACEPARENT"),
            "trace_sampler": Sampler.from_env(),
            "egress_allow": _list(_env("STATEMACHINE_EGRESS_ALLOW")),
            "egress_deny": _list(_env("STATEMACHINE_EGRESS_DENY")),
        }
        if timeout:
            values["http_timeout_s"] = float(timeout)
        values.update(overrides)
        return cls(**values)


def sdk_metadata(all_headers: dict[str, list[str]], status: int,
                 request_id: str) -> dict[str, Any]:
    """``SdkHttpMetadata`` and ``SdkResponseMetadata``: the Java SDK's view of the HTTP answer,
    which request-response AWS integrations (Lambda, SNS, DynamoDB, StartExecution, ...) add
    to their results; ``HttpHeaders`` keeps each header's last value."""
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": all_headers,
            "HttpHeaders": {name: values[-1] for name, values in all_headers.items()},
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    }


def succeeded(command: InvokeTask, output: Any) -> dict[str, Any]:
    """The ``TaskSucceeded`` event for ``command``."""
    return {"type": "TaskSucceeded", "token": command.token, "output": output}


def failed(command: InvokeTask, error: str, cause: str) -> dict[str, Any]:
    """The ``TaskFailed`` event for ``command``; ``cause`` is cut to AWS's 32 KiB limit."""
    return {"type": "TaskFailed", "token": command.token, "error": error,
            "cause": truncate(cause)}


def truncate(text: str, limit: int = MAX_CAUSE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying so at the end when it was cut."""
    if len(text) <= limit:
        return text
    marker = f"... [truncated, {len(text)} characters in all]"
    return text[: limit - len(marker)] + marker


def request_timeout(command: InvokeTask, default: float) -> tuple[float, bool]:
    """The time one request may take, and whether it is the state's own ``TimeoutSeconds``."""
    timeout = command.timeout_s
    if isinstance(timeout, (int, float)) and timeout > 0:
        return float(timeout), True
    return default, False


def timeout_failure(command: InvokeTask, what: str, seconds: float,
                    from_state: bool) -> dict[str, Any]:
    """``States.Timeout``: with an empty cause, as AWS reports a state's ``TimeoutSeconds``."""
    cause = "" if from_state else f"{what} did not answer within {seconds:g} s"
    return failed(command, "States.Timeout", cause)


def traceparent(command: InvokeTask, parent: str | None = None,
                sampler: Sampler = DEFAULT_SAMPLER) -> str:
    """The W3C ``traceparent`` of a task request: the execution's trace (see
    :mod:`statemachine.runtime.tracing.context`; ``parent``, a configured ``TRACEPARENT``,
    supplies the trace of executions that bring none) and the span of this attempt's request,
    derived from the idempotency key and the attempt, so a request sent again after a crash
    names the same span; sampled as ``sampler`` decides for the execution.  Every attempt of
    every state of one execution is in one trace."""
    context = execution_context(command.execution, command.trace, parent)
    return header(context, client_span(str(command.idempotency_key or command.token or ""),
                                       command.attempt), sampler.samples(context))


def attempt_traceparent(command: InvokeTask, parent: str | None = None,
                        sampler: Sampler = DEFAULT_SAMPLER) -> str:
    """The W3C ``traceparent`` naming the span of this task attempt itself (what a nested
    execution it starts continues; ``parent`` and ``sampler`` as for :func:`traceparent`)."""
    context = execution_context(command.execution, command.trace, parent)
    return header(context, attempt_span(command.execution, command.entered, command.attempt),
                  sampler.samples(context))


def task_headers(command: InvokeTask, settings: InvokerSettings, callback: bool) -> dict[str, str]:
    """Headers every outgoing task request carries.

    ``Idempotency-Key`` (stable across retries of one state entry), ``traceparent``, and for
    callback tasks ``X-Task-Token`` plus ``X-Callback-Url`` when one is configured.
    """
    headers = {"traceparent": traceparent(command, settings.trace_parent, settings.trace_sampler)}
    key = command.idempotency_key
    if key:
        headers["Idempotency-Key"] = str(key)
    if callback:
        headers["X-Task-Token"] = str(command.token or "")
        if settings.callback_url:
            headers["X-Callback-Url"] = settings.callback_url
    return headers
