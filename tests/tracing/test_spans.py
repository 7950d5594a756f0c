"""The spans each transition ends, from advance()'s real decisions: one execution's tree,
retries as attempts, a callback's link, a failure's error, a redrive's new run."""

from __future__ import annotations

from typing import Any

from statemachine.interpreter.commands import InvokeTask, StartChildren, StartTimer
from statemachine.interpreter.records import Execution
from statemachine.interpreter.step import Decision, advance, new_child, new_execution
from statemachine.language.model import Machine, compile_machine
from statemachine.runtime.tracing.context import (
    TraceContext,
    attempt_span,
    children_trace,
    execution_context,
    execution_span,
    state_span,
)
from statemachine.runtime.tracing.sampling import Sampler
from statemachine.runtime.tracing.spans import SpanRecord, public_url, transition_spans

NOW = 1_700_000_000_000
CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Run:
    """One execution driven through advance(), collecting the spans of every transition."""

    def __init__(self, definition: dict[str, Any], trace: str | None = None) -> None:
        self.machine: Machine = compile_machine(definition)
        self.record: Execution = new_execution(execution_id="x1", name="x1", machine="m",
                                               machine_version=1, input={}, now=NOW, salt="s")
        if trace is not None:
            self.record["trace"] = trace
        self.spans: list[SpanRecord] = []
        self.now = NOW

    def deliver(self, event: dict[str, Any], after_ms: int = 10) -> Decision:
        self.now += after_ms
        decision = advance(self.machine, self.record, event, now=self.now)  # type: ignore[arg-type]
        self.spans += transition_spans(self.machine, self.record, decision.execution,
                                       decision.history, event, self.now)
        self.record = decision.execution
        return decision

    def named(self, name: str) -> SpanRecord:
        [found] = [s for s in self.spans if s.name == name]
        return found


def _task(decision: Decision) -> InvokeTask:
    [task] = [c for c in decision.commands if isinstance(c, InvokeTask)]
    return task


RETRIED = {"StartAt": "Prepare", "States": {
    "Prepare": {"Type": "Pass", "Next": "Charge"},
    "Charge": {"Type": "Task", "Resource": "https://user:pw@pay.example/charge?key=secret",
               "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}],
               "Next": "Wait"},
    "Wait": {"Type": "Task", "Resource": "http://svc/approve.waitForTaskToken", "End": True}}}


def test_one_executions_tree_from_its_transitions() -> None:
    run = Run(RETRIED)
    first = _task(run.deliver({"type": "Started"}))
    assert [s.name for s in run.spans] == ["state Prepare"], "nothing open is emitted"
    failed = run.deliver({"type": "TaskFailed", "token": first.token, "error": "Boom",
                          "cause": "the service said no"}, after_ms=40)
    [timer] = [c for c in failed.commands if isinstance(c, StartTimer)]
    retried = _task(run.deliver({"type": "TimerFired", "timer": timer.id}, after_ms=1000))
    assert retried.attempt == 1 and first.attempt == 0
    waiting = _task(run.deliver({"type": "TaskSucceeded", "token": retried.token, "output": {}},
                                after_ms=30))
    run.deliver({"type": "TaskSucceeded", "token": waiting.token, "output": {"ok": 1},
                 "traceparent": CALLER}, after_ms=500)
    assert run.record["status"] == "SUCCEEDED"

    trace = execution_context("x1", None).trace_id
    assert {s.context.trace_id for s in run.spans} == {trace}
    execution = run.named("execution m")
    assert execution.context.parent is None and execution.span_id == execution_span("x1")
    assert (execution.start_ns, execution.end_ns) == (NOW * 10**6, run.now * 10**6)
    assert execution.attributes["statemachine.execution.status"] == "SUCCEEDED"
    states = [s for s in run.spans if s.name.startswith("state ")]
    assert [s.name for s in states] == ["state Prepare", "state Charge", "state Wait"]
    assert all(s.context.parent == execution.span_id and s.error is None for s in states)
    charge = run.named("state Charge")
    assert charge.span_id == state_span("x1", first.entered)
    one, two = run.named("Charge attempt 1"), run.named("Charge attempt 2")
    assert one.context.parent == two.context.parent == charge.span_id
    assert one.span_id == attempt_span("x1", first.entered, 0) and one.error == "Boom"
    assert two.span_id == attempt_span("x1", retried.entered, 1) and two.error is None
    assert one.end_ns <= two.start_ns, "the retry's wait lies between the attempts"
    assert two.start_ns == (NOW + 10 + 40 + 1000) * 10**6, "the attempt starts when scheduled"
    assert one.attributes["statemachine.task.resource"] == "https://pay.example/charge"
    callback = run.named("Wait attempt 1")
    assert callback.links == (TraceContext("0af7651916cd43dd8448eb211c80319c",
                                           "b7ad6b7169203331", True),)
    assert callback.end_ns - callback.start_ns == 500 * 10**6
    assert not any("secret" in str(s) or "the service said no" in str(s) for s in run.spans)


