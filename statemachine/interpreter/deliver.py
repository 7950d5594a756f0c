"""What each event does to a record: :func:`deliver` hands it to its handler.

A handler returns whether the record changed.  An event that does not match what the record
waits for (an old token, an old timer) changes nothing: that is how duplicates and late
callbacks are made harmless.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, Never

from statemachine.interpreter import events as E
from statemachine.interpreter import failures as F
from statemachine.interpreter.branches import (
    children_done,
    items_read,
    page_failed,
    page_read,
    page_wanted,
    read_failed,
    results_written,
    write_failed,
)
from statemachine.interpreter.children import is_run
from statemachine.interpreter.commands import CancelTimer, StopChildren
from statemachine.interpreter.context import HistoryFull, Step
from statemachine.interpreter.formats import dumps, error_details, payload, place_of
from statemachine.interpreter.outcomes import complete, fail_state, finish
from statemachine.interpreter.records import Status
from statemachine.interpreter.redrive import redriven
from statemachine.interpreter.runthrough import act, run
from statemachine.interpreter.task import (
    cancel_task_timers,
    resource_details,
    task_event,
    task_label,
)
from statemachine.interpreter.wait import wait_done
from statemachine.language.model import State
from statemachine.language.scope import StatesError


def deliver(step: Step, event: E.Event) -> bool:
    """Apply ``event`` to ``step``'s record; whether the record changed."""
    if event["type"] == "Started":
        return _on_started(step, event)
    if event["type"] == "TaskSucceeded":
        return _on_task_succeeded(step, event)
    if event["type"] == "TaskFailed":
        return _on_task_failed(step, event)
    if event["type"] == "TaskHeartbeat":
        return _on_heartbeat(step, event)
    if event["type"] == "TaskTaken":
        return _on_taken(step, event)
    if event["type"] == "TaskSubmitted":
        return _on_submitted(step, event)
    if event["type"] == "TimerFired":
        return _on_timer(step, event)
    if event["type"] == "ChildrenFinished":
        return _on_children(step, event)
    if event["type"] == "PageWanted":
        return _on_page_wanted(step, event)
    if event["type"] == "StopRequested":
        return _on_stop(step, event)
    if event["type"] == "Continue":
        return _on_continue(step, event)
    if event["type"] == "Redriven":
        return redriven(step, event)
    return _unknown(event)


def _unknown(event: Never) -> bool:
    """An event of a kind this core does not know (a corrupt work item, a newer runtime's):
    nothing happens, as for a stale one.  ``event: Never`` makes mypy prove that every kind
    of :data:`~statemachine.interpreter.events.Event` is handled above."""
    return False


def stop_children(step: Step, error: str | None, cause: str | None) -> None:
    """Whatever the execution waits for is called off: its children, its task's timers, its timer."""
    ex = step.ex
    if ex["waiting"] == "children" and ex["group"] is not None:
        if is_run(ex["group"]):  # a Distributed Map's Map Run ends with it
            with suppress(HistoryFull):  # a full history keeps its room for the end event
                step.emit("MapRunAborted")
        step.commands.append(StopChildren(ex["group"], error, cause))
    if ex["waiting"] == "task":
        cancel_task_timers(step)
    if ex["timer"] is not None:
        step.commands.append(CancelTimer(ex["timer"]))


def _on_started(step: Step, event: E.Started) -> bool:
    ex = step.ex
    if ex["rev"] != 0:
        return False
    parent = ex["parent"]
    reused = event.get("reused")
    if parent is not None and reused is not None:  # succeeded before a redrive: not run again
        finish(step, Status.SUCCEEDED, output=reused["output"], quiet=True)
        return True
    if parent is None or "map_run" in ex:  # a Map Run's child is an execution of its own
        step.emit(
            "ExecutionStarted",
            {"input": dumps(ex["input"]), "inputDetails": {"truncated": False}, "roleArn": place_of(ex.get("place")).role},
        )
        limit = step.timeout_s() if parent is None else None
        if limit is not None:
            step.timer(f"{ex['id']}:exec-timeout", step.now + int(limit * 1000))
    else:
        if ex["item"] is not None:
            step.emit("MapIterationStarted", {"index": parent["index"], "name": parent["group"]})
    run(step, (step.machine.start_at, ex["input"]))
    return True


def _pending_task(step: Step, event: E.TaskSucceeded | E.TaskFailed) -> State | None:
    """The Task state this result is for, its timers cancelled; None for a stale token."""
    ex = step.ex
    if ex["waiting"] != "task" or event.get("token") != ex["token"]:
        return None
    cancel_task_timers(step)
    state = step.current()
    if "submitted" in event and ex.get("submitted") != ex["token"]:
        # the job ended before its start's TaskSubmitted arrived: AWS's order is kept
        _emit_submitted(step, state, event["submitted"])
    ex.pop("submitted", None)
    return state


def _page_pending(step: Step, event: E.TaskSucceeded | E.TaskFailed) -> bool:
    """Whether ``event`` is the result of the page read a Distributed Map's open group
    waits for (alongside its children)."""
    ex = step.ex
    page = ex.get("page")
    return (ex["waiting"] == "children" and page is not None and page["token"] is not None
            and event.get("token") == page["token"])


def _on_page_wanted(step: Step, event: E.PageWanted) -> bool:
    ex = step.ex
    page = ex.get("page")
    if (ex["waiting"] != "children" or ex["group"] != event.get("group") or page is None
            or page["token"] is not None):
        return False  # stale, or the page is being read already
    page_wanted(step, step.current())
    return True


