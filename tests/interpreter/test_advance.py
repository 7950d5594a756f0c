"""advance(): events in, decisions out — run-through, tasks, timers, retry, stop, timeouts."""

from __future__ import annotations

import copy
from dataclasses import fields
from typing import Any

from statemachine.interpreter.runthrough import RUN_BUDGET
from statemachine.interpreter.step import advance, new_execution
from statemachine.interpreter.tokens import token_execution
from statemachine.language.model import compile_machine

NOW = 1_700_000_000_000


def machine(states: dict[str, Any], **top: Any) -> Any:
    first = next(iter(states))
    return compile_machine({"StartAt": first, "States": states, **top})


def start(m: Any, input: Any = None) -> tuple[dict[str, Any], Any]:
    ex = new_execution(execution_id="e1", name="e1", machine="m", machine_version=1,
                       input={} if input is None else input, now=NOW, salt="salt")
    d = advance(m, ex, {"type": "Started"}, now=NOW)
    return d.execution, d


def plain(command: Any) -> dict[str, Any]:
    """A command as a dict with its kind as ``type``, for comparing against literals."""
    return {"type": type(command).__name__, **{f.name: getattr(command, f.name) for f in fields(command)}}


def commands(d: Any, kind: str) -> list[dict[str, Any]]:
    return [plain(c) for c in d.commands if type(c).__name__ == kind]


TASK = {"Type": "Task", "Resource": "http://127.0.0.1:1/x", "End": True}


def test_pass_chain_runs_through_in_one_decision() -> None:
    m = machine({
        "A": {"Type": "Pass", "Result": {"n": 1}, "Next": "B"},
        "B": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "C"}]},
        "C": {"Type": "Succeed"},
    })
    ex, d = start(m)
    assert ex["status"] == "SUCCEEDED" and ex["output"] == {"n": 1}
    types = [h["type"] for h in d.history]
    assert types == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ChoiceStateEntered",
                     "ChoiceStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"]
    assert [h["id"] for h in d.history] == list(range(1, 9))
    assert commands(d, "Finish") == [{"type": "Finish", "status": "SUCCEEDED", "output": {"n": 1},
                                      "error": None, "cause": None, "events": 8, "run": None}]


def test_advance_does_not_mutate_its_input_record() -> None:
    m = machine({"A": {"Type": "Pass", "Result": 1, "End": True}})
    ex = new_execution(execution_id="e1", name="e1", machine="m", machine_version=1, input={"a": [1]},
                       now=NOW, salt="s")
    before = copy.deepcopy(ex)
    advance(m, ex, {"type": "Started"}, now=NOW)
    assert ex == before


def test_task_waits_then_result_completes_it() -> None:
    m = machine({"T": {**TASK, "Parameters": {"x.$": "$.a"}}})
    ex, d = start(m, {"a": 5})
    assert ex["status"] == "RUNNING" and ex["waiting"] == "task"
    [invoke] = commands(d, "InvokeTask")
    assert invoke["input"] == {"x": 5} and invoke["token"] == ex["token"]
    assert token_execution(invoke["token"]) == "e1"
    d2 = advance(m, ex, {"type": "TaskSucceeded", "token": invoke["token"], "output": {"ok": True}}, now=NOW + 5)
    assert d2.execution["status"] == "SUCCEEDED" and d2.execution["output"] == {"ok": True}
    assert d2.execution["rev"] == ex["rev"] + 1


def test_wrong_token_and_late_events_change_nothing() -> None:
    m = machine({"T": TASK})
    ex, _ = start(m)
    stale = advance(m, ex, {"type": "TaskSucceeded", "token": "not-it", "output": 1}, now=NOW)
    assert stale.execution is ex and not stale.commands and not stale.history
    done = advance(m, ex, {"type": "TaskSucceeded", "token": ex["token"], "output": 1}, now=NOW).execution
    again = advance(m, done, {"type": "TaskSucceeded", "token": ex["token"], "output": 2}, now=NOW)
    assert again.execution is done and not again.commands


