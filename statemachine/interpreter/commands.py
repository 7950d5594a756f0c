"""What ``advance()`` asks the runtime to do: the commands, one frozen dataclass each.

Both runtimes (the Redis worker and the in-memory runner) dispatch a :data:`Command` with
``match`` and end with ``assert_never``, so ``mypy --strict`` fails when a command kind is
added and a runtime does not handle it.  ``orjson`` serialises these dataclasses as
objects of their fields (an ``InvokeTask`` rides in the outbox that way);
:func:`invoke_task` reads one back.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from statemachine.interpreter.events import RunEntry, TimerFired
from statemachine.interpreter.records import JsonPath, MapRun, Status


@dataclass(frozen=True, slots=True)
class InvokeTask:
    """Perform the task of state ``state`` (entered as event ``entered``) of ``execution``.

    ``input`` is the effective parameters; ``idempotency_key`` is the same for every retry
    of one state entry; ``attempt`` counts the retries so far; the result is delivered as
    ``TaskSucceeded``/``TaskFailed`` carrying ``token``; ``trace``: the execution's trace
    header (its record's), which the request's ``traceparent`` continues.
    """

    token: str
    resource: str
    input: Any
    state: str
    entered: int
    idempotency_key: str
    attempt: int
    timeout_s: float | None
    heartbeat_s: float | None
    credentials: Any
    execution: str
    queue: str | None = None
    """the queue the task is performed on (the Task's ``x-queue``); None: the execution's"""
    trace: str | None = None


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Deliver ``event`` to this execution at ``due`` (ms since the epoch)."""

    id: str
    due: int
    event: TimerFired


@dataclass(frozen=True, slots=True)
class CancelTimer:
    id: str


@dataclass(frozen=True, slots=True)
class StartChildren:
    """Open a Map/Parallel group of ``len(inputs)`` children (see interpreter.children).

    ``paths``: one sub-machine path per child, or a single path for all; ``items``: the
    Map's item values for ``$$.Map.Item.Value`` (None: not kept); ``max_concurrency`` 0 is
    unbounded; ``execution_input``: whether the children may read ``$$.Execution.Input``
    (when false, the root's input is left out of their records); ``reuse``: after a redrive,
    the group of the state's failed run: its children that succeeded end at once with their
    output instead of running again (the runtime looks them up); ``map_run``: a Distributed
    Map's Map Run, whose children are executions of their own.
    """

    group: str
    kind: Literal["map", "parallel"]
    paths: list[JsonPath]
    inputs: list[Any]
    items: list[Any] | None
    max_concurrency: int
    tolerated_count: int | None
    tolerated_percentage: float | None
    vars: dict[str, Any]
    execution_input: bool
    reuse: str | None = None
    map_run: MapRun | None = None
    more: bool = False
    """a Distributed Map's first page of items: more pages follow (:class:`ExtendChildren`);
    the group is not done until the last has been added"""


@dataclass(frozen=True, slots=True)
class ExtendChildren:
    """Add the children of a Distributed Map's next page of items to its open group ``group``
    (indexes go on from the group's total); ``more``: pages follow still."""

    group: str
    inputs: list[Any]
    items: list[Any] | None
    more: bool


@dataclass(frozen=True, slots=True)
class StopChildren:
    group: str
    error: str | None
    cause: str | None


@dataclass(frozen=True, slots=True)
class Continue:
    """Deliver ``Continue`` to this execution: a long run-through paused (RUN_BUDGET events
    in one advance), so no commit grows without bound."""


@dataclass(frozen=True, slots=True)
class Finish:
    """The execution ended.  ``events``: how many history events it wrote (a parent's ids
    continue after its children's).  A child's Finish goes to its parent's group; ``run``:
    a Distributed Map child's fields for its Map Run's results (``ChildOutcome``'s ``name``,
    ``input``, ``start``, ``stop``), None for any other execution."""

    status: Status
    output: Any
    error: str | None
    cause: str | None
    events: int
    run: RunEntry | None = None


Command = (InvokeTask | StartTimer | CancelTimer | StartChildren | ExtendChildren | StopChildren
           | Continue | Finish)


_INVOKE_TASK_FIELDS = frozenset(f.name for f in fields(InvokeTask))


def invoke_task(stored: dict[str, Any]) -> InvokeTask:
    """An ``InvokeTask`` from the object ``orjson`` made of one (the outbox's ``c``).

    Keys that are no field are left out: dispatches written before commands were typed
    carry ``"type": "InvokeTask"`` too, and may still wait in an outbox."""
    try:
        return InvokeTask(**stored)
    except TypeError:  # an older entry's extra key: the one rare case pays for the filter
        return InvokeTask(**{k: v for k, v in stored.items() if k in _INVOKE_TASK_FIELDS})
