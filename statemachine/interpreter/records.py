"""The data that crosses the boundary of the pure core: the execution record and its status.
Events in: :mod:`.events`; commands out: :mod:`.commands`; ``Decision``: :mod:`.step`.

Records and events are plain JSON (dicts, lists, str, int, float, bool, None), typed as
``TypedDict`` (no cost at run time), so that the runtime can store them in Redis with
``orjson`` and read them back unchanged.

``advance(machine, execution, event, *, now) -> Decision``
    ``machine``   a compiled :class:`statemachine.language.model.Machine` (the whole
                  definition; a child execution runs ``machine.sub(execution["path"])``).
    ``execution`` an :class:`Execution`.  ``advance`` never mutates it; it returns a new one.
    ``event``     one of :data:`statemachine.interpreter.events.Event`.
    ``now``       milliseconds since the epoch (int), the only clock the core sees.

    An event that does not match what the record waits for (an old token, an old
    timer, a finished execution) returns the record unchanged with no commands:
    that is how duplicates and late callbacks are made harmless.

History events use Step Functions' shape:
``{"id", "previousEventId", "timestamp" (ms), "type", <details>: {...}}``, the details under
the member :func:`~statemachine.interpreter.context.details_key` names, as botocore's model.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, NotRequired, TypedDict

HistoryEvent = dict[str, Any]
JsonPath = list[str | int]
"""A sub-machine's path in the definition, e.g. ``["States", "MapX", "ItemProcessor"]``."""