def test_a_start_with_a_traceparent_continues_it() -> None:
    run = Run({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, trace=CALLER)
    run.deliver({"type": "Started"})
    execution = run.named("execution m")
    assert execution.context == TraceContext("0af7651916cd43dd8448eb211c80319c",
                                             "b7ad6b7169203331", True)
    assert run.named("state P").context.trace_id == "0af7651916cd43dd8448eb211c80319c"


def test_a_failed_execution_ends_its_open_spans_with_the_error() -> None:
    run = Run({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "http://svc/x",
                                                "End": True}}})
    task = _task(run.deliver({"type": "Started"}))
    run.deliver({"type": "TaskFailed", "token": task.token, "error": "Nope", "cause": None})
    assert {s.name: s.error for s in run.spans} == {
        "T attempt 1": "Nope", "state T": "Nope", "execution m": "Nope"}


def test_a_stop_ends_the_waiting_attempt() -> None:
    run = Run({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "http://svc/x",
                                                "End": True}}})
    run.deliver({"type": "Started"})
    run.deliver({"type": "StopRequested", "error": "Halt", "cause": None})
    assert run.record["status"] == "ABORTED"
    assert {s.name: s.error for s in run.spans} == {
        "T attempt 1": "Halt", "state T": "Halt", "execution m": "Halt"}


def test_a_parallel_states_children_hang_under_its_span() -> None:
    run = Run({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}]}}})
    decision = run.deliver({"type": "Started"})
    [group] = [c for c in decision.commands if isinstance(c, StartChildren)]
    parent = {**run.record, "trace": children_trace(run.record, None, Sampler().samples)}  # as the planner hands it on
    branch = new_child(parent, group, 1, run.now)  # type: ignore[arg-type]
    ended = advance(run.machine, branch, {"type": "Started"}, now=run.now + 5)
    spans = transition_spans(run.machine, branch, ended.execution, ended.history,
                             {"type": "Started"}, run.now + 5)
    by_name = {s.name: s for s in spans}
    assert set(by_name) == {"state B", "branch 1"}
    assert by_name["branch 1"].context.parent == state_span("x1", run.record["entered"])
    assert by_name["state B"].context.parent == by_name["branch 1"].span_id
    assert by_name["branch 1"].context.trace_id == execution_context("x1", None).trace_id


def test_urls_shown_in_spans_keep_no_secret() -> None:
    assert public_url("https://u:p@h:8/a/b?token=x#f") == "https://h:8/a/b"
    assert public_url("arn:aws:states:::sqs:sendMessage") == "arn:aws:states:::sqs:sendMessage"


def test_a_redrive_is_a_new_run_of_the_execution() -> None:
    run = Run({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "http://svc/x",
                                                "End": True}}})
    first = _task(run.deliver({"type": "Started"}))
    run.deliver({"type": "TaskFailed", "token": first.token, "error": "Nope", "cause": None})
    again = _task(run.deliver({"type": "Redriven", "count": 1, "date": run.now + 100},
                              after_ms=100))
    run.deliver({"type": "TaskSucceeded", "token": again.token, "output": {}})
    first_run, second_run = [s for s in run.spans if s.name == "execution m"]
    assert first_run.span_id == execution_span("x1", 0) and first_run.error == "Nope"
    assert second_run.span_id == execution_span("x1", 1) and second_run.error is None
    assert second_run.start_ns == first_run.end_ns + 100 * 10**6
    assert second_run.attributes["statemachine.execution.redrive_count"] == 1
    retried = [s for s in run.spans if s.name == "state T"][1]
    assert retried.context.parent == second_run.span_id
