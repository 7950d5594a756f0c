"""What the store keeps in Redis, encoded and decoded in one place.

**Messages** (the ``m`` field of a stream entry, an activity queue's entries, a timer's
work item) are small JSON objects:

* a *work item* (ready stream): ``{"x": execution id, "e": event}``; a Map/Parallel child's
  lazy ``Started`` also carries ``"g": [parent id, group, index]`` (the worker taking it
  builds the child's record); a task's result that a worker could not apply is handed
  over as one too (:func:`handed_over`), so that it is never fetched twice;
* a *dispatch* (tasks stream, the outbox): ``{"x": execution id, "c": InvokeTask command}``
  (and ``"t"``, ``"r"``: see :func:`dispatch`);
* an *activity task* (``sm:T:act:<name>``): ``{"x", "token", "input"}``.

Two scripts build work items too, and must build them exactly like :func:`work_item`
(``tests/runtime/test_codec.py`` runs them and compares the bytes): ``promote.lua`` the
plain ``TimerFired`` of a timer that keeps no message (:func:`timer_item` says which), and
``commit.lua`` a group's next children's ``Started``, its stops and its
``ChildrenFinished`` (from the pieces of :func:`child_pieces`; the Python twin is
:func:`children_finished`).

**Records** (``sm:T:x:<id>`` field ``r``) are stored without their default fields:
:func:`pack_record` / :func:`unpack_record`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, cast

import orjson

from statemachine.interpreter.events import Event
from statemachine.interpreter.records import Execution

__all__ = ["ActivityTask", "ChildLink", "ChildPieces", "Delivered", "Dispatch", "GroupTotal",
           "WorkItem", "activity_task",
           "child_pieces", "child_started", "children_finished", "dispatch", "dumps", "handed_over",
           "history_event", "loads", "message_execution", "pack_record", "read_activity_task",
           "read_dispatch", "read_history", "read_work_item", "timer_item", "unpack_record",
           "work_item"]

loads = orjson.loads
dumps = orjson.dumps

ChildLink = tuple[str, str, int]
"""A lazy child's ``[parent id, group, index]`` (the work item's ``g``)."""


# -- work items --------------------------------------------------------------------------------


class GroupTotal(TypedDict):
    """The ``ChildrenFinished`` ``commit.lua`` enqueues when every child of a group is done:
    the worker reads the outcomes back by index before it delivers the event."""

    type: Literal["ChildrenFinished"]
    group: str
    total: int


Delivered = Event | GroupTotal
"""What a work item carries."""


@dataclass(slots=True)  # not frozen: one per work item, and frozen ones cost 3x to make
class WorkItem:
    """A decoded work item: the event for an execution, with a lazy child's link."""

    execution: str
    event: Delivered
    link: ChildLink | None = None


def work_item(execution_id: str, event: Mapping[str, Any]) -> bytes:
    """The work item delivering ``event`` to ``execution_id``."""
    return dumps({"x": execution_id, "e": event})


def read_work_item(raw: bytes) -> WorkItem:
    message = loads(raw)
    link = message.get("g")
    return WorkItem(message["x"], cast(Delivered, message["e"]),
                    None if link is None else (link[0], link[1], link[2]))


def handed_over(execution_id: str, event: Mapping[str, Any]) -> bytes:
    """The work item that carries a performed task's result (``TaskSucceeded`` or
    ``TaskFailed``, with its token) from the tasks stream to the ready stream, when applying
    it raised: delivered again from there, it is applied again, the task not performed
    again.  A result orjson cannot write (past 255 levels, an integer past 64 bits) goes
    as the task's failure, ``States.Runtime`` naming why."""
    try:
        return work_item(execution_id, event)
    except TypeError as exc:
        failure = {"type": "TaskFailed", "token": event.get("token"), "error": "States.Runtime",
                   "cause": f"The task's result cannot be stored: {exc}."}
        return work_item(execution_id, failure)


def timer_item(execution_id: str, timer_id: str, event: Mapping[str, Any]) -> bytes:
    """A timer's work item, or b"" for the plain ``TimerFired`` that ``promote.lua`` builds
    from the timer id (``<execution id>:...``) itself, saving a hash entry per parked
    execution.  Only ids that need no JSON escaping qualify (the script does not escape)."""
    if (event == {"type": "TimerFired", "timer": timer_id} and ":" not in execution_id
            and timer_id.startswith(execution_id + ":")
            and dumps(timer_id) == b'"' + timer_id.encode() + b'"'):
        return b""
    return work_item(execution_id, event)


@dataclass(slots=True)
class ChildPieces:
    """A group's work item messages in pieces, completed with a child index ``i``.

    ``started_head + i + started_middle + i + b"]}"`` is child i's lazy ``Started``
    (:func:`child_started`) and ``started_head + i + stop`` its ``StopRequested``:
    ``commit.lua`` completes them the same way for the children it starts and stops.
    """

    started_head: bytes
    started_middle: bytes
    stop: bytes


def child_pieces(parent_id: str, group: str) -> ChildPieces:
    """The pieces of ``group``'s messages (see :class:`ChildPieces`)."""
    prefix = dumps(f"{parent_id}/{group}/")[:-1]
    return ChildPieces(
        b'{"x":' + prefix,
        b'","e":{"type":"Started"},"g":[' + dumps(parent_id) + b"," + dumps(group) + b",",
        b'","e":{"type":"StopRequested","error":null,"cause":null}}',
    )


def child_started(parent_id: str, group: str, index: int) -> bytes:
    """Child ``index``'s lazy ``Started`` work item, as ``commit.lua`` builds it too."""
    pieces = child_pieces(parent_id, group)
    i = str(index).encode()
    return pieces.started_head + i + pieces.started_middle + i + b"]}"


