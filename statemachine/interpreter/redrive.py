"""Redrive (AWS's ``RedriveExecution``): a FAILED, TIMED_OUT or ABORTED top-level execution
resumes in the state that did not succeed, with that state's original input, under the
same id.

What AWS allows (``redrivable``), and what the ``Redriven`` event does to the record
(``redriven``): status back to RUNNING, ``ExecutionRedriven`` with the new redrive count,
the state entered again (its retry counters start over), the execution's timeout armed
again.  The state and its raw input are what :func:`~.outcomes.finish` keeps in the
record of an execution that did not succeed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never

from statemachine.interpreter import events as E
from statemachine.interpreter import failures as F
from statemachine.interpreter.context import HISTORY_LIMIT_CAUSE, Step
from statemachine.interpreter.records import Execution, Status
from statemachine.interpreter.runthrough import enter, run

REDRIVE_WINDOW_MS = 14 * 24 * 3600 * 1000
"""AWS's redrivable period: 14 days from the execution's end."""


class RedriveStatus(StrEnum):
    """``redriveStatus`` of DescribeExecution (REDRIVABLE_BY_MAP_RUN is a Distributed Map's)."""

    REDRIVABLE = "REDRIVABLE"
    NOT_REDRIVABLE = "NOT_REDRIVABLE"
    REDRIVABLE_BY_MAP_RUN = "REDRIVABLE_BY_MAP_RUN"


def not_redrivable(ex: Execution, now: int) -> str | None:
    """Why ``ex`` cannot be redriven at ``now`` (AWS's ``redriveStatusReason`` wording), or
    None when it can."""
    status = ex["status"]
    match status:
        case Status.RUNNING | Status.SUCCEEDED:
            return f"Execution is {status} and cannot be redriven"
        case Status.FAILED | Status.TIMED_OUT | Status.ABORTED:
            pass
        case _:
            assert_never(status)
    if ex["parent"] is not None:
        return "Only a top-level execution can be redriven"
    if ex["error"] == F.RUNTIME and ex["cause"] == HISTORY_LIMIT_CAUSE:
        return "Execution history event limit exceeded"
    if ex["state"] is None:
        # Ended before this service kept the state to resume in (or before any state).
        return "Execution was started before the launch of RedriveExecution"
    stop = ex["stop"]
    if stop is not None and now - stop > REDRIVE_WINDOW_MS:
        return "Execution redrivable period exceeded"
    return None


def redriven(step: Step, event: E.Redriven) -> bool:
    """Resume the execution in its unsuccessful state; nothing for a record that is not
    redrivable or an event whose count is not the next one (a stale or repeated event)."""
    ex = step.ex
    if not_redrivable(ex, event["date"]) is not None or event["count"] != ex.get("redrives", 0) + 1:
        return False
    name, value = ex["state"], ex["state_input"]
    assert name is not None
    ex["status"] = Status.RUNNING
    ex["output"] = ex["error"] = ex["cause"] = None
    ex["stop"] = None
    ex["redrives"] = event["count"]
    ex["redriven_at"] = event["date"]
    # A Map/Parallel that failed (or was stopped) runs again only its unsuccessful children.
    if step.machine.states[name].type in ("Map", "Parallel"):
        step.reuse = ex["group"] or ex.get("done_group")
    ex["group"] = None
    step.emit("ExecutionRedriven", {"redriveCount": event["count"]})
    if step.root.timeout_seconds is not None:
        step.timer(f"{ex['id']}:exec-timeout", step.now + int(step.root.timeout_seconds * 1000))
    go = enter(step, step.machine.states[name], value)
    step.reuse = None  # for the resumed state's own children only
    run(step, go)
    return True
