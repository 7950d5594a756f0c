"""Redrive in the pure core: a FAILED/TIMED_OUT/ABORTED execution resumes in the state that
did not succeed, with its original input, its redrive count raised."""

from __future__ import annotations

from typing import Any

from statemachine.interpreter.redrive import REDRIVE_WINDOW_MS, not_redrivable
from statemachine.interpreter.step import advance, new_execution
from statemachine.language.model import compile_machine

NOW = 1_700_000_000_000


def machine(states: dict[str, Any], **top: Any) -> Any:
    return compile_machine({"StartAt": next(iter(states)), "States": states, **top})


def start(m: Any, input: Any) -> dict[str, Any]:
    ex = new_execution(execution_id="e1", name="e1", machine="m", machine_version=1, input=input,
                       now=NOW, salt="salt")
    return advance(m, ex, {"type": "Started"}, now=NOW).execution  # type: ignore[return-value]


def fail_task(m: Any, ex: Any, now: int = NOW + 10) -> Any:
    return advance(m, ex, {"type": "TaskFailed", "token": ex["token"], "error": "Boom",
                           "cause": "down"}, now=now).execution


MACHINE = {
    "Prepare": {"Type": "Pass", "Parameters": {"order.$": "$.id", "ctx.$": "$$.Execution.RedriveCount"},
                "Next": "Call"},
    "Call": {"Type": "Task", "Resource": "http://127.0.0.1:1/x",
             "Parameters": {"order.$": "$.order", "redrives.$": "$$.Execution.RedriveCount"},
             "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1, "IntervalSeconds": 1}],
             "Next": "Done"},
    "Done": {"Type": "Pass", "End": True},
}


