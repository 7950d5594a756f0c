"""Trace contexts read from headers, and ids derived the same way by every process."""

from __future__ import annotations

import pytest

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers.base import attempt_traceparent, traceparent
from statemachine.runtime.tracing.config import TracingSettings, traces_url
from statemachine.runtime.tracing.context import (
    TraceContext,
    attempt_span,
    client_span,
    execution_context,
    parse,
    w3c,
)
from statemachine.runtime.tracing.sampling import Sampler, SamplerName

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"


def test_w3c_traceparent_is_read_and_malformed_ones_are_ignored() -> None:
    assert w3c(f"00-{TRACE}-{PARENT}-01") == TraceContext(TRACE, PARENT, True)
    assert w3c(f" 00-{TRACE.upper()}-{PARENT}-00 ") == TraceContext(TRACE, PARENT, False)
    assert w3c(f"01-{TRACE}-{PARENT}-03-future") == TraceContext(TRACE, PARENT, True)  # later
    for bad in (None, "", "garbage", f"00-{'0' * 32}-{PARENT}-01", f"00-{TRACE}-{'0' * 16}-01",
                f"ff-{TRACE}-{PARENT}-01", f"00-{TRACE}-{PARENT}-01-extra", f"00-{TRACE}-{PARENT}",
                f"00-{TRACE}-{PARENT}-01" + "x" * 300):
        assert w3c(bad) is None, bad


def test_an_xray_trace_header_gives_the_same_128_bits() -> None:
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    assert parse(header) == TraceContext("5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8",
                                         True)
    assert parse(header.replace("Sampled=1", "Sampled=0")).sampled is False
    assert parse(header.replace("Sampled=1", "Sampled=?")).sampled is None  # no word
    assert parse("Root=1-5759e988-bd862e3fe1be46a994272793") == TraceContext(
        "5759e988bd862e3fe1be46a994272793")
    assert parse("Root=1-abc") is None  # kept and shown by describe, but no trace to continue


def test_an_execution_without_a_header_has_its_roots_trace() -> None:
    root = execution_context("x1", None)
    assert root.parent is None and len(root.trace_id) == 32
    assert execution_context("x1/5/0", None) == root, "a child shares its root's trace"
    assert execution_context("x2", None).trace_id != root.trace_id
    given = f"00-{TRACE}-{PARENT}-01"
    assert execution_context("x1", given) == TraceContext(TRACE, PARENT, True)
    assert execution_context("x1", None, given) == TraceContext(TRACE), "TRACEPARENT: trace only"
    assert execution_context("x1", given, f"00-{'1' * 32}-{PARENT}-01").trace_id == TRACE


def _task(**changes: object) -> InvokeTask:
    fields: dict[str, object] = {
        "token": "x1.tok", "resource": "http://svc/x", "input": {}, "state": "Charge",
        "entered": 4, "idempotency_key": "key-4", "attempt": 1, "timeout_s": None,
        "heartbeat_s": None, "credentials": None, "execution": "x1", **changes}
    return InvokeTask(**fields)  # type: ignore[arg-type]


def test_a_task_request_names_its_client_span_in_the_executions_trace() -> None:
    header = traceparent(_task())
    assert header == f"00-{execution_context('x1', None).trace_id}-{client_span('key-4', 1)}-01"
    assert traceparent(_task(trace=f"00-{TRACE}-{PARENT}-01")).split("-")[1] == TRACE
    nested = attempt_traceparent(_task())
    assert nested.split("-")[2] == attempt_span("x1", 4, 1)


def test_a_task_request_carries_its_executions_sampling_decision() -> None:
    unsampled = _task(trace=f"00-{TRACE}-{PARENT}-00")
    assert traceparent(unsampled).endswith("-00"), "the caller's decision is followed"
    assert attempt_traceparent(unsampled).endswith("-00")
    assert traceparent(_task(), sampler=Sampler(SamplerName.ALWAYS_OFF)).endswith("-00")
    assert traceparent(unsampled, sampler=Sampler(SamplerName.ALWAYS_ON)).endswith("-01")


