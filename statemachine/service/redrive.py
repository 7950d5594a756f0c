"""Redrive (AWS's ``RedriveExecution``): what the service says of an execution's redrives,
and the operation itself.

A FAILED, TIMED_OUT or ABORTED execution that ended less than 14 days ago resumes in the
state that did not succeed, under the same id: :func:`redrive` checks it with the pure
core's rules (:func:`statemachine.interpreter.redrive.not_redrivable`), then the store
re-opens it atomically (``redrive.lua``: RUNNING again, listed as such, no longer
expiring) and enqueues the ``Redriven`` event a worker applies.  An archived execution is
restored into Redis first.  Errors as AWS's:
``ExecutionDoesNotExist`` (``NotFound``), ``ExecutionNotRedrivable`` (``Conflict``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, assert_never

from statemachine.errors import Conflict, InputError, NotFound
from statemachine.interpreter.events import Redriven
from statemachine.interpreter.formats import iso
from statemachine.interpreter.records import Execution
from statemachine.interpreter.redrive import REDRIVE_WINDOW_MS, RedriveStatus, not_redrivable
from statemachine.runtime.clock import now_ms
from statemachine.runtime.store import RedriveReply, Store

__all__ = ["RedriveFilter", "check_redrive_filter", "redrive", "redrive_fields",
           "redrive_summary", "redriven_only"]

MAX_CLIENT_TOKEN = 64
"""AWS's longest ``clientToken``."""
_ATTEMPTS = 3
"""Loads of a record that keeps changing under a redrive before giving up (it runs)."""


class RedriveFilter(StrEnum):
    """ListExecutions' ``redriveFilter``."""

    REDRIVEN = "REDRIVEN"
    NOT_REDRIVEN = "NOT_REDRIVEN"


def redrive_summary(record: Execution) -> dict[str, Any]:
    """What a listing shows of an execution's redrives (AWS's ExecutionListItem)."""
    at = record.get("redriven_at")
    return {"redriveCount": record.get("redrives", 0),
            "redriveDate": None if at is None else iso(at)}


def redrive_fields(record: Execution, now: int) -> dict[str, Any]:
    """What DescribeExecution shows: count, date, whether it can be redriven now and why not."""
    reason = not_redrivable(record, now)
    status = RedriveStatus.REDRIVABLE if reason is None else RedriveStatus.NOT_REDRIVABLE
    return {**redrive_summary(record), "redriveStatus": status, "redriveStatusReason": reason}


def check_redrive_filter(value: str | None) -> RedriveFilter | None:
    """``redriveFilter`` checked (None: no filter)."""
    if value is None:
        return None
    try:
        return RedriveFilter(value)
    except ValueError:
        raise InputError(f"redriveFilter must be one of {', '.join(RedriveFilter)}",
                         "ValidationException") from None


def redriven_only(choice: RedriveFilter) -> Any:
    """The listing's predicate for ``choice``."""
    match choice:
        case RedriveFilter.REDRIVEN:
            return lambda record: record.get("redrives", 0) > 0
        case RedriveFilter.NOT_REDRIVEN:
            return lambda record: not record.get("redrives", 0)
        case _:
            assert_never(choice)


def _not_redrivable(reason: str) -> Conflict:
    return Conflict(reason, "ExecutionNotRedrivable")


async def redrive(store: Store, load: Callable[[str], Awaitable[Execution]], execution_id: str,
                  client_token: str | None = None) -> dict[str, Any]:
    """Resume a FAILED, TIMED_OUT or ABORTED execution in the state that did not succeed:
    ``{"executionId", "redriveDate", "redriveCount"}``; ``load``: the service's read of a
    record (NotFound when there is none).  A repeated request with the ``client_token`` of
    the last redrive answers as that one did and does nothing more."""
    if client_token is not None and (not isinstance(client_token, str) or not client_token
                                     or len(client_token) > MAX_CLIENT_TOKEN):
        raise InputError(f"clientToken must be 1 to {MAX_CLIENT_TOKEN} characters",
                         "ValidationException")
    token = client_token or ""
    # An archived execution comes back into Redis first (record and history, as archived),
    # so that a redrive resumes it as it would have before; archiving takes it out again
    # once it has ended anew.
    await store.executions.archiving.restore(execution_id)
    for _ in range(_ATTEMPTS):
        record = await load(execution_id)
        now = now_ms()
        reason = not_redrivable(record, now)
        if reason is not None and not token:
            raise _not_redrivable(reason)
        event: Redriven = {"type": "Redriven", "count": record.get("redrives", 0) + 1,
                           "date": now}
        reply, found = await store.executions.redrive(
            record, event, token, now - REDRIVE_WINDOW_MS, repeat_only=reason is not None)
        match reply:
            case RedriveReply.REDRIVEN:
                return _answer(execution_id, event["count"], now)
            case RedriveReply.REPEATED:
                return _answer(execution_id, found["count"], found["date"])
            case RedriveReply.NO_RECORD:
                raise NotFound(f"execution {execution_id!r} does not exist",
                               "ExecutionDoesNotExist")
            case RedriveReply.NOT_REDRIVABLE:
                raise _not_redrivable(reason or f"Execution is {found} and cannot be redriven")
            case RedriveReply.WINDOW_PASSED:
                raise _not_redrivable("Execution redrivable period exceeded")
            case RedriveReply.CHANGED:
                continue
            case _:
                assert_never(reply)
    raise _not_redrivable("Execution is RUNNING and cannot be redriven")


def _answer(execution_id: str, count: int, at: int) -> dict[str, Any]:
    return {"executionId": execution_id, "redriveCount": count, "redriveDate": iso(at)}