def children_finished(parent_id: str, group: str, *, total: int | None = None,
                      failed: dict[str, Any] | None = None) -> bytes:
    """The ``ChildrenFinished`` work item ``commit.lua`` enqueues for the parent: all
    ``total`` children done, or the group ``failed`` (``{index, status, error, cause,
    threshold}``).  The worker reads the outcomes back by index when it takes it."""
    event: dict[str, Any] = {"type": "ChildrenFinished", "group": group}
    if failed is not None:
        event["failed"] = failed
    else:
        event["total"] = total
    return work_item(parent_id, event)


# -- dispatches and activity tasks ---------------------------------------------------------


@dataclass(slots=True)
class Dispatch:
    """A decoded dispatch: the execution and its stored ``InvokeTask`` (as a dict: a
    dispatch is checked against its execution's token before it is turned into a task);
    ``mock``: ``(machine, test case)`` when the execution runs a mock config's test case;
    ``queue``: the execution's queue (None: the default), where a result that cannot be
    applied is handed over to."""

    execution: str
    command: dict[str, Any]
    mock: tuple[str, str] | None = None
    queue: str | None = None
    after: float | None = None
    """when the task result this task follows was received (seconds since the epoch), if
    one transition led from that task to this one: the next-dispatch delay histogram"""

    @property
    def token(self) -> str:
        return str(self.command["token"])


def dispatch(execution_id: str, command: Any, mock: tuple[str, str] | None = None,
             queue: str | None = None, after: float | None = None) -> bytes:
    """The outbox message of an ``InvokeTask`` (a dict, or a dataclass orjson serialises);
    ``"t"``: the execution's machine and test case, only when it has one; ``"q"``: the
    execution's queue, only when not the default one; ``"r"``: when the result of the task
    it follows was received (:attr:`Dispatch.after`), only then."""
    message: dict[str, Any] = {"x": execution_id, "c": command}
    if mock is not None:
        message["t"] = mock
    if queue is not None:
        message["q"] = queue
    if after is not None:
        message["r"] = after
    return dumps(message)


def parent_notice(parent_id: str, event: Mapping[str, Any]) -> bytes:
    """The outbox message telling a ``.sync`` parent that its nested execution ended:
    ``event`` is the parent's task result (TaskSucceeded/TaskFailed with its token)."""
    return dumps({"x": parent_id, "n": event})


def read_parent_notice(raw: bytes) -> tuple[str, dict[str, Any]] | None:
    """``(parent id, event)`` of a :func:`parent_notice`; None for a task dispatch."""
    message = loads(raw)
    notice = message.get("n")
    return None if notice is None else (message["x"], notice)


def read_dispatch(raw: bytes) -> Dispatch:
    message = loads(raw)
    mock = message.get("t")
    return Dispatch(message["x"], message["c"], None if mock is None else (mock[0], mock[1]),
                    message.get("q"), message.get("r"))


@dataclass(slots=True)
class ActivityTask:
    execution: str
    token: str
    input: Any


def activity_task(execution_id: str, token: str, input: Any) -> bytes:
    return dumps({"x": execution_id, "token": token, "input": input})


def read_activity_task(raw: bytes) -> ActivityTask:
    message = loads(raw)
    return ActivityTask(message["x"], message["token"], message["input"])


def message_execution(raw: bytes) -> str | None:
    """The execution id of any message, or None when it is no message of ours (a dead
    letter may hold anything)."""
    try:
        message = loads(raw)
    except ValueError:
        return None
    execution_id = message.get("x") if isinstance(message, dict) else None
    return execution_id if isinstance(execution_id, str) else None


# -- records and history ---------------------------------------------------------------------

# Record fields left out of the stored JSON while they hold these values (most of a
# record's fields, most of the time: a parked execution's record is a third smaller).
_RECORD_DEFAULTS: dict[str, Any] = {
    "output": None, "error": None, "cause": None, "state": None, "state_input": None,
    "token": None, "timer": None, "waiting": None, "group": None, "stop": None,
    "parent": None, "item": None, "root": None, "path": [], "vars": {}, "retry": {},
}


def awaits_token(status: bytes | None, awaited: bytes | None, token: str) -> bool:
    """Whether a record's ``status`` and ``token`` fields (as HMGET reads them) say that the
    execution is RUNNING and waits for the task with ``token``."""
    return status == b"RUNNING" and awaited is not None and awaited.decode() == token


def pack_record(record: Execution) -> bytes:
    """An execution record as stored: without fields at their default, nor a name that is
    the id (an unnamed execution's); :func:`unpack_record` restores both."""
    defaults = _RECORD_DEFAULTS
    return dumps({k: v for k, v in record.items()
                  if not (k in defaults and v == defaults[k] and type(v) is type(defaults[k]))
                  and not (k == "name" and v == record["id"])})


def unpack_record(raw: bytes) -> Execution:
    """The record :func:`pack_record` stored, with every field present again."""
    record: dict[str, Any] = loads(raw)
    for key, default in _RECORD_DEFAULTS.items():
        if key not in record:
            record[key] = [] if default == [] else {} if default == {} else None
    if "name" not in record:
        record["name"] = record["id"]
    return cast(Execution, record)


def history_event(event: Mapping[str, Any]) -> bytes:
    """A history event as stored: without id/previousEventId, which its list position gives."""
    return dumps({k: v for k, v in event.items() if k != "id" and k != "previousEventId"})


def read_history(raw: list[bytes], first: int) -> list[dict[str, Any]]:
    """Stored history events with their ids again, the first being event ``first``."""
    return [{"id": n, "previousEventId": n - 1, **loads(event)}
            for n, event in enumerate(raw, start=first)]