def test_retry_backoff_timers_then_catch() -> None:
    m = machine({
        "T": {**TASK, "End": False, "Next": "Ok",
              "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 2}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught", "ResultPath": "$.err"}]},
        "Ok": {"Type": "Succeed"},
        "Caught": {"Type": "Pass", "End": True},
    })
    ex, _ = start(m, {"in": 1})
    delays = []
    keys = set()
    for _ in range(2):
        d = advance(m, ex, {"type": "TaskFailed", "token": ex["token"], "error": "Boom", "cause": "c"}, now=NOW)
        [timer] = commands(d, "StartTimer")
        delays.append(timer["due"] - NOW)
        d = advance(m, d.execution, timer["event"], now=timer["due"])
        [invoke] = commands(d, "InvokeTask")
        keys.add(invoke["idempotency_key"])
        ex = d.execution
    assert delays == [1000, 2000]
    assert len(keys) == 1, "the Idempotency-Key stays the same across retries of one state entry"
    d = advance(m, ex, {"type": "TaskFailed", "token": ex["token"], "error": "Boom", "cause": "c"}, now=NOW)
    assert d.execution["status"] == "SUCCEEDED"
    assert d.execution["output"] == {"in": 1, "err": {"Error": "Boom", "Cause": "c"}}


def test_jitter_and_max_delay_are_deterministic() -> None:
    m = machine({"T": {**TASK, "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": 5,
                                          "BackoffRate": 3, "MaxDelaySeconds": 15, "JitterStrategy": "FULL"}]}})
    ex, _ = start(m)
    first = advance(m, ex, {"type": "TaskFailed", "token": ex["token"], "error": "X"}, now=NOW)
    second = advance(m, ex, {"type": "TaskFailed", "token": ex["token"], "error": "X"}, now=NOW)
    assert first.execution == second.execution and first.commands == second.commands
    [timer] = commands(first, "StartTimer")
    assert 0 <= timer["due"] - NOW <= 15_000


def test_task_timeout_and_heartbeat_timeout() -> None:
    m = machine({"T": {**TASK, "TimeoutSeconds": 10, "HeartbeatSeconds": 3}})
    ex, d = start(m)
    timers = {c["id"].split(":")[1]: c for c in commands(d, "StartTimer")}
    assert timers["timeout"]["due"] == NOW + 10_000 and timers["heartbeat"]["due"] == NOW + 3_000
    beat = advance(m, ex, {"type": "TaskHeartbeat", "token": ex["token"]}, now=NOW + 2_000)
    [renewed] = commands(beat, "StartTimer")
    assert renewed["id"] == timers["heartbeat"]["id"] and renewed["due"] == NOW + 5_000
    d = advance(m, beat.execution, timers["heartbeat"]["event"], now=NOW + 5_000)
    assert (d.execution["status"], d.execution["error"]) == ("FAILED", "States.HeartbeatTimeout")
    d = advance(m, ex, timers["timeout"]["event"], now=NOW + 10_000)
    assert (d.execution["status"], d.execution["error"]) == ("FAILED", "States.Timeout")
    assert "TaskTimedOut" in [h["type"] for h in d.history]


def test_wait_state_stores_a_due_time() -> None:
    m = machine({"W": {"Type": "Wait", "Seconds": 259200, "End": True}})
    ex, d = start(m, {"k": 1})
    [timer] = commands(d, "StartTimer")
    assert timer["due"] == NOW + 259_200_000 and ex["waiting"] == "timer"
    d = advance(m, ex, timer["event"], now=timer["due"])
    assert d.execution["status"] == "SUCCEEDED" and d.execution["output"] == {"k": 1}


