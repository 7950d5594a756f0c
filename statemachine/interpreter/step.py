"""``advance()``: one event in, one decision out.  The heart of the engine.

Pass, Choice, Succeed and Fail run through inside one call until a state needs
the outside world (a task, a timer, children) or the execution ends, so a
durable runtime makes one commit per step that waits, with every state still in
the history.  Failures are data: every ASL error goes retry → catch → fail here
and never escapes as a Python exception.

State handlers live in ``_ACTIONS`` (one function per state type); they return
a ``Go`` (the next state and its input) when the state completed at once, or
``None`` when the execution now waits or has finished.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Never

import orjson

from statemachine.interpreter import events as E
from statemachine.interpreter import failures as F
from statemachine.interpreter.commands import (
    CancelTimer,
    Command,
    Continue,
    Finish,
    StartChildren,
    StartTimer,
    StopChildren,
)
from statemachine.interpreter.records import (
    TERMINAL,
    Execution,
    HistoryEvent,
    JsonPath,
    ParentFields,
    Root,
    Status,
)
from statemachine.language import paths as _paths
from statemachine.language.model import IDENTITY, JSONATA, Machine, State
from statemachine.language.scope import MISSING, Entropy, Scope, StatesError

Go = tuple[str, Any] | None

REGION = "local"
ACCOUNT = "000000000000"

_ENTERED = {
    "Task": "TaskStateEntered",
    "Pass": "PassStateEntered",
    "Choice": "ChoiceStateEntered",
    "Wait": "WaitStateEntered",
    "Succeed": "SucceedStateEntered",
    "Fail": "FailStateEntered",
    "Parallel": "ParallelStateEntered",
    "Map": "MapStateEntered",
}
_EXITED = {k: v.replace("Entered", "Exited") for k, v in _ENTERED.items()}


@lru_cache(maxsize=256)
def iso(ms: int) -> str:
    """Milliseconds since the epoch as AWS prints a timestamp: ``2024-03-06T10:29:50.123Z``."""
    dt = datetime.fromtimestamp(ms // 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def dumps(value: Any) -> str:
    """Compact JSON as AWS writes it into history and causes."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # str subclasses as keys (e.g. HTTP header names)
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def execution_arn(machine: str, name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}"


def machine_arn(machine: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}"


def derive(salt: str, *parts: Any) -> str:
    """A deterministic, unguessable id from the execution's secret salt."""
    text = ":".join(str(p) for p in (salt, *parts))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def new_execution(
    *,
    execution_id: str,
    name: str,
    machine: str,
    machine_version: int,
    input: Any,
    now: int,
    salt: str,
) -> Execution:
    """A fresh top-level record; deliver ``{"type": "Started"}`` to it next."""
    return {
        "id": execution_id,
        "name": name,
        "machine": machine,
        "machine_version": machine_version,
        "path": [],
        "status": Status.RUNNING,
        "input": input,
        "output": None,
        "error": None,
        "cause": None,
        "rev": 0,
        "seq": 0,
        "state": None,
        "state_input": None,
        "entered": 0,
        "vars": {},
        "retry": {},
        "token": None,
        "timer": None,
        "waiting": None,
        "group": None,
        "start": now,
        "stop": None,
        "parent": None,
        "item": None,
        "root": None,
        "salt": salt,
    }


def new_child(parent: Execution, command: StartChildren, index: int, now: int) -> Execution:
    """The record of child ``index`` of a ``StartChildren`` command, before its ``Started``."""
    items = command.items
    return child_execution(
        parent, command.group, command.kind, command.paths, index, command.inputs[index],
        MISSING if items is None else items[index], command.vars, command.execution_input, now,
    )


