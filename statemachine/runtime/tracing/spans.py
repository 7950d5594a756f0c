"""The spans one committed transition ends, read from what it committed.  Pure.

A transition knows the record it started from, the history events it wrote (with their
timestamps) and the record it left.  A span is emitted by the transition that ends it, its
start read from the history (a ``*StateEntered`` event written now, or the record's
``entered_at``/``scheduled_at``: when the state or the task attempt still open began), its
ids derived (:mod:`.context`), so whichever worker commits the end emits the same span, and
a transition committed again after a crash emits nothing twice (a refused commit emits
nothing; a span exported twice would carry the same ids).

The tree of one execution::

    execution <machine>                  (its parent: the span of the start's traceparent)
      state <Name>                       *StateEntered .. *StateExited (or the end)
        <Name> attempt <n>               TaskScheduled .. TaskSucceeded/Failed/TimedOut
          POST                           the request (an HTTP task's; the invoker's span)
            <the downstream service's own spans>
        iteration <i> / branch <i>       a Map/Parallel child (an execution of its own)
          state <Name> ...

Nothing of the input, output or cause goes into a span: the error name only.  Attributes
are few (each costs the export's encoding): the execution's id and machine on its own span,
which every other span of the trace descends from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from statemachine.interpreter.context import details_key
from statemachine.interpreter.records import TERMINAL, Execution, HistoryEvent, Status
from statemachine.language.model import Machine
from statemachine.runtime.tracing.context import (
    TraceContext,
    attempt_span,
    execution_context,
    execution_span,
    state_span,
    w3c,
)

__all__ = ["SpanRecord", "public_url", "transition_spans"]

Attributes = dict[str, str | int | bool]
MS = 1_000_000
"""Nanoseconds in a millisecond (history times are ms; spans take ns)."""

_TASK_FAMILIES = ("Task", "LambdaFunction", "Activity")
_SCHEDULED = frozenset(f + "Scheduled" for f in _TASK_FAMILIES)
_TASK_ENDS = frozenset(f + end for f in _TASK_FAMILIES for end in ("Succeeded", "Failed", "TimedOut"))
_ENTERED, _EXITED = "StateEntered", "StateExited"


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One finished span, ready to export: ids as hex, times in ns since the epoch;
    ``error``: the span failed (status ERROR, with this description); ``links``: the
    contexts of spans it is linked to (a callback's)."""

    name: str
    context: TraceContext
    span_id: str
    start_ns: int
    end_ns: int
    attributes: Attributes = field(default_factory=dict)
    error: str | None = None
    links: tuple[TraceContext, ...] = ()
    kind: Literal["internal", "client"] = "internal"


@dataclass(slots=True)
class _OpenState:
    name: str
    type: str
    entered: int
    start: int


@dataclass(slots=True)
class _OpenTask:
    start: int
    attempt: int | None
    """None: scheduled in this transition (then it ends in a later one)"""


def transition_spans(machine: Machine, before: Execution, after: Execution,
                     history: Sequence[HistoryEvent], event: Mapping[str, Any], now: int,
                     configured: str | None = None) -> list[SpanRecord]:
    """The spans that the transition from ``before`` to ``after`` (writing ``history``,
    applying ``event`` at ``now``) ended.  ``configured``: the process-wide ``TRACEPARENT``."""
    builder = _Builder(machine, before, after, configured)
    for written in history:
        builder.see(written, event)
    ended = after["status"] in TERMINAL and (before["status"] not in TERMINAL
                                            or event.get("type") == "Redriven")
    if ended:
        builder.end_run(after["stop"] or now)
    return builder.spans