def test_stop_aborts_and_stops_children() -> None:
    m = machine({"M": {"Type": "Map", "End": True, "ItemProcessor": {
        "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}})
    ex, d = start(m, [1, 2, 3])
    [children] = commands(d, "StartChildren")
    assert children["inputs"] == [1, 2, 3]
    d = advance(m, ex, {"type": "StopRequested", "error": "E", "cause": "C"}, now=NOW)
    assert d.execution["status"] == "ABORTED"
    assert commands(d, "StopChildren")[0]["group"] == children["group"]
    assert d.history[-1]["type"] == "ExecutionAborted"


def test_machine_timeout_times_out() -> None:
    m = machine({"W": {"Type": "Wait", "Seconds": 100, "End": True}}, TimeoutSeconds=5)
    ex, d = start(m)
    timer = next(c for c in commands(d, "StartTimer") if c["id"].endswith("exec-timeout"))
    assert timer["due"] == NOW + 5_000
    d = advance(m, ex, timer["event"], now=timer["due"])
    assert d.execution["status"] == "TIMED_OUT" and d.execution["error"] == "States.Timeout"
    assert d.history[-1]["type"] == "ExecutionTimedOut"


def test_children_finished_builds_map_output_in_index_order() -> None:
    m = machine({"M": {"Type": "Map", "End": True, "ItemProcessor": {
        "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}})
    ex, d = start(m, ["a", "b"])
    group = commands(d, "StartChildren")[0]["group"]
    outcomes = [{"status": "SUCCEEDED", "output": "A"}, {"status": "SUCCEEDED", "output": "B"}]
    d = advance(m, ex, {"type": "ChildrenFinished", "group": group, "outcomes": outcomes}, now=NOW)
    assert d.execution["output"] == ["A", "B"]
    wrong = advance(m, ex, {"type": "ChildrenFinished", "group": "nope", "outcomes": outcomes}, now=NOW)
    assert wrong.execution is ex


SPIN = {
    "Spin": {"Type": "Pass", "Next": "Again"},
    "Again": {"Type": "Choice", "Choices": [
        {"Variable": "$.stop", "IsPresent": True, "Next": "Done"}], "Default": "Spin"},
    "Done": {"Type": "Succeed"},
}


def run_through(m: Any, input: Any = None) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """Start, then deliver Continue while the run-through pauses: (record, history, pieces)."""
    ex, d = start(m, input)
    history, pieces = list(d.history), 1
    while ex["status"] == "RUNNING" and ex["waiting"] == "continue":
        assert [c["type"] for c in map(plain, d.commands)] == ["Continue"]
        assert len(d.history) <= RUN_BUDGET + 2  # checked between states: one state's events
        d = advance(m, ex, {"type": "Continue"}, now=NOW)
        ex, pieces = d.execution, pieces + 1
        history += d.history
    return ex, history, pieces


def test_a_loop_with_no_way_out_fails_at_the_history_limit() -> None:
    """AWS's rule: event 25,000 may only be the execution's end; else it is ExecutionFailed
    with States.Runtime.  It is also what stops a run-through that would never end (counted
    over the pieces of one run-through: what earlier durable steps wrote does not count)."""
    ex, history, pieces = run_through(machine(SPIN))
    assert ex["status"] == "FAILED" and ex["error"] == "States.Runtime"
    assert ex["cause"] == "The execution reached the maximum number of history events (25000)."
    assert 24 <= pieces <= 26 and "burst" not in ex
    assert [e["id"] for e in history] == list(range(1, 25_001))
    assert history[-1]["type"] == "ExecutionFailed"
    assert history[-1]["executionFailedEventDetails"]["cause"] == ex["cause"]
    assert history[-2]["type"] != "ExecutionFailed"


def test_a_long_run_through_goes_on_in_pieces_with_the_same_history() -> None:
    """RUN_BUDGET events per advance, then Continue: the same events and output as in one go."""
    counter = {
        "Init": {"Type": "Pass", "Result": 0, "ResultPath": "$.n", "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThanEquals": 600, "Next": "Done"}], "Default": "Bump"},
        "Bump": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Check"},
        "Done": {"Type": "Succeed"},
    }
    ex, history, pieces = run_through(machine(counter))
    assert ex["status"] == "SUCCEEDED" and ex["output"] == {"n": 600}
    assert pieces == 3 and "burst" not in ex
    assert [e["id"] for e in history] == list(range(1, len(history) + 1))
    assert sum(1 for e in history if e["type"] == "PassStateEntered") == 601


def test_a_paused_run_through_stops_and_ignores_a_stale_continue() -> None:
    m = machine(SPIN)
    ex, _ = start(m)
    assert ex["waiting"] == "continue" and ex["state"] in SPIN
    stopped = advance(m, ex, {"type": "StopRequested", "error": "Halt", "cause": "by hand"}, now=NOW)
    assert stopped.execution["status"] == "ABORTED" and "burst" not in stopped.execution
    assert stopped.history[-1]["type"] == "ExecutionAborted"
    stale = advance(m, stopped.execution, {"type": "Continue"}, now=NOW)
    assert stale.execution is stopped.execution and not stale.history and not stale.commands


def test_the_history_limit_counts_the_events_of_one_advance() -> None:
    """A long history written by many steps (or a big Map's children) goes on; a run-through
    that would write 25,000 events in one go stops at the limit."""
    m = machine({"T": {"Type": "Task", "Resource": "http://127.0.0.1:1/x", "Next": "T"}})
    ex, d = start(m)
    ex = {**ex, "seq": 40_000}  # as if 40,000 events had been written by earlier steps
    [invoke] = commands(d, "InvokeTask")
    done = advance(m, ex, {"type": "TaskSucceeded", "token": invoke["token"], "output": {}}, now=NOW)
    assert done.execution["status"] == "RUNNING" and commands(done, "InvokeTask")
    assert done.history[0]["id"] == 40_001
