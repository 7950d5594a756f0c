"""Task invokers: perform a Task state's work for an ``InvokeTask`` command.

The same invokers serve ``cli.py run`` (in memory) and the durable Redis runtime; they
know nothing about either.  ``Invokers.invoke(command)`` picks a plug-in by the command's
``resource`` and returns the event to feed back into ``advance()``:

* ``{"type": "TaskSucceeded", "token", "output"}``;
* ``{"type": "TaskFailed", "token", "error", "cause"}`` — every failure, including an
  unsupported resource (``States.Runtime``, naming it) and a bug inside a plug-in;
* ``None`` when the result arrives later: a ``.waitForTaskToken`` request that was accepted,
  or an activity (nothing is sent; the runtime must offer the task to activity pollers).

``kind(resource)`` answers, without I/O, whether a resource is a ``"request"``, a
``"callback"``, an ``"activity"`` or unsupported (``None``).  Importing this package loads
neither aiohttp nor aiobotocore; the plug-ins are loaded when :class:`Invokers` is built.

Plug-ins by resource family (see :mod:`.base` for the grammar): ``url`` and ``http_invoke``
(:mod:`.http`; connections' credentials: :mod:`.connections`), ``sqs_send`` (:mod:`.sqs`),
``lambda_function`` and ``lambda_invoke`` (:mod:`.lambda_`), ``aws_sdk`` and ``aws_service``
(:mod:`.aws.invoker`), ``apigateway_invoke`` (:mod:`.apigateway`), ``states_start``
(:mod:`.nested`: nested executions, started through the runtime's ``starter``).  Every AWS client comes from one factory (:mod:`.aws.clients`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, Self

from statemachine.interpreter.commands import InvokeTask
from statemachine.language.items import READ_ITEMS, WRITE_RESULTS
from statemachine.runtime.invokers.base import (
    InvokerSettings,
    Kind,
    Resource,
    TaskResult,
    destination,
    failed,
    kind,
    parse_resource,
    traceparent,
)

if TYPE_CHECKING:
    from statemachine.runtime.invokers.aws.sfn import SfnApi
    from statemachine.runtime.invokers.http import RequestObserver
    from statemachine.runtime.invokers.nested import Starter
    from statemachine.runtime.items.writer import OutcomePages

__all__ = [
    "InvokerSettings",
    "Invokers",
    "Kind",
    "TaskResult",
    "kind",
    "parse_resource",
    "traceparent",
]

log = logging.getLogger(__name__)

ConnectionLookup = Callable[[str], Awaitable[Any]]
"""Finds a connection by ARN for the HTTP task's ``Authentication`` (the runtime's
``ConnectionBook.resolve``); see :mod:`.connections`.  Without one, such tasks fail."""

SUPPORTED = ("http(s) URLs, arn:aws:states:::http:invoke, arn:aws:states:::lambda:invoke, "
             "arn:aws:states:::apigateway:invoke, "
             "arn:aws:states:::aws-sdk:<service>:<action> and arn:aws:states:::<service>:<action> "
             "request-response AWS integrations, arn:aws:states:::states:startExecution (.sync and "
             ".sync:2 too) (and their .waitForTaskToken variants), Lambda "
             "function ARNs and activity ARNs")


_FAMILIES = frozenset({"url", "http_invoke", "sqs_send", "lambda_function", "lambda_invoke",
                       "aws_sdk", "aws_service", "states_start", "apigateway_invoke"})


class Plugin(Protocol):
    """What a plug-in offers: perform the task for one parsed resource."""

    async def invoke(self, command: InvokeTask, resource: Resource) -> TaskResult: ...


class ItemReaderPlugin(Protocol):
    """What reads a Distributed Map's items or writes its results
    (:mod:`statemachine.runtime.items`)."""

    async def invoke(self, command: InvokeTask) -> TaskResult: ...


class Invokers:
    """The registry: one plug-in per resource family, sharing one HTTP connection pool."""

    def __init__(self, settings: InvokerSettings | None = None,
                 connections: ConnectionLookup | None = None, starter: Starter | None = None,
                 sfn: SfnApi | None = None, outcomes: OutcomePages | None = None,
                 observer: RequestObserver | None = None) -> None:
        """``starter``: starts nested executions (the runtime's, over its store); without
        one, ``states:startExecution`` tasks fail with ``States.Runtime``.  ``sfn``: this
        service's AWS API, which answers ``aws-sdk:sfn`` tasks (:mod:`.aws.sfn`; its maker
        closes it); without one they go to AWS.  ``outcomes``: the store's reader of the
        outcomes a finished Map Run keeps for its ResultWriter (the durable runtime's).
        ``observer``: told of every HTTP request made for a task (the tracer's)."""
        self.settings = settings or InvokerSettings.from_env()
        self.connections = connections
        self.starter = starter
        self.sfn = sfn
        self._http: Any = None
        self.sfn = sfn
        self._aws: Any = None
        self.outcomes = outcomes
        self.observer = observer
        self._items: ItemReaderPlugin | None = None
        self._results: ItemReaderPlugin | None = None
        self.plugins: dict[str, Plugin] = {}

    def _plugin(self, family: str) -> Plugin | None:
        """The plug-in for a resource family, made on first use: a run that never calls
        SQS never imports aiobotocore (half a second of start-up)."""
        plugin = self.plugins.get(family)
        if plugin is not None or family not in _FAMILIES:
            return plugin
        if family == "states_start":
            from statemachine.runtime.invokers.nested import StartExecutionInvoker

            plugin = StartExecutionInvoker(self.starter, self.settings.trace_parent,
                                           self.settings.trace_sampler)
        elif family in ("sqs_send", "aws_sdk", "aws_service"):
            plugin = self._aws_plugin(family)
        elif family == "apigateway_invoke":
            from statemachine.runtime.invokers.apigateway import ApiGatewayInvoker

            plugin = ApiGatewayInvoker(self._http_client(), self._aws_clients(), self.settings)
        else:
            from statemachine.runtime.invokers.lambda_ import LambdaInvoker

            http = self._http_client()
            if family == "url":
                from statemachine.runtime.invokers.http import UrlInvoker

                plugin = UrlInvoker(http, self.settings)
            elif family == "http_invoke":
                from statemachine.runtime.invokers.connections import Authorizer
                from statemachine.runtime.invokers.http import HttpInvokeInvoker

                plugin = HttpInvokeInvoker(http, self.settings, Authorizer(http, self.connections))
            else:
                plugin = LambdaInvoker(http, self.settings)
        self.plugins[family] = plugin
        return plugin

    def _http_client(self) -> Any:
        """The shared HTTP client (its session opens on first request); it also holds the
        egress policy every AWS client obeys."""
        if self._http is None:
            from statemachine.runtime.invokers.http import HttpClient

            self._http = HttpClient(self.settings, self.observer)
        return self._http

    def _aws_clients(self) -> Any:
        """The one AWS client factory (the HTTP client's egress policy applies to it)."""
        if self._aws is None:
            from statemachine.runtime.invokers.aws.clients import AwsClients

            http = self._http_client()
            self._aws = AwsClients(self.settings, lambda: http.policy)
        return self._aws

    def _aws_plugin(self, family: str) -> Plugin:
        """An AWS plug-in over the one client factory."""
        self._aws_clients()
        if family == "sqs_send":
            from statemachine.runtime.invokers.sqs import SqsInvoker

            return SqsInvoker(self._aws, self.settings)
        from statemachine.runtime.invokers.aws.invoker import AwsInvoker

        return AwsInvoker(self._aws, self.settings, self.sfn)

    def protect(self, api_endpoints: tuple[str, ...]) -> None:
        """The API's listeners, learned after start: the egress policy denies them (and
        closes loopback unless they are all on loopback) for later requests."""
        if api_endpoints == self.settings.api_endpoints:
            return
        self.settings = replace(self.settings, api_endpoints=api_endpoints)
        if self._http is not None:
            self._http.use(self.settings)
        if self._aws is not None:
            self._aws.use(self.settings)

    def destination(self, command: InvokeTask) -> str | None:
        """``host:port`` the task's request goes to (None: nothing is sent)."""
        resource = parse_resource(command.resource)
        return destination(resource, command.input, self.settings) if resource else None

    async def invoke(self, command: InvokeTask) -> TaskResult:
        """Perform ``command`` (an ``InvokeTask``); never raises for a task's failure."""
        if command.resource == READ_ITEMS:  # a Distributed Map's items (runtime.items)
            return await self._item_reader().invoke(command)
        if command.resource == WRITE_RESULTS:  # a Map Run's results (runtime.items.writer)
            return await self._result_writer().invoke(command)
        resource = parse_resource(command.resource)
        if resource is not None and resource.family == "activity":
            return None
        plugin = self._plugin(resource.family) if resource else None
        if resource is None or plugin is None:
            return failed(command, "States.Runtime",
                          f"The resource '{command.resource}' is not supported by this "
                          f"runtime; supported are {SUPPORTED}.")
        try:
            return await plugin.invoke(command, resource)
        except Exception as exc:  # a bug in a plug-in must fail the task, not the worker
            log.exception("invoking %s failed", resource.target,
                          extra={"executionId": command.execution})
            return failed(command, "States.Runtime",
                          f"Internal error while invoking '{command.resource}': "
                          f"{type(exc).__name__}: {exc}")

    def _item_reader(self) -> ItemReaderPlugin:
        if self._items is None:
            from statemachine.runtime.items.reader import ItemReader
            from statemachine.runtime.items.s3 import S3Source

            clients = self._aws_clients()
            self._items = ItemReader(S3Source(lambda: clients.client("s3")))
        return self._items

    def _result_writer(self) -> ItemReaderPlugin:
        if self._results is None:
            from statemachine.runtime.items.s3 import S3Source
            from statemachine.runtime.items.writer import ResultWriter

            clients = self._aws_clients()
            self._results = ResultWriter(S3Source(lambda: clients.client("s3")),
                                         outcomes=self.outcomes)
        return self._results

    async def close(self) -> None:
        """Close the shared HTTP pool, the AWS clients and the nested executions'
        starter."""
        if self.starter is not None:
            self.starter.close()
        if self._http is not None:
            await self._http.close()
        if self._aws is not None:
            await self._aws.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