def child_execution(
    parent: ParentFields, group: str, kind: str, paths: list[JsonPath], index: int, input: Any,
    value: Any, vars: dict[str, Any], execution_input: bool, now: int,
) -> Execution:
    """The record of child ``index`` of a group, from the group's fields and this child's own
    ``input`` and Map item ``value`` (MISSING when the item values are not kept): what
    :func:`new_child` does for a whole command, for a runtime that stores the group's fields
    and the children's inputs apart."""
    path = paths[index] if len(paths) > 1 else paths[0]
    root: Root = parent["root"] or {
        "id": parent["id"],
        "name": parent["name"],
        "input": parent["input"],
        "start": parent["start"],
    }
    if not execution_input and root.get("input") is not None:
        root = {**root, "input": None}  # nothing below reads it: don't copy it into every child
    child = new_execution(
        execution_id=f"{parent['id']}/{group}/{index}",
        name=parent["name"],
        machine=parent["machine"],
        machine_version=parent["machine_version"],
        input=input,
        now=now,
        salt=derive(parent["salt"], group, index),
    )
    # A child numbers its events on from the parent's "...StateStarted" event (the group id),
    # as AWS numbers inline iterations in the parent's history; causes quote these ids.
    child["seq"] = child["seq0"] = int(group) if str(group).isdigit() else 0
    child["path"] = list(path)
    child["vars"] = dict(vars or {})
    child["parent"] = {"id": parent["id"], "group": group, "index": index}
    child["root"] = root
    if value is not MISSING:
        child["item"] = {"Index": index, "Value": value}
    elif kind == "map":
        child["item"] = {"Index": index}  # a Map iteration, even when its item values are not kept
    return child


HISTORY_LIMIT = 25_000
"""AWS's hard quota of events in one execution's history: event 25,000 may only be the
execution's own end, else the execution fails with :data:`HISTORY_LIMIT_CAUSE`.  Counted here
over the events of one run-through, across its pieces (for a run-through from the start, the
same as AWS's count): what keeps a Pass/Choice loop with no way out from running for ever.
Events of earlier durable steps and of Map/Parallel children do not count: a 10,000-item Map
runs to its end here, where AWS would fail an inline one (its iterations' events count on AWS)."""
RUN_BUDGET = 1_000
"""Events one advance() writes before a run-through pauses (``Continue``): what bounds one
commit's size, and a worker's time in one item, whatever the definition loops through."""
HISTORY_LIMIT_CAUSE = f"The execution reached the maximum number of history events ({HISTORY_LIMIT})."
_EXECUTION_ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut",
                             "ExecutionAborted"})


_CONTINUE = Continue()


@dataclass(slots=True)
class Decision:
    """What one ``advance()`` call decided: the new record, the history it wrote, the commands."""

    execution: Execution
    history: list[HistoryEvent] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)


class HistoryFull(Exception):
    """Raised by ``emit`` instead of writing event 25,000 when it is not an execution's end."""