class _Builder:
    """Walks one transition's events, closing the spans they end."""

    def __init__(self, machine: Machine, before: Execution, after: Execution,
                 configured: str | None) -> None:
        self.machine = machine
        self.after = after
        self.xid = after["id"]
        self.context = execution_context(self.xid, after.get("trace"), configured)
        self.run = execution_span(self.xid, after.get("redrives", 0))
        self.spans: list[SpanRecord] = []
        self.state: _OpenState | None = None
        self.task: _OpenTask | None = None
        if before["status"] == Status.RUNNING and before["waiting"] != "continue" \
                and before["state"] is not None and before["entered"]:
            name = before["state"]
            entered_at = before.get("entered_at", before["start"])
            self.state = _OpenState(name, self._type_of(before, name), before["entered"],
                                    entered_at)
            if before["waiting"] == "task":
                attempt = sum(before["retry"].values()) if before["retry"] else 0
                self.task = _OpenTask(before.get("scheduled_at", entered_at), attempt)

    def _type_of(self, record: Execution, name: str) -> str:
        state = self.machine.sub(record["path"]).states.get(name)
        return state.type if state is not None else ""

    def see(self, written: HistoryEvent, event: Mapping[str, Any]) -> None:
        kind = written["type"]
        at = int(written["timestamp"])
        if kind.endswith(_ENTERED):
            self._close_state(at, None)
            details = written.get(details_key(kind)) or {}
            self.state = _OpenState(str(details.get("name", "")), kind[: -len(_ENTERED)],
                                    int(written["id"]), at)
        elif kind.endswith(_EXITED):
            self._close_task(at, None)
            self._close_state(at, None)
        elif kind in _SCHEDULED:
            self.task = _OpenTask(at, None)
        elif kind in _TASK_ENDS:
            details = written.get(details_key(kind)) or {}
            error = None if kind.endswith("Succeeded") else str(details.get("error") or kind)
            self._close_task(at, error, w3c(event.get("traceparent")))

    def _close_task(self, at: int, error: str | None,
                    link: TraceContext | None = None) -> None:
        task, state = self.task, self.state
        self.task = None
        if task is None or state is None:
            return
        attempt = task.attempt
        if attempt is None:
            retry = self.after["retry"]
            attempt = sum(retry.values()) if retry else 0
        span = attempt_span(self.xid, state.entered, attempt)
        self.spans.append(SpanRecord(
            f"{state.name} attempt {attempt + 1}",
            TraceContext(self.context.trace_id, state_span(self.xid, state.entered)), span,
            task.start * MS, at * MS,
            {"statemachine.task.attempt": attempt, **self._resource(state)},
            error, (link,) if link is not None else ()))

    def _resource(self, state: _OpenState) -> Attributes:
        found = self.machine.sub(self.after["path"]).states.get(state.name)
        resource = found.resource if found is not None else None
        return {"statemachine.task.resource": public_url(resource)} if resource else {}

    def _close_state(self, at: int, error: str | None) -> None:
        state = self.state
        self.state = None
        if state is None:
            return
        self.spans.append(SpanRecord(
            f"state {state.name}", TraceContext(self.context.trace_id, self.run),
            state_span(self.xid, state.entered), state.start * MS, at * MS,
            {"statemachine.state.name": state.name, "statemachine.state.type": state.type,
             "statemachine.event.id": state.entered},
            error))

    def end_run(self, at: int) -> None:
        """The execution ended: what was open ends with it, then its own span."""
        after = self.after
        status = after["status"]
        error = None if status == Status.SUCCEEDED else str(after["error"] or status)
        self._close_task(at, error)
        self._close_state(at, error)
        start = after.get("redriven_at", after["start"]) if after.get("redrives") else after["start"]
        attributes: Attributes = {
            "statemachine.execution.id": self.xid, "statemachine.state_machine": after["machine"],
            "statemachine.state_machine.version": after["machine_version"],
            "statemachine.execution.status": str(status)}
        if after.get("redrives"):
            attributes["statemachine.execution.redrive_count"] = int(after.get("redrives", 0))
        self.spans.append(SpanRecord(_run_name(after), self.context, self.run, start * MS,
                                     at * MS, attributes, error))


def _run_name(record: Execution) -> str:
    """``execution <machine>``; a Map/Parallel child's ``iteration <i>``/``branch <i>``."""
    link = record["parent"]
    if link is None:
        return f"execution {record['machine']}"
    kind = "iteration" if record["item"] is not None or "map_run" in record else "branch"
    return f"{kind} {link['index']}"


def public_url(text: str) -> str:
    """A URL (or a Resource) as a span may show it: without its user info, query and
    fragment, any of which may hold a secret."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rpartition('@')[2]}{slash}{path.split('?', 1)[0].split('#', 1)[0]}"