def _context(lower_64: int, sampled: bool | None = None) -> TraceContext:
    trace_id = f"{0xabc:016x}{lower_64:016x}"
    return TraceContext(trace_id, None if sampled is None else PARENT, sampled)


def test_the_standard_samplers_decide_from_the_trace_context_alone() -> None:
    half = 1 << 63
    low, high = _context(half - 1), _context(half)
    ratio = Sampler(SamplerName.TRACE_ID_RATIO, 0.5)
    assert (ratio.samples(low), ratio.samples(high)) == (True, False)
    assert ratio.samples(_context(half, sampled=True)) is False, "the ratio ignores the parent"
    based = Sampler(SamplerName.PARENT_BASED_TRACE_ID_RATIO, 0.5)
    assert based.samples(high) is False and based.samples(_context(half, True)) is True
    assert based.samples(_context(0, False)) is False
    default = Sampler()
    assert default.samples(high) and not default.samples(_context(0, False))
    off = Sampler(SamplerName.PARENT_BASED_ALWAYS_OFF)
    assert not off.samples(low) and off.samples(_context(0, True))
    assert not Sampler(SamplerName.TRACE_ID_RATIO, 0.0).samples(_context(0))
    assert Sampler(SamplerName.TRACE_ID_RATIO, 1.0).samples(_context((1 << 64) - 1))


def test_the_sampler_is_read_from_the_otel_variables(caplog: pytest.LogCaptureFixture) -> None:
    assert Sampler.from_env({}) == Sampler()
    assert Sampler.from_env({"OTEL_TRACES_SAMPLER": "always_off"}) == Sampler(
        SamplerName.ALWAYS_OFF)
    assert Sampler.from_env({"OTEL_TRACES_SAMPLER": " TraceIdRatio ",
                             "OTEL_TRACES_SAMPLER_ARG": "0.25"}) == Sampler(
        SamplerName.TRACE_ID_RATIO, 0.25)
    assert Sampler.from_env({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio"}) == Sampler(
        SamplerName.PARENT_BASED_TRACE_ID_RATIO, 1.0)
    assert Sampler.from_env({"OTEL_TRACES_SAMPLER": "traceidratio",
                             "OTEL_TRACES_SAMPLER_ARG": "2"}) == Sampler(
        SamplerName.TRACE_ID_RATIO, 1.0)
    assert Sampler.from_env({"OTEL_TRACES_SAMPLER": "xray"}) == Sampler()
    assert "OTEL_TRACES_SAMPLER=xray is not supported" in caplog.text
    assert "OTEL_TRACES_SAMPLER_ARG=2 is not a ratio" in caplog.text


def test_tracing_is_off_unless_asked() -> None:
    assert TracingSettings.from_env({}) is None
    assert TracingSettings.from_env({}, endpoint="http://c:4318") == TracingSettings(
        "otlp", "http://c:4318")
    assert TracingSettings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) \
        == TracingSettings("otlp")
    assert TracingSettings.from_env({"OTEL_TRACES_EXPORTER": "console"}) \
        == TracingSettings("console")
    assert TracingSettings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                                     "OTEL_TRACES_EXPORTER": "none"}) is None
    assert TracingSettings.from_env({"OTEL_TRACES_EXPORTER": "otlp",
                                     "OTEL_SDK_DISABLED": "true"}) is None


@pytest.mark.parametrize(("given", "url"), [
    ("http://c:4318", "http://c:4318/v1/traces"), ("http://c:4318/", "http://c:4318/v1/traces"),
    ("https://c/otlp/v1/traces", "https://c/otlp/v1/traces")])
def test_spans_are_posted_to_v1_traces(given: str, url: str) -> None:
    assert traces_url(given) == url
