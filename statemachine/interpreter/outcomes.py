"""Leaving a state: with a result (the output data flow of its query language, the exit
event, the transition or the execution's end), or with an error (ASL "Error Handling":
retry, then catch, then fail).
"""

from __future__ import annotations

from typing import Any

from statemachine.interpreter import failures as F
from statemachine.interpreter.commands import CancelTimer, Finish
from statemachine.interpreter.context import Go, Step
from statemachine.interpreter.formats import EXITED, dumps, error_details, payload
from statemachine.interpreter.records import Status
from statemachine.interpreter.run_results import run_fields
from statemachine.language.model import Catcher, State
from statemachine.language.scope import Entropy, StatesError


def complete(step: Step, state: State, raw_input: Any, result: Any) -> Go:
    """Finish ``state`` with ``result``: the output pipeline, Assign, exit, transition."""
    try:
        output = state.flow.output(step, state, raw_input, result)
        text = payload(output, state.name)  # serialised once: for the limits and the history
    except StatesError as err:
        return fail_state(step, state, err.error, step.cause_of(err))
    return leave(step, state, output, text)


def leave(step: Step, state: State, output: Any, text: str | None = None) -> Go:
    """Exit ``state`` with ``output`` (``text``: its JSON, when the caller has it already;
    else it is checked against the payload limits here, failing the state over them)."""
    if text is None:
        try:
            text = payload(output, state.name)
        except StatesError as err:
            return fail_state(step, state, err.error, step.cause_of(err))
    step.emit(
        EXITED[state.type],
        {"name": state.name, "output": text, "outputDetails": {"truncated": False}},
    )
    if state.end or state.type == "Succeed":
        finish(step, Status.SUCCEEDED, output=output)
        return None
    assert state.next is not None
    return state.next, output


def finish(step: Step, status: Status, *, output: Any = None, error: str | None = None,
           cause: str | None = None, quiet: bool = False) -> None:
    """End the execution: its record, its end event (a Map iteration's, for a Map child;
    none when ``quiet``), and ``Finish`` for the runtime."""
    ex = step.ex
    ex["status"] = status
    ex["output"] = output
    ex["error"] = error
    ex["cause"] = cause
    ex["stop"] = step.now
    if status == Status.SUCCEEDED:
        # Else kept: the state that did not succeed, and its input, are where a redrive resumes.
        ex["state"] = None
        ex["state_input"] = None
    ex["token"] = None
    ex["timer"] = None
    ex["waiting"] = None
    parent = ex["parent"]
    own = "map_run" in ex  # a Map Run's child: an execution of its own, ending as one
    if parent is None or (own and not quiet):
        match status:
            case Status.SUCCEEDED:
                step.emit("ExecutionSucceeded", {"output": dumps(output), "outputDetails": {"truncated": False}})
            case Status.FAILED:
                step.emit("ExecutionFailed", error_details(error, cause))
            case Status.TIMED_OUT:
                step.emit("ExecutionTimedOut", error_details(error, cause))
            case _:
                step.emit("ExecutionAborted", error_details(error, cause))
        if parent is None and step.timeout_s() is not None:
            step.commands.append(CancelTimer(f"{ex['id']}:exec-timeout"))
    elif ex["item"] is not None and not quiet and not own:
        kind = {"SUCCEEDED": "MapIterationSucceeded", "FAILED": "MapIterationFailed"}.get(
            status, "MapIterationAborted"
        )
        step.emit(kind, {"index": parent["index"], "name": parent["group"]})
    # events: how far the parent's numbering moves on (none for a Map Run's child: its events
    # are in its own history)
    events = 0 if own else ex["seq"] - ex.get("seq0", 0)
    step.commands.append(Finish(status, output, error, cause, events, run_fields(step)))


def fail_state(step: Step, state: State, error: str, cause: str | None) -> Go:
    """``state`` failed with ``error``: retry it, or catch, or fail the execution."""
    ex = step.ex
    for i, retrier in enumerate(state.retry):
        if F.matches(retrier.errors, error):
            attempts = ex["retry"].get(str(i), 0)
            if attempts >= retrier.max_attempts:
                break
            retry = dict(ex["retry"])
            retry[str(i)] = attempts + 1
            ex["retry"] = retry
            delay = F.retry_delay(retrier, attempts, Entropy(f"{ex['salt']}:{ex['seq']}:jitter"))
            timer = f"{ex['id']}:retry:{ex['seq']}"
            ex["waiting"] = "retry"
            ex["timer"] = timer
            ex["token"] = None
            step.timer(timer, step.now + int(delay * 1000))
            return None
    for catcher in state.catch:
        if F.matches(catcher.errors, error):
            return catch(step, state, catcher, error, cause)
    finish(step, Status.FAILED, error=error, cause=cause)
    return None


def catch(step: Step, state: State, catcher: Catcher, error: str, cause: str | None) -> Go:
    """Leave ``state`` through ``catcher``: its output from the error output, then its Next."""
    raw_input = step.ex["state_input"]
    error_output = {"Error": error, "Cause": cause} if cause is not None else {"Error": error}
    try:
        output = state.flow.caught(step, state, catcher, raw_input, error_output)
        text = payload(output, state.name)
    except StatesError as err:
        finish(step, Status.FAILED, error=err.error, cause=step.cause_of(err))
        return None
    step.emit(EXITED[state.type], {"name": state.name, "output": text, "outputDetails": {"truncated": False}})
    return catcher.next, output