def _on_task_succeeded(step: Step, event: E.TaskSucceeded) -> bool:
    ex = step.ex
    if _page_pending(step, event):
        run(step, page_read(step, step.current(), event.get("output")))
        return True
    state = _pending_task(step, event)
    if state is None:
        return False
    output = event.get("output")
    if state.type == "Map":  # a Distributed Map's items read, or its results written
        ex["waiting"] = None
        ex["token"] = None
        if ex.get("done_group"):  # its children have ended: this was the ResultWriter
            run(step, results_written(step, state, output))
        else:  # (no task events, no size limit)
            run(step, items_read(step, state, output))
        return True
    try:
        text = payload(output, task_label(state))
    except StatesError as err:  # over a payload limit: the task failed
        error, cause = err.error, err.cause
        step.emit(task_event(state, "Failed"), {**resource_details(state), **error_details(error, cause)})
        ex["waiting"] = None
        ex["token"] = None
        run(step, fail_state(step, state, error, cause))
        return True
    step.emit(
        task_event(state, "Succeeded"),
        {**resource_details(state), "output": text, "outputDetails": {"truncated": False}},
    )
    ex["waiting"] = None
    ex["token"] = None
    run(step, complete(step, state, ex["state_input"], output))
    return True


def _on_task_failed(step: Step, event: E.TaskFailed) -> bool:
    ex = step.ex
    if _page_pending(step, event):
        run(step, page_failed(step, step.current(), event.get("error") or F.TASK_FAILED,
                              event.get("cause")))
        return True
    state = _pending_task(step, event)
    if state is None:
        return False
    error = event.get("error") or F.TASK_FAILED
    cause = event.get("cause")
    if state.type == "Map":  # a Distributed Map's items could not be read, or written
        ex["waiting"] = None
        ex["token"] = None
        failing = write_failed if ex.get("done_group") else read_failed
        run(step, failing(step, state, error, cause))
        return True
    step.emit(task_event(state, "Failed"), {**resource_details(state), **error_details(error, cause)})
    ex["waiting"] = None
    ex["token"] = None
    run(step, fail_state(step, state, error, cause))
    return True


def _on_heartbeat(step: Step, event: E.TaskHeartbeat) -> bool:
    ex = step.ex
    if ex["waiting"] != "task" or event.get("token") != ex["token"]:
        return False
    hb = ex.get("heartbeat_s")
    if hb:
        step.timer(f"{ex['id']}:heartbeat:{ex['token']}", step.now + int(hb * 1000))
    return True


def _on_taken(step: Step, event: E.TaskTaken) -> bool:
    """An activity worker took the task: ``ActivityStarted`` (AWS writes it then, not when
    the task is scheduled)."""
    ex = step.ex
    if ex["waiting"] != "task" or event.get("token") != ex["token"]:
        return False
    worker = event.get("worker")
    step.emit("ActivityStarted", {"workerName": worker} if worker else None)
    return True


def _on_submitted(step: Step, event: E.TaskSubmitted) -> bool:
    """A ``.sync`` task's job started: ``TaskSubmitted`` with the start's response (AWS
    writes it between ``TaskStarted`` and the job's end); the task still waits."""
    ex = step.ex
    if ex["waiting"] != "task" or event.get("token") != ex["token"]:
        return False
    _emit_submitted(step, step.current(), event.get("output"))
    ex["submitted"] = str(ex["token"])
    return True


def _emit_submitted(step: Step, state: State, output: Any) -> None:
    step.emit("TaskSubmitted", {**resource_details(state), "output": dumps(output),
                                "outputDetails": {"truncated": False}})


def _on_timer(step: Step, event: E.TimerFired) -> bool:
    ex = step.ex
    timer = event.get("timer")
    if timer == f"{ex['id']}:exec-timeout":
        stop_children(step, F.TIMEOUT, None)
        finish(step, Status.TIMED_OUT, error=F.TIMEOUT, cause=None)
        return True
    token = ex["token"]
    if ex["waiting"] == "task" and token is not None:
        if timer in (f"{ex['id']}:timeout:{token}", f"{ex['id']}:heartbeat:{token}"):
            state = step.current()
            cancel_task_timers(step)
            error = F.TIMEOUT if ":timeout:" in timer else F.HEARTBEAT_TIMEOUT
            step.emit(task_event(state, "TimedOut"), {**resource_details(state), "error": error, "cause": ""})
            ex["waiting"] = None
            ex["token"] = None
            run(step, fail_state(step, state, error, ""))
            return True
        return False
    if timer is None or timer != ex["timer"]:
        return False
    state = step.current()
    waiting = ex["waiting"]
    ex["waiting"] = None
    ex["timer"] = None
    if waiting == "retry":
        run(step, act(step, state, ex["state_input"]))
    else:
        run(step, wait_done(step, state))
    return True


def _on_children(step: Step, event: E.ChildrenFinished) -> bool:
    ex = step.ex
    group = event.get("group")
    if ex["waiting"] != "children" or group != ex["group"]:
        return False
    state = step.current()
    ex["waiting"] = None
    ex["group"] = None
    ex["done_group"] = group
    # The children's events count in this history's numbering (see step.child_execution).
    failed = event.get("failed")
    finished: list[E.ChildOutcome] | list[E.FailedChild] = (
        [failed] if failed else (event.get("outcomes") or []))
    ex["seq"] += sum(int(o.get("events") or 0) for o in finished if o)
    run(step, children_done(step, state, event))
    return True


def _on_continue(step: Step, event: E.Continue) -> bool:
    ex = step.ex
    if ex["waiting"] != "continue":
        return False
    ex["waiting"] = None
    run(step, (step.current().name, ex["state_input"]))
    return True


def _on_stop(step: Step, event: E.StopRequested) -> bool:
    error, cause = event.get("error"), event.get("cause")
    stop_children(step, error, cause)
    finish(step, Status.ABORTED, error=error, cause=cause)
    return True
