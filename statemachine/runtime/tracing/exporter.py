"""Spans out through the OpenTelemetry SDK: its ``BatchSpanProcessor`` and an OTLP/HTTP (or
console) exporter, with a resource of this process's own (no global provider is set).

Imported only when tracing is on: the worker then holds one :class:`Tracer`, which

* emits the spans each committed transition ended (:meth:`Tracer.transition`), with the
  ids :mod:`.context` derives and the start and end times the history says;
* emits the client span of each task request (:meth:`Tracer.requested`), child of the task
  attempt's span, its id the one the request's ``traceparent`` names;
* flushes on :meth:`Tracer.shutdown` (graceful stop).

The spans are records of intervals already over, with ids of their own, so they are handed
to the batch processor finished (the SDK's ``ReadableSpan``) instead of being started and
ended through a tracer, which would draw ids, sample and lock for each: 8 µs a span instead
of 23.  The processor exports from a thread of its own; a full queue drops spans (the SDK's
``OTEL_BSP_MAX_QUEUE_SIZE``), never slows a transition.  Only the spans of executions the
sampler (:mod:`.sampling`, ``OTEL_TRACES_SAMPLER``) records are made: every process decides
alike from the execution's trace context.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

from statemachine.interpreter.commands import InvokeTask
from statemachine.interpreter.records import Execution, HistoryEvent
from statemachine.language.model import Machine
from statemachine.runtime.tracing.config import TracingSettings, traces_url
from statemachine.runtime.tracing.context import (
    TraceContext,
    attempt_span,
    client_span,
    execution_context,
)
from statemachine.runtime.tracing.sampling import DEFAULT_SAMPLER, Sampler
from statemachine.runtime.tracing.spans import SpanRecord, public_url, transition_spans

__all__ = ["Tracer"]

log = logging.getLogger("statemachine.tracing")

SERVICE_NAME = "statemachine"
FLUSH_S = 3.0
"""How long a stopping process waits for its last spans to be exported."""
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_KINDS = {"internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT}
_OK = Status(StatusCode.UNSET)
_SCOPE = InstrumentationScope("statemachine")


def _resource(instance: str) -> Resource:
    """``service.name`` from ``OTEL_SERVICE_NAME``/``OTEL_RESOURCE_ATTRIBUTES`` (default
    ``statemachine``), and this process as ``service.instance.id``."""
    attributes: dict[str, str] = {"service.instance.id": instance}
    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", "")
    if not named:
        attributes["service.name"] = SERVICE_NAME
    return Resource.create(attributes)


def _exporter(settings: TracingSettings) -> SpanExporter:
    if settings.exporter == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    protocol = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf")
    if protocol != "http/protobuf":
        log.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported here: spans are sent "
                    "as OTLP http/protobuf", protocol)
    if settings.endpoint:
        return OTLPSpanExporter(endpoint=traces_url(settings.endpoint))
    return OTLPSpanExporter()  # its endpoint, headers, timeout from the OTEL_* variables


class Tracer:
    """One process's span pipeline (see the module's docstring)."""

    def __init__(self, settings: TracingSettings, instance: str,
                 configured: str | None = None, exporter: SpanExporter | None = None,
                 sampler: Sampler = DEFAULT_SAMPLER) -> None:
        """``instance``: this process (``service.instance.id``); ``configured``: the
        process-wide ``TRACEPARENT``; ``exporter``: instead of the one the settings say;
        ``sampler``: which executions' spans are made."""
        self._resource = _resource(instance)
        self._processor = BatchSpanProcessor(exporter or _exporter(settings))
        self._configured = configured
        self._sampler = sampler
        self.where = settings.describe()

    def emit(self, spans: Iterable[SpanRecord]) -> None:
        """Hand finished spans to the batch processor."""
        on_end, resource = self._processor.on_end, self._resource
        for record in spans:
            context = record.context
            trace_id = int(context.trace_id, 16)
            on_end(ReadableSpan(
                name=record.name,
                context=SpanContext(trace_id, int(record.span_id, 16), False, _SAMPLED),
                parent=None if context.parent is None else SpanContext(
                    trace_id, int(context.parent, 16), True, _SAMPLED),
                resource=resource, attributes=record.attributes,
                links=[Link(_remote(link)) for link in record.links], kind=_KINDS[record.kind],
                status=_OK if record.error is None else Status(StatusCode.ERROR, record.error),
                start_time=record.start_ns, end_time=max(record.end_ns, record.start_ns),
                instrumentation_scope=_SCOPE))

    def transition(self, machine: Machine, before: Execution, after: Execution,
                   history: Sequence[HistoryEvent], event: Mapping[str, Any], now: int) -> None:
        """Emit the spans a committed transition ended (of a sampled execution); a failure
        here is logged, never raised (tracing must not stop an execution)."""
        try:
            if not self._sampler.samples(execution_context(after["id"], after.get("trace"),
                                                           self._configured)):
                return
            self.emit(transition_spans(machine, before, after, history, event, now,
                                       self._configured))
        except Exception:
            log.exception("the spans of a transition of %s could not be made", after["id"])

    def requested(self, task: InvokeTask, method: str, url: str, start_ns: int,
                  status: int | None, error: str | None) -> None:
        """Emit the client span of one task request, ended now: a child of the task
        attempt's span, its id the one the request's ``traceparent`` named."""
        try:
            context = execution_context(task.execution, task.trace, self._configured)
            if not self._sampler.samples(context):
                return
            key = str(task.idempotency_key or task.token or "")
            attributes: dict[str, str | int | bool] = {
                "http.request.method": method, "url.full": public_url(url)}
            if status is not None:
                attributes["http.response.status_code"] = status
            failed = error or (f"HTTP {status}" if status is not None and status >= 400 else None)
            if failed is not None:
                attributes["error.type"] = error or str(status)
            self.emit([SpanRecord(
                method, TraceContext(context.trace_id,
                                     attempt_span(task.execution, task.entered, task.attempt)),
                client_span(key, task.attempt), start_ns, time.time_ns(), attributes, failed,
                kind="client")])
        except Exception:
            log.exception("the span of a request of %s could not be made", task.execution)

    def shutdown(self, timeout_s: float = FLUSH_S) -> None:
        """Export what is queued, then stop; at most ``timeout_s``: an unreachable collector
        (the exporter retries with backoff) must not hold a graceful stop up.  What is not
        sent by then is given up (the SDK's threads are daemons)."""
        stopping = threading.Thread(target=self._processor.shutdown, name="otel-shutdown",
                                    daemon=True)
        stopping.start()
        stopping.join(timeout_s)
        if stopping.is_alive():
            log.warning("spans not exported within %.0f s of stopping were dropped (is the "
                        "collector at %s reachable?)", timeout_s, self.where)


def _remote(context: TraceContext) -> SpanContext:
    assert context.parent is not None
    return SpanContext(int(context.trace_id, 16), int(context.parent, 16), is_remote=True,
                       trace_flags=_SAMPLED)