def test_failed_task_resumes_with_its_input_and_counts_the_redrive() -> None:
    m = machine(MACHINE)
    ex = start(m, {"id": 7})
    ex = fail_task(m, ex)  # retried once
    fired = advance(m, ex, {"type": "TimerFired", "timer": ex["timer"]}, now=NOW + 2000).execution
    failed = fail_task(m, fired, NOW + 3000)
    assert failed["status"] == "FAILED" and failed["error"] == "Boom"
    assert failed["state"] == "Call" and failed["state_input"] == {"order": 7, "ctx": 0}
    assert not_redrivable(failed, NOW + 4000) is None

    d = advance(m, failed, {"type": "Redriven", "count": 1, "date": NOW + 4000}, now=NOW + 4001)
    ex = d.execution
    assert ex["status"] == "RUNNING" and ex["redrives"] == 1 and ex["redriven_at"] == NOW + 4000
    assert ex["error"] is None and ex["stop"] is None and ex["retry"] == {}
    types = [h["type"] for h in d.history]
    assert types == ["ExecutionRedriven", "TaskStateEntered", "TaskScheduled", "TaskStarted"]
    assert d.history[0]["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert d.history[0]["id"] == failed["seq"] + 1
    [invoke] = [c for c in d.commands if type(c).__name__ == "InvokeTask"]
    assert invoke.input == {"order": 7, "redrives": 1}  # type: ignore[attr-defined]

    done = advance(m, ex, {"type": "TaskSucceeded", "token": ex["token"], "output": {"ok": 1}},
                   now=NOW + 5000).execution
    assert done["status"] == "SUCCEEDED" and done["output"] == {"ok": 1} and done["state"] is None
    assert not_redrivable(done, NOW + 6000) == "Execution is SUCCEEDED and cannot be redriven"


def test_a_repeated_or_stale_redriven_event_changes_nothing() -> None:
    m = machine(MACHINE)
    failed = fail_task(m, start(m, {"id": 1}) | {"retry": {"0": 1}})
    assert failed["status"] == "FAILED"
    once = advance(m, failed, {"type": "Redriven", "count": 1, "date": NOW}, now=NOW).execution
    again = advance(m, once, {"type": "Redriven", "count": 1, "date": NOW}, now=NOW)
    assert again.execution is once and not again.history
    skipped = advance(m, failed, {"type": "Redriven", "count": 2, "date": NOW}, now=NOW)
    assert skipped.execution is failed


def test_aborted_wait_and_timed_out_executions_resume_too() -> None:
    m = machine({"W": {"Type": "Wait", "Seconds": 60, "Next": "P"},
                 "P": {"Type": "Pass", "End": True}}, TimeoutSeconds=30)
    ex = start(m, {"a": 1})
    stopped = advance(m, ex, {"type": "StopRequested", "error": "E", "cause": None}, now=NOW + 1).execution
    assert stopped["status"] == "ABORTED" and stopped["state"] == "W"
    d = advance(m, stopped, {"type": "Redriven", "count": 1, "date": NOW + 2}, now=NOW + 2)
    assert d.execution["status"] == "RUNNING" and d.execution["waiting"] == "timer"
    timers = sorted(c.id for c in d.commands if type(c).__name__ == "StartTimer")  # type: ignore[attr-defined]
    assert timers == ["e1:exec-timeout", f"e1:wait:{d.execution['seq']}"]
    timed_out = advance(m, d.execution, {"type": "TimerFired", "timer": "e1:exec-timeout"},
                        now=NOW + 30_002).execution
    assert timed_out["status"] == "TIMED_OUT" and not_redrivable(timed_out, NOW + 30_003) is None
    again = advance(m, timed_out, {"type": "Redriven", "count": 2, "date": NOW + 40_000}, now=NOW + 40_000)
    assert again.execution["redrives"] == 2 and again.history[1]["type"] == "WaitStateEntered"


def test_what_cannot_be_redriven_says_why() -> None:
    m = machine(MACHINE)
    running = start(m, {"id": 1})
    assert not_redrivable(running, NOW) == "Execution is RUNNING and cannot be redriven"
    assert advance(m, running, {"type": "Redriven", "count": 1, "date": NOW}, now=NOW).execution is running
    failed = fail_task(m, running | {"retry": {"0": 1}})
    late = failed["stop"] + REDRIVE_WINDOW_MS + 1
    assert not_redrivable(failed, late) == "Execution redrivable period exceeded"
    assert advance(m, failed, {"type": "Redriven", "count": 1, "date": late}, now=late).execution is failed
    legacy = failed | {"state": None, "state_input": None}
    assert not_redrivable(legacy, NOW) == "Execution was started before the launch of RedriveExecution"


def test_map_iterations_see_the_roots_redrive_count() -> None:
    m = machine({
        "M": {"Type": "Map", "ItemsPath": "$.items", "End": True,
              "ItemProcessor": {"StartAt": "P", "States": {"P": {
                  "Type": "Pass", "Parameters": {"n.$": "$$.Execution.RedriveCount"}, "End": True}}}},
    })
    ex = start(m, {"items": [1]})
    stopped = advance(m, ex, {"type": "StopRequested", "error": None, "cause": None}, now=NOW).execution
    d = advance(m, stopped, {"type": "Redriven", "count": 1, "date": NOW}, now=NOW)
    from statemachine.interpreter.step import new_child

    [start_children] = [c for c in d.commands if type(c).__name__ == "StartChildren"]
    child = new_child(d.execution, start_children, 0, NOW)  # type: ignore[arg-type]
    assert child["root"] is not None and child["root"].get("redrives") == 1
    child_done = advance(m, child, {"type": "Started"}, now=NOW).execution
    assert child_done["output"] == {"n": 1}


def test_a_failed_map_is_redriven_with_its_group_to_reuse() -> None:
    from statemachine.interpreter.step import new_child

    m = machine({
        "Before": {"Type": "Pass", "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "End": True,
              "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}},
    })
    ex = start(m, {"items": [1, 2, 3]})
    group = ex["group"]
    failed = advance(m, ex, {"type": "ChildrenFinished", "group": group, "failed": {
        "index": 1, "status": "FAILED", "error": "Boom", "cause": None, "threshold": False}},
        now=NOW + 1).execution
    assert failed["status"] == "FAILED" and failed["state"] == "M"
    assert failed["done_group"] == group and failed["group"] is None
    d = advance(m, failed, {"type": "Redriven", "count": 1, "date": NOW + 2}, now=NOW + 2)
    [again] = [c for c in d.commands if type(c).__name__ == "StartChildren"]
    assert again.reuse == group and again.group != group  # type: ignore[attr-defined]
    assert [h["type"] for h in d.history] == ["ExecutionRedriven", "MapStateEntered",
                                             "MapStateStarted"]
    assert "done_group" not in d.execution

    # a child that succeeded before ends at once with its output, writing no event
    child = new_child(d.execution, again, 0, NOW + 3)  # type: ignore[arg-type]
    reused = advance(m, child, {"type": "Started", "reused": {"output": {"was": 0}}}, now=NOW + 3)
    assert reused.execution["status"] == "SUCCEEDED" and reused.execution["output"] == {"was": 0}
    assert reused.history == []
    [finish] = [c for c in reused.commands if type(c).__name__ == "Finish"]
    assert finish.events == 0  # type: ignore[attr-defined]
    # the other children run again
    rerun = advance(m, new_child(d.execution, again, 1, NOW + 3), {"type": "Started"}, now=NOW + 3)  # type: ignore[arg-type]
    assert rerun.history[0]["type"] == "MapIterationStarted"


def test_a_stopped_parallel_reuses_the_group_it_waited_for() -> None:
    m = machine({"Par": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
        {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 5, "End": True}}}]}})
    ex = start(m, {})
    group = ex["group"]
    stopped = advance(m, ex, {"type": "StopRequested", "error": None, "cause": None}, now=NOW).execution
    assert stopped["status"] == "ABORTED" and stopped["group"] == group
    d = advance(m, stopped, {"type": "Redriven", "count": 1, "date": NOW}, now=NOW)
    [again] = [c for c in d.commands if type(c).__name__ == "StartChildren"]
    assert again.reuse == group  # type: ignore[attr-defined]
    assert d.execution["group"] == again.group  # type: ignore[attr-defined]