class Status(StrEnum):
    """An execution's status: the one definition the service, the API, OpenAPI and the
    dashboard use (a ``StrEnum``, so a member equals its text in records and in Redis)."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"


TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.TIMED_OUT, Status.ABORTED})
EXPRESS_LIMIT_S = 300
"""How long an EXPRESS execution may run before it times out (AWS's 5 minutes)."""

Waiting = Literal["task", "timer", "retry", "children", "continue"]
"""What a RUNNING execution waits for (``Execution.waiting``); ``"continue"``: a long
run-through paused, ``state`` and ``state_input`` are the state to enter next and its input."""


class ParentLink(TypedDict):
    """A Map/Parallel child's place: its parent, the parent's children group, its index."""

    id: str
    group: str
    index: int


class MapRun(TypedDict):
    """A Distributed Map's child execution's Map Run: its ARN, the Map's ``Label`` (or state
    name: the child's ARN is ``...:execution:<machine>/<label>:<name>``) and whether its
    input is a batch (``ItemBatcher``: the Map Run counts its items); ``express``: its
    ``ExecutionType`` is EXPRESS (no history is kept; counted in its Map Run all the same)."""

    arn: str
    label: str
    batched: bool
    express: NotRequired[bool]
    writes: NotRequired[bool]
    """the Map exports its results (a ``ResultWriter`` with a ``Resource``): a run that
    fails hands every child's outcome over too, for the files AWS writes of a failed run"""


class RunFailure(TypedDict):
    """Why a Distributed Map's run failed (``threshold``: its tolerated failure threshold
    was exceeded), kept while its results are written: the Map fails with it afterwards."""

    error: str | None
    cause: str | None
    threshold: bool


class RunWriting(TypedDict):
    """A Distributed Map's results being exported (its ``ResultWriter``'s task pending): the
    children and items the files hold (DescribeMapRun's ``resultsWritten`` once written),
    and, for a run that failed, the failure the Map fails with afterwards."""

    executions: int
    items: int | None
    """None: every item the run started (its outcomes were left in the store for the
    writer, so the interpreter never saw their inputs)"""
    failed: NotRequired[RunFailure]


class ItemPaging(TypedDict):
    """A Distributed Map reading its items a page at a time: items read so far (``skip``:
    the next page's first item index), children added so far (``inputs``: the next page's
    first child index), and the token of the page read in flight (None: none asked yet)."""

    skip: int
    inputs: int
    token: str | None
    cursor: NotRequired[Any]
    """where the page before ended, as the reader said (a CSV/JSONL object's byte offset):
    the next read resumes there instead of skipping ``skip`` items"""


class MapItem(TypedDict):
    """``$$.Map.Item`` of a Map child (``Value`` left out when the item values are not kept)."""

    Index: int
    Value: NotRequired[Any]


class Root(TypedDict):
    """The top-level execution a child belongs to (``$$.Execution`` is the root's)."""

    id: str
    name: str
    input: Any
    start: int
    redrives: NotRequired[int]
    """the root's redrive count when its children were made (``$$.Execution.RedriveCount``)"""
    label: NotRequired[str]
    """a Map Run child's label (the root is then that child: its ARN names the label)"""
    quiet: NotRequired[bool]
    """the root is an EXPRESS Map Run child: no history is kept of it or its children"""


class StartedBy(TypedDict):
    """The execution whose ``states:startExecution`` task started this one (a nested
    execution): its id, the task's token (a ``.sync`` parent is told of this execution's end
    with it) and how that task waits: ``request``, ``sync``, ``sync2`` or ``token``."""

    id: str
    token: str
    pattern: str


class ParentFields(TypedDict):
    """What a child's record is made from, of its parent's (every :class:`Execution` has it)."""

    id: str
    name: str
    machine: str
    machine_version: int
    salt: str
    input: Any
    start: int
    root: Root | None
    place: NotRequired[str]
    express: NotRequired[bool]
    redrives: NotRequired[int]
    test_case: NotRequired[str]
    map_run: NotRequired[MapRun]
    queue: NotRequired[str]
    trace: NotRequired[str]


class Execution(TypedDict):
    """One execution's record: the checkpoint; ``advance()`` returns a new one per event.

    ``id`` of a child is ``<parent id>/<group>/<index>``; the shard of any execution is chosen
    from the part before the first "/", so a child always lives on its root's shard.
    """

    id: str
    name: str
    """``$$.Execution.Name``"""
    machine: str
    machine_version: int
    path: JsonPath
    """[] at the top level; else the sub-machine this child runs, e.g.
    ``["States", "MapX", "ItemProcessor"]`` or ``["States", "P", "Branches", 2]``"""
    status: Status
    input: Any
    output: Any
    error: str | None
    cause: str | None
    rev: int
    """record version, bumped by every advance (compare-and-set in the store)"""
    seq: int
    """id of the last history event written"""
    seq0: NotRequired[int]
    """a child's first event id minus one (its events continue its parent's numbering)"""
    state: str | None
    """the current state (or, while ``waiting`` is "continue", the next one); kept when the
    execution ends other than SUCCEEDED: the state a redrive resumes in"""
    state_input: Any
    """the current state's raw input (kept with ``state``)"""
    entered: int
    """event id of the current state's StateEntered event"""
    entered_at: NotRequired[int]
    """ms when the current state was entered"""
    vars: dict[str, Any]
    """variables visible in this scope"""
    retry: dict[str, int]
    """{retrier index (str): attempts so far} for the current state entry"""
    token: str | None
    """the task token waited for, if any"""
    timer: str | None
    """the timer id waited for, if any (Wait, retry backoff)"""
    waiting: Waiting | None
    burst: NotRequired[int]
    """only while "continue": events the paused run-through wrote in its earlier pieces
    (the history quota counts them)"""
    scheduled_at: NotRequired[int]
    """ms when the last task was scheduled (the start of its attempt's span)"""
    timeout_s: NotRequired[float | None]
    """the pending task's TimeoutSeconds while waiting for a task"""
    heartbeat_s: NotRequired[float | None]
    """the pending task's HeartbeatSeconds while waiting for a task"""
    submitted: NotRequired[str]
    """the token of the pending ``.sync`` task whose ``TaskSubmitted`` history has (absent:
    none yet)"""
    group: str | None
    """the children group waited for (Map/Parallel); kept when the execution stops while
    waiting for it"""
    done_group: NotRequired[str]
    """the children group of the current state entry once it has ended: a redrive of a
    failed Map/Parallel runs again only that group's unsuccessful children"""
    page: NotRequired[ItemPaging]
    """while a Distributed Map's group waits for more pages of items: where the next one
    begins (absent: every page has been read)"""
    start: int
    """ms since the epoch"""
    stop: int | None
    parent: ParentLink | None
    item: MapItem | None
    root: Root | None
    """for a child: the top-level execution"""
    trace: NotRequired[str]
    """the trace header a start was given (AWS X-Ray's ``traceHeader`` or a W3C
    ``traceparent``), shown by describe, which the execution's spans continue; a Map/Parallel
    child's: the context its parent's state handed it (children inherit it)"""
    salt: str
    """random string chosen by the runtime at start; task tokens and idempotency keys are
    derived from it, so they are unguessable yet deterministic on replay"""
    redrives: NotRequired[int]
    """how many times the execution was redriven (absent: never); ``$$.Execution.RedriveCount``"""
    redriven_at: NotRequired[int]
    """ms of the last redrive"""
    place: NotRequired[str]
    """``"<region>:<account>"`` of the ARNs the execution sees (``$$.Execution.Id``...);
    absent: :data:`statemachine.language.arns.DEFAULT_PLACE`"""
    express: NotRequired[bool]
    """True for an EXPRESS execution (its root ``id`` is the ``express_id`` of its ARN);
    absent: STANDARD"""
    published_version: NotRequired[int]
    """the published version a start through a version or alias ARN ran (its revision is
    ``machine_version``); absent: started through the machine itself"""
    alias: NotRequired[str]
    """the alias a start went through, if any"""
    started_by: NotRequired[StartedBy]
    """a nested execution's parent (absent: started through the API)"""
    map_run: NotRequired[MapRun]
    """a Distributed Map's child: an execution of its own (its own history, from
    ExecutionStarted to its end, ``$$.Execution`` its own) in this Map Run; ``parent`` still
    links it to its group"""
    writing: NotRequired[RunWriting]
    """while a Distributed Map's ResultWriter exports its results (see :class:`RunWriting`)"""
    test_case: NotRequired[str]
    """the test case of the service's mock config a start named (``<arn>#<case>``, REST's
    ``testCase``): the runtime answers the states it mocks (:mod:`statemachine.runtime.
    mocking`); Map/Parallel children inherit it; absent: no mocks, every task runs for real"""
    queue: NotRequired[str]
    """the queue whose workers take the execution's work, its machine's when it started
    (:mod:`statemachine.language.queues`); children inherit it; absent: the default queue"""

