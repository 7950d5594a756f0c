"""What the runtime delivers to ``advance()``: the events, one ``TypedDict`` each, tagged by
``type``.

They are plain JSON (the Redis runtime keeps them in its work items), so a ``TypedDict``
types them at no cost.  ``advance()`` dispatches on ``type`` with the union narrowed and
exhausted (``mypy --strict`` fails when an event kind is added and not handled); an event
of a kind it does not know changes nothing, as a stale one.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class Reused(TypedDict):
    """A Map/Parallel child's output from the run before a redrive (it succeeded then)."""

    output: Any


class Started(TypedDict):
    """The record was just created (status RUNNING); ``reused``: a redriven Map/Parallel's
    child that succeeded before, which ends at once with that output and no events."""

    type: Literal["Started"]
    reused: NotRequired[Reused]


class TaskSucceeded(TypedDict):
    type: Literal["TaskSucceeded"]
    token: str
    output: Any
    submitted: NotRequired[Any]
    """a ``.sync`` job's start response, for a ``TaskSubmitted`` the end overtook"""
    traceparent: NotRequired[str]
    """a callback's W3C ``traceparent``: the runtime links the task's span to it (the core
    ignores it)"""


class TaskFailed(TypedDict):
    type: Literal["TaskFailed"]
    token: str
    error: str | None
    cause: str | None
    submitted: NotRequired[Any]
    """as :attr:`TaskSucceeded.submitted`"""
    traceparent: NotRequired[str]
    """as :attr:`TaskSucceeded.traceparent`"""


class TaskHeartbeat(TypedDict):
    type: Literal["TaskHeartbeat"]
    token: str


class TaskTaken(TypedDict):
    """An activity worker took the task (GetActivityTask): AWS's ``ActivityStarted``, with
    the ``workerName`` it gave."""

    type: Literal["TaskTaken"]
    token: str
    worker: str | None


class TaskSubmitted(TypedDict):
    """A ``.sync`` task's job was started (a nested execution): AWS's ``TaskSubmitted``,
    with the start's response as ``output``; the task goes on waiting for the job's end."""

    type: Literal["TaskSubmitted"]
    token: str
    output: Any


class TimerFired(TypedDict):
    type: Literal["TimerFired"]
    timer: str


class RunEntry(TypedDict):
    """What a Distributed Map child's outcome carries for its Map Run's ResultWriter: its
    execution ARN, name, input (JSON text) and start/stop (ms)."""

    arn: str
    name: str
    input: str
    start: int
    stop: int


class ChildOutcome(TypedDict):
    """How one Map/Parallel child ended (the fields of its ``Finish``); a Distributed Map's
    child adds what its Map Run's ``ResultWriter`` writes of it (AWS's result file entry,
    :mod:`statemachine.interpreter.run_results`): its execution ``arn`` and ``name``, its
    ``input`` as JSON text (as the entry shows it: one string per child rather than its
    parsed items, for the worker that reads a whole group's outcomes back), and when it
    started and stopped (ms)."""

    status: str
    output: Any
    error: str | None
    cause: str | None
    events: NotRequired[int]
    arn: NotRequired[str]
    """a Distributed Map child's: its execution ARN, name, input (JSON text) and start/stop
    (ms), what its Map Run's ResultWriter writes of it"""
    name: NotRequired[str]
    input: NotRequired[str]
    start: NotRequired[int]
    stop: NotRequired[int]


class FailedChild(TypedDict):
    """The child whose failure stopped its group; ``threshold``: a Map's tolerated failure
    threshold was exceeded (rather than any failure failing the group)."""

    index: int
    status: str
    error: str | None
    cause: str | None
    threshold: bool
    events: NotRequired[int]


class ChildrenFinished(TypedDict):
    """A children group ended: ``outcomes`` by index (all done), or ``failed`` (stopped early
    by policy, the others stopped); or, for a Map Run whose ResultWriter exports them,
    ``stored``: how many outcomes the runtime keeps for the writer instead of delivering them
    (all done, none lost: the writer fails the Map Run if one is)."""

    type: Literal["ChildrenFinished"]
    group: str
    outcomes: NotRequired[list[ChildOutcome]]
    failed: NotRequired[FailedChild]
    stored: NotRequired[int]


class PageWanted(TypedDict):
    """A Distributed Map's open group ``group`` is running out of children to start: read the
    next page of items (sent by the runtime once per page)."""

    type: Literal["PageWanted"]
    group: str


class StopRequested(TypedDict):
    type: Literal["StopRequested"]
    error: str | None
    cause: str | None


class Redriven(TypedDict):
    """A FAILED, TIMED_OUT or ABORTED top-level execution is redriven (AWS's
    RedriveExecution): it resumes in the state that did not succeed.  ``count``: the
    execution's redrive count after this one (a stale or repeated event does nothing);
    ``date``: when it was asked for (ms)."""

    type: Literal["Redriven"]
    count: int
    date: int


class Continue(TypedDict):
    """Go on with a paused run-through (the runtime delivers it for a ``Continue`` command)."""

    type: Literal["Continue"]


Event = (
    Started | TaskSucceeded | TaskFailed | TaskHeartbeat | TaskTaken | TaskSubmitted | TimerFired
    | ChildrenFinished | PageWanted | StopRequested | Continue | Redriven
)
