"""``OTEL_TRACES_SAMPLER`` honoured by a real service: which executions' spans reach the
collector, and the sampled flag their task requests carry downstream.

``cli.py serve --otlp-endpoint`` runs with ``parentbased_traceidratio`` at 0.5: a start
whose ``traceparent`` says sampled or not is followed whatever its trace id; a start with
no parent's word (an X-Ray ``traceHeader`` without ``Parent``) is sampled by its trace id's
lower 64 bits, below or above half.  The task service records the ``traceparent`` of each
request it gets.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from statemachine.bench.otlp_sink import OtlpSink
from tests.aws.conftest import AwsService, start_service, stop_service
from tests.conftest import app_in_thread
from tests.tracing.test_otlp import FAST_EXPORT, _rest, _until, with_definition

LOW, HIGH = "0" * 15 + "1", "f" * 16  # the lower 64 bits of a trace id: sampled, not sampled
PARENT = "b7ad6b7169203331"
CALLED = {"StartAt": "Call", "States": {
    "Call": {"Type": "Task", "Resource": "${TASKS}/call", "ResultPath": None, "End": True}}}


@dataclass
class Calls:
    """The task service: the ``traceparent`` of every request, by the trace id it names."""

    flags: dict[str, str] = field(default_factory=dict)

    def app(self) -> web.Application:
        async def call(request: web.Request) -> web.Response:
            _, trace_id, _, flag = request.headers["traceparent"].split("-")
            self.flags[trace_id] = flag
            return web.json_response({})

        app = web.Application()
        app.router.add_post("/call", call)
        return app


@dataclass
class Sampled:
    sink: OtlpSink
    calls: Calls
    service: AwsService


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sampled]:
    workdir, definitions = with_definition(tmp_path_factory, "called", CALLED)
    sink, calls = OtlpSink(), Calls()
    with app_in_thread(sink.app(), "otlp-sink") as sink_url, \
            app_in_thread(calls.app(), "calls") as tasks_url:
        service = start_service(
            workdir, "--otlp-endpoint", sink_url, "--definitions", str(definitions),
            "--sub", f"TASKS={tasks_url}",
            env={**FAST_EXPORT, "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                 "OTEL_TRACES_SAMPLER_ARG": "0.5"})
        try:
            yield Sampled(sink, calls, service)
        finally:
            stop_service(service)


def _trace(prefix: str, lower: str) -> str:
    return prefix * 16 + lower


def _succeeded(service: AwsService, execution_id: str) -> None:
    done = _until("end", lambda: (d := _rest(service, f"/v1/executions/{execution_id}"))
                  ["status"] != "RUNNING" and d)
    assert done["status"] == "SUCCEEDED", done


def test_the_sampler_decides_which_executions_are_recorded_and_tells_downstream(
        sampled: Sampled) -> None:
    service, sink, calls = sampled.service, sampled.sink, sampled.calls
    sfn = service.client()
    arn = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]
               if m["name"] == "called")

    def rest(trace_id: str, flag: str) -> None:
        started = _rest(service, "/v1/state-machines/called/executions", {"input": {}},
                        {"traceparent": f"00-{trace_id}-{PARENT}-{flag}"})
        _succeeded(service, started["executionId"])

    def aws(trace_id: str) -> None:  # X-Ray's Root alone: no parent, so no parent's word
        started = sfn.start_execution(
            stateMachineArn=arn, traceHeader=f"Root=1-{trace_id[:8]}-{trace_id[8:]}")
        done = _until("end", lambda: (d := sfn.describe_execution(
            executionArn=started["executionArn"]))["status"] != "RUNNING" and d)
        assert done["status"] == "SUCCEEDED", done

    # The unsampled first: once the sampled ones' spans are in, theirs would be too (one
    # process, its spans exported in order).
    unsampled = {"parent says no": _trace("a", LOW), "ratio says no": _trace("b", HIGH)}
    rest(unsampled["parent says no"], "00")
    aws(unsampled["ratio says no"])
    chosen = {"parent says yes": _trace("c", HIGH), "ratio says yes": _trace("d", LOW)}
    rest(chosen["parent says yes"], "01")
    aws(chosen["ratio says yes"])

    for why, trace_id in chosen.items():
        spans = _until(f"spans ({why})", lambda t=trace_id: any(
            s.name == "execution called" for s in sink.trace(t)) and sink.trace(t))
        assert {s.name for s in spans} >= {"execution called", "state Call", "Call attempt 1",
                                           "POST"}, why
        assert calls.flags[trace_id] == "01", why
    time.sleep(0.5)  # a few more export rounds: nothing else arrives
    for why, trace_id in unsampled.items():
        assert sink.trace(trace_id) == [], why
        assert calls.flags[trace_id] == "00", why


def test_an_unsampled_executions_requests_say_so_with_tracing_off_too() -> None:
    from statemachine.interpreter.commands import InvokeTask
    from statemachine.runtime.invokers.base import InvokerSettings, task_headers

    fields: dict[str, Any] = {
        "token": "x1.tok", "resource": "http://svc/x", "input": {}, "state": "Call",
        "entered": 2, "idempotency_key": "key-2", "attempt": 0, "timeout_s": None,
        "heartbeat_s": None, "credentials": None, "execution": "x1",
        "trace": f"00-{_trace('e', LOW)}-{PARENT}-00"}
    headers = task_headers(InvokeTask(**fields), InvokerSettings(), callback=False)
    assert headers["traceparent"].endswith("-00")
