"""The spans a real service exports over OTLP/HTTP, as a collector receives them.

A ``cli.py serve --otlp-endpoint`` (its private Redis, in-process workers) and a separate
``cli.py worker --otlp-endpoint`` advance the executions between them; an OTLP receiver
(:class:`~statemachine.bench.otlp_sink.OtlpSink`, decoding with opentelemetry-proto) and a
task service that continues the ``traceparent`` it is sent and reports its own server span
to the same receiver run in this process.  The tree of one execution is asserted:
execution → states → task attempts → the request → the downstream service's span; a start's
``traceparent`` (REST) and ``traceHeader`` (AWS API) are continued; a callback's is a link.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from statemachine.bench.otlp_sink import OtlpSink, ReceivedSpan
from tests.aws.conftest import ROOT, AwsService, _clean_env, start_service, stop_service
from tests.aws.helpers import define, pass_machine
from tests.conftest import app_in_thread

CALLER = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
APPROVER = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
XRAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100"}  # ms: spans leave within a tenth of a second
INTERNAL, SERVER, CLIENT = 1, 2, 3

TRACED = {"StartAt": "Prepare", "States": {
    "Prepare": {"Type": "Pass", "Next": "Charge"},
    "Charge": {"Type": "Task", "Resource": "${TASKS}/charge", "ResultPath": None,
               "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1,
                          "MaxAttempts": 1}], "Next": "Fan"},
    "Fan": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": None, "Next": "Approve",
            "ItemProcessor": {"StartAt": "Each", "States": {"Each": {"Type": "Pass",
                                                                      "End": True}}}},
    "Approve": {"Type": "Task", "Resource": "${TASKS}/approve.waitForTaskToken", "End": True}}}


@dataclass
class Payments:
    """The downstream service: fails a charge's first attempt, asks for approval by
    callback, and exports a SERVER span per request, child of the traceparent it got."""

    sink_url: str
    charges: int = 0
    tokens: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        provider = TracerProvider(resource=Resource.create({"service.name": "payments"}))
        provider.add_span_processor(SimpleSpanProcessor(
            OTLPSpanExporter(endpoint=f"{self.sink_url}/v1/traces")))
        tracer = provider.get_tracer("payments")
        propagator = TraceContextTextMapPropagator()

        async def charge(request: web.Request) -> web.Response:
            with tracer.start_as_current_span("POST /charge", propagator.extract(request.headers),
                                              kind=SpanKind.SERVER):
                self.charges += 1
                if self.charges == 1:
                    return web.json_response({"error": "try again"}, status=503)
                return web.json_response({"charged": True})

        async def approve(request: web.Request) -> web.Response:
            with tracer.start_as_current_span("POST /approve", propagator.extract(request.headers),
                                              kind=SpanKind.SERVER):
                self.tokens.append(request.headers["X-Task-Token"])
                return web.json_response({})

        app = web.Application()
        app.router.add_post("/charge", charge)
        app.router.add_post("/approve", approve)
        return app


@dataclass
class Traced:
    sink: OtlpSink
    payments: Payments
    service: AwsService


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traced]:
    workdir, definitions = with_definition(tmp_path_factory, "traced", TRACED)
    sink = OtlpSink()
    with app_in_thread(sink.app(), "otlp-sink") as sink_url:
        payments = Payments(sink_url)
        with app_in_thread(payments.app(), "payments") as tasks_url:
            service = start_service(workdir, "--otlp-endpoint", sink_url, "--definitions",
                                    str(definitions), "--sub", f"TASKS={tasks_url}",
                                    env=FAST_EXPORT)
            worker = _worker(workdir, sink_url)
            try:
                yield Traced(sink, payments, service)
            finally:
                worker.terminate()
                worker.wait(30)
                stop_service(service)
            assert worker.returncode == 0, (workdir / "worker.log").read_text()[-2000:]


def with_definition(factory: pytest.TempPathFactory, name: str,
                    definition: dict[str, Any]) -> tuple[Path, Path]:
    """A fresh folder for a service, and its definitions folder holding ``name``."""
    workdir = factory.mktemp(name)
    definitions = workdir / "definitions"
    definitions.mkdir()
    (definitions / f"{name}.json").write_text(json.dumps(definition))
    return workdir, definitions


def _worker(workdir: Path, sink_url: str) -> subprocess.Popen[str]:
    """A second process advancing the same executions (it finds serve's Redis in the data
    folder)."""
    path = workdir / "worker.log"
    with path.open("w") as log:
        worker = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "worker", "--concurrency",
                                   "4", "--otlp-endpoint", sink_url], cwd=workdir,
                                  env={**_clean_env(), **FAST_EXPORT}, stdout=log,
                                  stderr=subprocess.STDOUT, text=True)
    _until("worker", lambda: worker.poll() is not None or "worker running" in path.read_text())
    assert worker.poll() is None, path.read_text()
    return worker


def _rest(service: AwsService, path: str, body: Any = None,
          headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        service.endpoint + path, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {service.secret}",
                 "Content-Type": "application/json", **(headers or {})},
        method="GET" if body is None else "POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _until(what: str, check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.05)


def _header(trace: tuple[str, str]) -> str:
    return f"00-{trace[0]}-{trace[1]}-01"


def _one(spans: list[ReceivedSpan], name: str, **where: Any) -> ReceivedSpan:
    found = [s for s in spans if s.name == name
             and all(getattr(s, key) == value for key, value in where.items())]
    assert len(found) == 1, (name, where, [(s.name, s.parent_id) for s in spans])
    return found[0]


def test_one_executions_span_tree_reaches_the_collector(traced: Traced) -> None:
    service, sink = traced.service, traced.sink
    started = _rest(service, "/v1/state-machines/traced/executions", {"input": {"items": [1, 2]}},
                    {"traceparent": _header(CALLER)})
    execution_id = started["executionId"]
    token = _until("approval request", lambda: traced.payments.tokens)[0]
    _rest(service, "/v1/tasks/success", {"taskToken": token, "output": {"approved": True}},
          {"traceparent": _header(APPROVER)})
    done = _until("end", lambda: (d := _rest(service, f"/v1/executions/{execution_id}"))
                  ["status"] != "RUNNING" and d)
    assert done["status"] == "SUCCEEDED", done
    expected = 16  # execution, 4 states, 3 attempts, 3 requests, 3 server spans, 2 iterations
    spans = _until("whole tree", lambda: len(sink.trace(CALLER[0])) >= expected + 2
                   and sink.trace(CALLER[0]))  # + the two iterations' Each states

    execution = _one(spans, "execution traced")
    assert (execution.service, execution.parent_id) == ("statemachine", CALLER[1])
    assert execution.attributes["statemachine.execution.id"] == execution_id
    states = {name: _one(spans, f"state {name}", parent_id=execution.span_id)
              for name in ("Prepare", "Charge", "Fan", "Approve")}
    assert states["Charge"].attributes["statemachine.state.type"] == "Task"
    first, second = (_one(spans, f"Charge attempt {n}", parent_id=states["Charge"].span_id)
                     for n in (1, 2))
    assert first.status == 2 and first.status_message == "States.Http.StatusCode.503"
    assert second.status != 2 and first.end_ns <= second.start_ns
    for attempt in (first, second):
        request = _one(spans, "POST", parent_id=attempt.span_id)
        assert request.kind == CLIENT and request.service == "statemachine"
        downstream = _one(spans, "POST /charge", parent_id=request.span_id)
        assert downstream.service == "payments" and downstream.kind == SERVER
    assert _one(spans, "POST", parent_id=first.span_id).attributes[
        "http.response.status_code"] == 503
    for index in (0, 1):
        iteration = _one(spans, f"iteration {index}", parent_id=states["Fan"].span_id)
        _one(spans, "state Each", parent_id=iteration.span_id)
    approval = _one(spans, "Approve attempt 1", parent_id=states["Approve"].span_id)
    assert approval.links == (APPROVER,), "the callback's traceparent is linked"
    approve_request = _one(spans, "POST", parent_id=approval.span_id)
    _one(spans, "POST /approve", parent_id=approve_request.span_id)
    assert all(s.kind in (INTERNAL, CLIENT) for s in spans if s.service == "statemachine")
    assert all(s.start_ns <= s.end_ns for s in spans)


def test_the_aws_apis_trace_header_is_continued_and_described(traced: Traced) -> None:
    service, sink = traced.service, traced.sink
    sfn = service.client()
    arn = define(service, "xrayed", pass_machine())
    started = sfn.start_execution(stateMachineArn=arn, traceHeader=XRAY)
    described = _until("end", lambda: (d := sfn.describe_execution(
        executionArn=started["executionArn"]))["status"] != "RUNNING" and d)
    assert described["status"] == "SUCCEEDED" and described["traceHeader"] == XRAY
    trace_id = "5759e988bd862e3fe1be46a994272793"
    spans = _until("spans", lambda: len(sink.trace(trace_id)) >= 3 and sink.trace(trace_id))
    execution = _one(spans, "execution xrayed")
    assert execution.parent_id == "53995c3f42cd8ad8"
    assert {s.name for s in spans if s.parent_id == execution.span_id} == {"state One",
                                                                            "state Two"}