class _Step:
    """The working state of one ``advance()`` call."""

    __slots__ = ("root", "machine", "ex", "now", "history", "commands", "_iso_now")

    def __init__(self, root: Machine, ex: Execution, now: int) -> None:
        self.root = root
        self.machine = root.sub(ex["path"])
        self.ex = ex
        self.now = now
        self.history: list[dict[str, Any]] = []
        self.commands: list[Command] = []
        self._iso_now: str | None = None

    # -- history and context ------------------------------------------------------------

    def emit(self, type_: str, details: dict[str, Any] | None = None) -> int:
        ex = self.ex
        if (len(self.history) + ex.get("burst", 0) >= HISTORY_LIMIT - 1
                and type_ not in _EXECUTION_ENDS):
            raise HistoryFull
        seq = ex["seq"] + 1
        ex["seq"] = seq
        event: dict[str, Any] = {
            "id": seq,
            "previousEventId": seq - 1,
            "timestamp": self.now,
            "type": type_,
        }
        if details is not None:
            event[type_[0].lower() + type_[1:] + "EventDetails"] = details
        self.history.append(event)
        return seq

    def now_iso(self) -> str:
        if self._iso_now is None:
            self._iso_now = iso(self.now)
        return self._iso_now

    def context(self, state: State | None = None, *, task_token: str | None = None) -> dict[str, Any]:
        ex = self.ex
        root = ex["root"] or {"id": ex["id"], "name": ex["name"], "input": ex["input"], "start": ex["start"]}
        ctx: dict[str, Any] = {
            "Execution": {
                "Id": execution_arn(ex["machine"], root["name"]),
                "Input": root["input"],
                "Name": root["name"],
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/statemachine",
                "StartTime": iso(root["start"]),
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": machine_arn(ex["machine"]), "Name": ex["machine"]},
        }
        if state is not None:
            ctx["State"] = {"EnteredTime": iso(ex.get("entered_at") or self.now), "Name": state.name}
            if state.retry:
                ctx["State"]["RetryCount"] = sum(ex["retry"].values()) if ex["retry"] else 0
        if task_token is not None:
            ctx["Task"] = {"Token": task_token}
        if ex["item"] is not None:
            ctx["Map"] = {"Item": dict(ex["item"])}
        return ctx

    def scope(self, state: State | None, value: Any, **extra: Any) -> Scope:
        ctx = extra.pop("context", None) or (lambda: self.context(state))
        return Scope(value, ctx, self.ex["vars"], seed=f"{self.ex['salt']}:{self.ex['seq']}", **extra)

    # -- the run-through loop --------------------------------------------------------------

    def run(self, go: Go) -> None:
        while go is not None:
            if len(self.history) >= RUN_BUDGET:
                self.pause(go)
                return
            name, value = go
            go = self.enter(self.machine.states[name], value)

    def pause(self, go: tuple[str, Any]) -> None:
        """Stop a long run-through before entering ``go``; a ``Continue`` goes on from there."""
        ex = self.ex
        ex["waiting"] = 'continue'
        ex["state"] = go[0]
        ex["state_input"] = go[1]
        ex["burst"] = ex.get("burst", 0) + len(self.history)
        self.commands.append(_CONTINUE)

    def enter(self, state: State, value: Any) -> Go:
        ex = self.ex
        ex["state"] = state.name
        ex["state_input"] = value
        ex["retry"] = {}
        ex["entered_at"] = self.now
        ex["entered"] = self.emit(
            _ENTERED[state.type], {"name": state.name, "input": dumps(value), "inputDetails": {"truncated": False}}
        )
        return self.act(state, value)

    def act(self, state: State, value: Any) -> Go:
        try:
            return _ACTIONS[state.type](self, state, value)
        except StatesError as err:
            return self.fail_state(state, err.error, self.cause_of(err))

    def cause_of(self, err: StatesError) -> str | None:
        if not err.prefixed:
            return err.cause
        return (
            f"An error occurred while executing the state '{self.ex['state']}' "
            f"(entered at the event id #{self.ex['entered']}). {err.cause}"
        )

    # -- leaving a state ----------------------------------------------------------------

    def complete(self, state: State, raw_input: Any, result: Any) -> Go:
        """Finish ``state`` with ``result``: the output pipeline, Assign, exit, transition."""
        try:
            output = self.process_output(state, raw_input, result)
            text = dumps(output)  # serialised once: for the size limit and for the history
            if oversized(text):
                raise StatesError(F.DATA_LIMIT, data_limit_cause(state.name), prefixed=False)
        except StatesError as err:
            return self.fail_state(state, err.error, self.cause_of(err))
        return self.leave(state, output, text)

    def process_output(self, state: State, raw_input: Any, result: Any) -> Any:
        if state.language == JSONATA:
            scope = self.scope(state, raw_input, result=result)
            new_vars = state.assign.evaluate(scope, "Assign") if state.assign is not None else None
            if state.output is not None:
                output = state.output.evaluate(scope, "Output")
            else:
                output = result
            if new_vars:
                self.assign(new_vars)
            return output
        if state.result_selector is not None:
            result = state.result_selector.render(self.scope(state, result))
        new_vars = state.assign.render(self.scope(state, result)) if state.assign is not None else None
        if state.result_path is IDENTITY:
            output = result
        elif state.result_path is None:
            output = raw_input
        else:
            output = _paths.apply_result_path(state.result_path, raw_input, result)
        output = self.select(state.output_path, state, output, "OutputPath")
        if new_vars:
            self.assign(new_vars)
        return output

    def select(self, path: Any, state: State, value: Any, field: str) -> Any:
        if path is IDENTITY:
            return value
        return _paths.select(path, self.scope(state, value), field)

    def assign(self, values: dict[str, Any]) -> None:
        merged = dict(self.ex["vars"])
        merged.update(values)
        self.ex["vars"] = merged

    def leave(self, state: State, output: Any, text: str | None = None) -> Go:
        """Exit ``state`` with ``output`` (``text``: its JSON, when the caller has it already)."""
        self.emit(
            _EXITED[state.type],
            {"name": state.name, "output": dumps(output) if text is None else text,
             "outputDetails": {"truncated": False}},
        )
        if state.end or state.type in ("Succeed",):
            self.finish(Status.SUCCEEDED, output=output)
            return None
        assert state.next is not None
        return state.next, output

    def finish(self, status: Status, *, output: Any = None, error: str | None = None, cause: str | None = None) -> None:
        ex = self.ex
        ex["status"] = status
        ex["output"] = output
        ex["error"] = error
        ex["cause"] = cause
        ex["stop"] = self.now
        ex["state"] = None
        ex["state_input"] = None
        ex["token"] = None
        ex["timer"] = None
        ex["waiting"] = None
        if ex["parent"] is None:
            match status:
                case Status.SUCCEEDED:
                    self.emit("ExecutionSucceeded", {"output": dumps(output), "outputDetails": {"truncated": False}})
                case Status.FAILED:
                    self.emit("ExecutionFailed", _error_details(error, cause))
                case Status.TIMED_OUT:
                    self.emit("ExecutionTimedOut", _error_details(error, cause))
                case _:
                    self.emit("ExecutionAborted", _error_details(error, cause))
            if self.root.timeout_seconds is not None:
                self.commands.append(CancelTimer(f"{ex['id']}:exec-timeout"))
        else:
            index = ex["parent"]["index"]
            if ex["item"] is not None:
                kind = {"SUCCEEDED": "MapIterationSucceeded", "FAILED": "MapIterationFailed"}.get(
                    status, "MapIterationAborted"
                )
                self.emit(kind, {"index": index, "name": ex["parent"]["group"]})
        self.commands.append(Finish(status, output, error, cause, ex["seq"] - ex.get("seq0", 0)))

    # -- failures: retry → catch → fail ------------------------------------------------

    def fail_state(self, state: State, error: str, cause: str | None) -> Go:
        ex = self.ex
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
                ex["waiting"] = 'retry'
                ex["timer"] = timer
                ex["token"] = None
                self.timer(timer, self.now + int(delay * 1000))
                return None
        for catcher in state.catch:
            if F.matches(catcher.errors, error):
                return self.catch(state, catcher, error, cause)
        if state.type == "Fail":
            self.finish(Status.FAILED, error=error, cause=cause)
            return None
        self.finish(Status.FAILED, error=error, cause=cause)
        return None

    def catch(self, state: State, catcher: Any, error: str, cause: str | None) -> Go:
        raw_input = self.ex["state_input"]
        error_output = {"Error": error, "Cause": cause} if cause is not None else {"Error": error}
        try:
            if state.language == JSONATA:
                scope = self.scope(state, raw_input, error_output=error_output)
                new_vars = catcher.assign.evaluate(scope, "Assign") if catcher.assign is not None else None
                output = catcher.output.evaluate(scope, "Output") if catcher.output is not None else error_output
                if new_vars:
                    self.assign(new_vars)
            else:
                if catcher.assign is not None:
                    self.assign(catcher.assign.render(self.scope(state, error_output)))
                if catcher.result_path is None:
                    output = raw_input
                elif catcher.result_path is IDENTITY:
                    output = error_output
                else:
                    output = _paths.apply_result_path(catcher.result_path, raw_input, error_output)
        except StatesError as err:
            self.finish(Status.FAILED, error=err.error, cause=self.cause_of(err))
            return None
        self.emit(_EXITED[state.type], {"name": state.name, "output": dumps(output), "outputDetails": {"truncated": False}})
        return catcher.next, output

    # -- helpers for handlers ------------------------------------------------------------

    def number(self, spec: Any, state: State, value: Any, field: str) -> Any:
        """Evaluate a ("const" | "path" | "expr", x) number field."""
        kind, x = spec
        if kind == "const":
            return x
        if kind == "path":
            return _paths.select(x, self.scope(state, value), field + "Path")
        return x.evaluate(self.scope(state, value), field)

    def timer(self, timer: str, due: int) -> None:
        """Ask for ``TimerFired`` of ``timer`` at ``due`` (ms since the epoch)."""
        self.commands.append(StartTimer(timer, due, {"type": "TimerFired", "timer": timer}))

    def start_timer(self, kind: str, due: int) -> None:
        """Wait for a timer of this state entry (a Wait state's)."""
        timer = f"{self.ex['id']}:{kind}:{self.ex['seq']}"
        self.ex["waiting"] = 'timer'
        self.ex["timer"] = timer
        self.timer(timer, due)


def _error_details(error: str | None, cause: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if error is not None:
        details["error"] = error
    if cause is not None:
        details["cause"] = cause
    return details


def oversized(text: str) -> bool:
    """Is this JSON over Step Functions' 256 KiB payload limit?  (UTF-8 is at most 4 bytes a
    character, so short texts skip the encoding.)"""
    return len(text) * 4 > F.DATA_LIMIT_BYTES and len(text.encode()) > F.DATA_LIMIT_BYTES


def data_limit_cause(name: str) -> str:
    return (
        f"The state/task '{name}' returned a result with a size exceeding the "
        "maximum number of bytes service limit."
    )


# Handlers are imported last: they use _Step and the helpers above.
from statemachine.interpreter import handlers as _handlers  # noqa: E402

_ACTIONS: dict[str, Callable[[_Step, State, Any], Go]] = _handlers.ACTIONS


def advance(machine: Machine, execution: Execution, event: E.Event, *, now: int) -> Decision:
    """Apply one event to one execution record; see :mod:`statemachine.interpreter.records`."""
    if execution["status"] in TERMINAL:
        return Decision(execution)
    ex = execution.copy()
    step = _Step(machine, ex, now)
    try:
        changed = _deliver(step, event)
    except HistoryFull:
        # Nothing the interrupted step meant to start happens; what was running stops.
        step.commands = []
        _stop_children(step, F.RUNTIME, HISTORY_LIMIT_CAUSE)
        step.finish(Status.FAILED, error=F.RUNTIME, cause=HISTORY_LIMIT_CAUSE)
        changed = True
    if not changed:
        return Decision(execution)
    if ex["waiting"] != "continue":
        ex.pop("burst", None)
    ex["rev"] = execution["rev"] + 1
    return Decision(ex, step.history, step.commands)


def _on_started(step: _Step, event: E.Started) -> bool:
    ex = step.ex
    if ex["rev"] != 0:
        return False
    if ex["parent"] is None:
        step.emit(
            "ExecutionStarted",
            {"input": dumps(ex["input"]), "inputDetails": {"truncated": False},
             "roleArn": f"arn:aws:iam::{ACCOUNT}:role/statemachine"},
        )
        if step.root.timeout_seconds is not None:
            step.timer(f"{ex['id']}:exec-timeout", step.now + int(step.root.timeout_seconds * 1000))
    elif ex["item"] is not None:
        step.emit("MapIterationStarted", {"index": ex["parent"]["index"], "name": ex["parent"]["group"]})
    step.run((step.machine.start_at, ex["input"]))
    return True


def _pending_task(step: _Step, event: E.TaskSucceeded | E.TaskFailed) -> State | None:
    """The Task state this result is for, its timers cancelled; None for a stale token."""
    ex = step.ex
    if ex["waiting"] != "task" or event.get("token") != ex["token"]:
        return None
    _handlers.cancel_task_timers(step)
    return step.machine.states[ex["state"]]


def _on_task_succeeded(step: _Step, event: E.TaskSucceeded) -> bool:
    ex = step.ex
    state = _pending_task(step, event)
    if state is None:
        return False
    output = event.get("output")
    text = dumps(output)
    if oversized(text):
        error, cause = F.DATA_LIMIT, data_limit_cause(_handlers.task_label(state))
        step.emit(_handlers.task_event(state, "Failed"), {**_handlers.resource_details(state), "error": error, "cause": cause})
        ex["waiting"] = None
        ex["token"] = None
        step.run(step.fail_state(state, error, cause))
        return True
    step.emit(
        _handlers.task_event(state, "Succeeded"),
        {**_handlers.resource_details(state), "output": text, "outputDetails": {"truncated": False}},
    )
    ex["waiting"] = None
    ex["token"] = None
    step.run(step.complete(state, ex["state_input"], output))
    return True


def _on_task_failed(step: _Step, event: E.TaskFailed) -> bool:
    ex = step.ex
    state = _pending_task(step, event)
    if state is None:
        return False
    error = event.get("error") or F.TASK_FAILED
    cause = event.get("cause")
    step.emit(_handlers.task_event(state, "Failed"), {**_handlers.resource_details(state), **_error_details(error, cause)})
    ex["waiting"] = None
    ex["token"] = None
    step.run(step.fail_state(state, error, cause))
    return True


def _on_heartbeat(step: _Step, event: E.TaskHeartbeat) -> bool:
    ex = step.ex
    if ex["waiting"] != "task" or event.get("token") != ex["token"]:
        return False
    hb = ex.get("heartbeat_s")
    if hb:
        step.timer(f"{ex['id']}:heartbeat:{ex['token']}", step.now + int(hb * 1000))
    return True


def _on_timer(step: _Step, event: E.TimerFired) -> bool:
    ex = step.ex
    timer = event.get("timer")
    if timer == f"{ex['id']}:exec-timeout":
        _stop_children(step, "States.Timeout", None)
        step.finish(Status.TIMED_OUT, error="States.Timeout", cause=None)
        return True
    token = ex["token"]
    if ex["waiting"] == "task" and token is not None:
        if timer in (f"{ex['id']}:timeout:{token}", f"{ex['id']}:heartbeat:{token}"):
            state = step.machine.states[ex["state"]]
            _handlers.cancel_task_timers(step)
            error = F.TIMEOUT if ":timeout:" in timer else F.HEARTBEAT_TIMEOUT
            step.emit(
                _handlers.task_event(state, "TimedOut"), {**_handlers.resource_details(state), "error": error, "cause": ""}
            )
            ex["waiting"] = None
            ex["token"] = None
            step.run(step.fail_state(state, error, ""))
            return True
        return False
    if timer is None or timer != ex["timer"]:
        return False
    state = step.machine.states[ex["state"]]
    waiting = ex["waiting"]
    ex["waiting"] = None
    ex["timer"] = None
    if waiting == "retry":
        step.run(step.act(state, ex["state_input"]))
    else:
        step.run(_handlers.wait_done(step, state))
    return True


def _on_children(step: _Step, event: E.ChildrenFinished) -> bool:
    ex = step.ex
    if ex["waiting"] != "children" or event.get("group") != ex["group"]:
        return False
    state = step.machine.states[ex["state"]]
    ex["waiting"] = None
    ex["group"] = None
    # The children's events count in this history's numbering (see new_child).
    finished = [event["failed"]] if event.get("failed") else (event.get("outcomes") or [])
    ex["seq"] += sum(int(o.get("events") or 0) for o in finished if o)
    step.run(_handlers.children_done(step, state, event))
    return True


def _stop_children(step: _Step, error: str | None, cause: str | None) -> None:
    ex = step.ex
    if ex["waiting"] == "children" and ex["group"] is not None:
        step.commands.append(StopChildren(ex["group"], error, cause))
    if ex["waiting"] == "task":
        _handlers.cancel_task_timers(step)
    if ex["timer"] is not None:
        step.commands.append(CancelTimer(ex["timer"]))


def _on_continue(step: _Step, event: E.Continue) -> bool:
    ex = step.ex
    if ex["waiting"] != "continue":
        return False
    ex["waiting"] = None
    step.run((ex["state"], ex["state_input"]))
    return True


def _on_stop(step: _Step, event: E.StopRequested) -> bool:
    error, cause = event.get("error"), event.get("cause")
    _stop_children(step, error, cause)
    step.finish(Status.ABORTED, error=error, cause=cause)
    return True


def _deliver(step: _Step, event: E.Event) -> bool:
    """Hand ``event`` to its handler; whether the record changed."""
    if event["type"] == "Started":
        return _on_started(step, event)
    if event["type"] == "TaskSucceeded":
        return _on_task_succeeded(step, event)
    if event["type"] == "TaskFailed":
        return _on_task_failed(step, event)
    if event["type"] == "TaskHeartbeat":
        return _on_heartbeat(step, event)
    if event["type"] == "TimerFired":
        return _on_timer(step, event)
    if event["type"] == "ChildrenFinished":
        return _on_children(step, event)
    if event["type"] == "StopRequested":
        return _on_stop(step, event)
    if event["type"] == "Continue":
        return _on_continue(step, event)
    return _unknown(event)


def _unknown(event: Never) -> bool:
    """An event of a kind this core does not know (a corrupt work item, a newer runtime's):
    nothing happens, as for a stale one.  ``event: Never`` makes mypy prove that every kind
    of :data:`~statemachine.interpreter.events.Event` is handled above."""
    return False

__all__ = ["advance", "new_execution", "new_child", "iso", "MISSING"]
