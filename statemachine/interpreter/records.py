"""The data that crosses the boundary of the pure core: records, events, commands.

Everything here is plain JSON (dicts, lists, str, int, float, bool, None) so that
the runtime can store it in Redis with ``orjson`` and read it back unchanged.

``advance(machine, execution, event, *, now) -> Decision``
    ``machine``   a compiled :class:`statemachine.language.model.Machine` (the whole
                  definition; a child execution runs ``machine.sub(execution["path"])``).
    ``execution`` the record below.  ``advance`` never mutates it; it returns a new one.
    ``event``     one of the events below.
    ``now``       milliseconds since the epoch (int), the only clock the core sees.

Execution record (``Execution``)::

    id            str   execution id. A child's id is ``<parent id>/<group>/<index>``; the
                        shard of any execution is chosen from the part before the first "/",
                        so a child always lives on its root's shard.
    name          str   execution name (``$$.Execution.Name``)
    machine       str   state machine name;  machine_version  int
    path          list  [] at the top level; else the path of the sub-machine this child runs,
                        e.g. ["States", "MapX", "ItemProcessor"] or ["States", "P", "Branches", 2]
    status        str   RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    input, output, error, cause
    rev           int   record version, bumped by every advance (compare-and-set in the store)
    seq           int   id of the last history event written
    state         str | None   current state; state_input: its raw input; entered: event id
                               of its StateEntered event; entered_at: ms when it was entered
    vars          dict  variables visible in this scope
    retry         dict  {retrier index (str): attempts so far} for the current state entry
    token         str | None   the task token we wait for, if any
    timer         str | None   the timer id we wait for, if any (Wait, retry backoff)
    waiting       str | None   "task" | "timer" | "retry" | "children" | "continue" | None
                               ("continue": a long run-through paused; ``state`` and
                               ``state_input`` are the state to enter next and its input)
    burst         int          only while "continue": events the paused run-through wrote
                               in its earlier pieces (the history quota counts them)
    timeout_s, heartbeat_s     the pending task's limits (seconds) while waiting for a task
    group         str | None   the children group we wait for (Map/Parallel)
    start, stop   int | None   ms since epoch
    parent        dict | None  {"id", "group", "index"} for a Map/Parallel child
    item          dict | None  {"Index", "Value"} for a Map child ($$.Map.Item)
    root          dict | None  for a child: {"id", "name", "input", "start"} of the top-level
                               execution ($$.Execution is the root's)
    salt          str   random string chosen by the runtime at start; task tokens and
                        idempotency keys are derived from it, so they are unguessable
                        yet deterministic on replay

Events in (``{"type": ..., ...}``)::

    Started                                   the record was just created (status RUNNING)
    TaskSucceeded   token, output
    TaskFailed      token, error, cause
    TaskHeartbeat   token
    TimerFired      timer
    ChildrenFinished group, outcomes: [ {status, output, error, cause, events} by index ]
                     (all done) or group, failed: {index, status, error, cause, events}
                     (stopped early by policy)
    StopRequested   error, cause
    Continue                                  go on with a paused run-through

    An event that does not match what the record waits for (an old token, an old
    timer, a finished execution) returns the record unchanged with no commands:
    that is how duplicates and late callbacks are made harmless.

Commands out::

    InvokeTask      token, resource, input (the effective parameters), state, entered,
                    idempotency_key (stable across retries of one state entry), attempt,
                    timeout_s (float | None), heartbeat_s (float | None), credentials
    StartTimer      id, due (ms since epoch), event (the event to deliver when due)
    CancelTimer     id
    StartChildren   group, kind ("map" | "parallel"), paths (one sub-machine path per child,
                    or a single path for all), inputs (list, one input per child), items
                    (Map: the item values for $$.Map.Item.Value), max_concurrency (0 = unbounded),
                    tolerated_count (int | None), tolerated_percentage (float | None), vars,
                    execution_input (bool: whether the children may read $$.Execution.Input;
                    when false, new_child leaves the root's input out of their records)
    StopChildren    group, error, cause
    Continue        deliver ``Continue`` to this execution (a run-through wrote RUN_BUDGET
                    events in one advance and paused, so no commit grows without bound)
    Finish          status, output, error, cause, events (how many history events the
                    execution wrote; a parent's ids continue after its children's, as in AWS's
                    inline histories) — the runtime routes a child's Finish to its parent's
                    children group; see interpreter.children

History events use Step Functions' shape:
``{"id", "previousEventId", "timestamp" (ms), "type", "<lowerCamelType>EventDetails": {...}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from statemachine.interpreter.commands import Command

Execution = dict[str, Any]
Event = dict[str, Any]
HistoryEvent = dict[str, Any]

class Status(StrEnum):
    """An execution's status: the one definition the service, the API, OpenAPI and the
    dashboard use (a ``StrEnum``, so a member equals its text in records and in Redis)."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"


TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.TIMED_OUT, Status.ABORTED})


@dataclass(slots=True)
class Decision:
    """What one ``advance()`` call decided: the new record, the history it wrote, the commands."""

    execution: Execution
    history: list[HistoryEvent] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
