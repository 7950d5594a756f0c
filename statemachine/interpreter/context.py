"""The working state of one ``advance()`` call: the record being changed, the history and
commands written so far, and what every state does with them (write an event, evaluate in
a scope, ask for a timer).

A :class:`Step` is made per call and dropped after; the state handlers, the data-flow
strategies and the event handlers all work on it.
"""

from __future__ import annotations

from typing import Any

from statemachine.interpreter.commands import Command, StartTimer
from statemachine.interpreter.formats import check_nesting, iso, place_of
from statemachine.interpreter.records import (
    EXPRESS_LIMIT_S,
    Execution,
    HistoryEvent,
    ParentFields,
    Root,
)
from statemachine.language import paths as _paths
from statemachine.language.model import IDENTITY, Machine, State
from statemachine.language.scope import Scope, StatesError

Go = tuple[str, Any] | None
"""What a state handler returns: the next state and its input, or None when the execution
now waits (task, timer, children) or has finished."""

HISTORY_LIMIT = 25_000
"""AWS's hard quota of events in one execution's history: event 25,000 may only be the
execution's own end, else the execution fails with :data:`HISTORY_LIMIT_CAUSE`.  Counted here
over the events of one run-through, across its pieces (for a run-through from the start, the
same as AWS's count): what keeps a Pass/Choice loop with no way out from running for ever.
Events of earlier durable steps and of Map/Parallel children do not count: a 10,000-item Map
runs to its end here, where AWS would fail an inline one (its iterations' events count on AWS)."""
HISTORY_LIMIT_CAUSE = f"The execution reached the maximum number of history events ({HISTORY_LIMIT})."
_EXECUTION_ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut",
                             "ExecutionAborted"})


def details_key(type_: str) -> str:
    """The member of AWS's ``HistoryEvent`` that holds the details of an event of ``type_``:
    ``<lowerCamelType>EventDetails``, except that every ``*StateEntered``/``*StateExited``
    shares ``stateEnteredEventDetails``/``stateExitedEventDetails``."""
    if type_.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if type_.endswith("StateExited"):
        return "stateExitedEventDetails"
    return type_[0].lower() + type_[1:] + "EventDetails"


class HistoryFull(Exception):
    """Raised by :meth:`Step.emit` instead of writing event 25,000 when it is not an
    execution's end."""


class Step:
    """The working state of one ``advance()`` call (``ex`` is the new record, a copy)."""

    __slots__ = ("commands", "ex", "history", "machine", "now", "reuse", "root")

    def __init__(self, root: Machine, ex: Execution, now: int) -> None:
        self.root = root
        self.machine = root.sub(ex["path"])
        self.ex = ex
        self.now = now
        self.history: list[HistoryEvent] = []
        self.commands: list[Command] = []
        self.reuse: str | None = None
        """set by a redrive that resumes in a Map/Parallel: the group of its failed run"""

    def timeout_s(self) -> float | None:
        """The execution's time limit: the definition's ``TimeoutSeconds``, and for an
        EXPRESS execution at most :data:`EXPRESS_LIMIT_S`."""
        limit = self.root.timeout_seconds
        if self.ex.get("express"):
            return EXPRESS_LIMIT_S if limit is None else min(limit, EXPRESS_LIMIT_S)
        return limit

    def current(self) -> State:
        """The state the record is in (or waits in)."""
        name = self.ex["state"]
        assert name is not None, "no current state"
        return self.machine.states[name]

    # -- history ---------------------------------------------------------------------------

    def emit(self, type_: str, details: dict[str, Any] | None = None) -> int:
        """Append a history event; its id."""
        ex = self.ex
        if (len(self.history) + ex.get("burst", 0) >= HISTORY_LIMIT - 1
                and type_ not in _EXECUTION_ENDS):
            raise HistoryFull
        seq = ex["seq"] + 1
        ex["seq"] = seq
        event: HistoryEvent = {
            "id": seq,
            "previousEventId": seq - 1,
            "timestamp": self.now,
            "type": type_,
        }
        if details is not None:
            event[details_key(type_)] = details
        self.history.append(event)
        return seq

    def cause_of(self, err: StatesError) -> str | None:
        """An error's cause, prefixed with the state it happened in when AWS does so."""
        if not err.prefixed:
            return err.cause
        return (
            f"An error occurred while executing the state '{self.ex['state']}' "
            f"(entered at the event id #{self.ex['entered']}). {err.cause}"
        )

    # -- evaluation --------------------------------------------------------------------------

    def context(self, state: State | None = None, *, task_token: str | None = None) -> dict[str, Any]:
        """The context object (``$$``, ``$states.context``)."""
        ex = self.ex
        root = ex["root"] or root_fields(ex)
        place = place_of(ex.get("place"))
        express = ex.get("express", False)
        machine = ex["machine"] if "label" not in root else f"{ex['machine']}/{root['label']}"
        execution: dict[str, Any] = {
            "Id": place.execution(machine, root["name"],
                                  express_id=root["id"] if express else None),
            "Input": root["input"],
            "Name": root["name"],
            "RoleArn": place.role,
            "StartTime": iso(root["start"]),
        }
        if not express:  # an EXPRESS execution cannot be redriven: AWS leaves the count out
            execution["RedriveCount"] = root.get("redrives", 0)
        ctx: dict[str, Any] = {
            "Execution": execution,
            "StateMachine": {"Id": place.machine(machine), "Name": machine},
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
        """What an expression of ``state`` sees: ``value`` as ``$``, the context (built only
        when read, unless given as ``context``), the variables, a seed for randomness."""
        ctx = extra.pop("context", None) or (lambda: self.context(state))
        return Scope(value, ctx, self.ex["vars"], seed=f"{self.ex['salt']}:{self.ex['seq']}", **extra)

    def select(self, path: Any, state: State, value: Any, field: str) -> Any:
        """A JSONPath field (``InputPath``, ``OutputPath``, ...) applied to ``value``."""
        if path is IDENTITY:
            return value
        return _paths.select(path, self.scope(state, value), field)

    def number(self, spec: Any, state: State, value: Any, field: str) -> Any:
        """Evaluate a ("const" | "path" | "expr", x) number field."""
        kind, x = spec
        match kind:
            case "const":
                return x
            case "path":
                return _paths.select(x, self.scope(state, value), field + "Path")
            case _:  # expr
                return x.evaluate(self.scope(state, value), field)

    def assign(self, values: dict[str, Any]) -> None:
        """Set variables (a new dict: the record passed to advance() keeps its own); a value
        nested past the limit fails the state, as it would as an output (a variable that
        wraps itself in a loop would otherwise grow deeper than the store can write)."""
        for value in values.values():
            check_nesting(value, self.ex["state"] or "")
        merged = dict(self.ex["vars"])
        merged.update(values)
        self.ex["vars"] = merged

    # -- timers ------------------------------------------------------------------------------

    def timer(self, timer: str, due: int) -> None:
        """Ask for ``TimerFired`` of ``timer`` at ``due`` (ms since the epoch)."""
        self.commands.append(StartTimer(timer, due, {"type": "TimerFired", "timer": timer}))

    def start_timer(self, kind: str, due: int) -> None:
        """Wait for a timer of this state entry (a Wait state's)."""
        timer = f"{self.ex['id']}:{kind}:{self.ex['seq']}"
        self.ex["waiting"] = "timer"
        self.ex["timer"] = timer
        self.timer(timer, due)


def root_fields(top: ParentFields) -> Root:
    """A top-level execution's fields that its children (and ``$$.Execution``) see as the root."""
    root: Root = {"id": top["id"], "name": top["name"], "input": top["input"], "start": top["start"]}
    if "map_run" in top:  # a Map Run child: its ARN names its Map's label
        root["label"] = top["map_run"]["label"]
        if top["map_run"].get("express"):
            root["quiet"] = True
    redrives = top.get("redrives")
    if redrives:
        root["redrives"] = redrives
    return root
