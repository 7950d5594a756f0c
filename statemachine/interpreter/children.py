"""Map and Parallel children: when to start the next one, when the group is done.

Pure bookkeeping shared by the in-memory runner and the Redis runtime, so both
apply ``MaxConcurrency`` and the tolerated-failure thresholds the same way.
A group's counters are a small flat dict (it lives in a Redis hash as is);
results are kept by the caller, indexed by child.
"""

from __future__ import annotations

from typing import Any, TypedDict

from statemachine.interpreter.commands import StartChildren
from statemachine.interpreter.events import ChildOutcome, FailedChild

Counters = dict[str, Any]

RUN_GROUP = "r"
"""The first letter of a Distributed Map's group name (``r<MapRunStarted id>``): its children
are executions of their own, each with a history of its own (the runtime keys it by that)."""


def batch_size(batch: Any) -> int:
    """How many items a Map Run child's input carries (``ItemBatcher``'s ``{"Items": [...]}``)."""
    items = batch.get("Items") if isinstance(batch, dict) else None
    return len(items) if isinstance(items, list) else 1


def is_run(group: str | None) -> bool:
    """Whether ``group`` is a Distributed Map's Map Run."""
    return group is not None and group.startswith(RUN_GROUP)


class Verdict(TypedDict, total=False):
    """How a group ended: ``done`` (every child finished within tolerance) or ``failed``
    (the child whose failure stops the group now)."""

    done: bool
    failed: FailedChild


def root_of(execution_id: str) -> str:
    """The root execution id of any execution (itself for a root)."""
    return execution_id.split("/", 1)[0]


def history_owner(execution_id: str) -> str:
    """The execution whose history list holds ``execution_id``'s events: its root, or the
    nearest Map Run child (``.../r<n>/<index>``) it is or belongs to (an inline Map or
    Parallel inside a Map Run child numbers its events into that child's history)."""
    parts = execution_id.split("/")
    for i in range(len(parts) - 2, 0, -2):
        if parts[i].startswith(RUN_GROUP):
            return "/".join(parts[:i + 2])
    return parts[0]


def open_group(command: StartChildren) -> tuple[Counters, list[int]]:
    """Counters for a ``StartChildren`` command and the indexes to start right away."""
    total = len(command.inputs)
    limit = int(command.max_concurrency or 0)
    first = total if limit <= 0 else min(limit, total)
    counters: Counters = {
        "kind": command.kind,
        "total": total,
        "limit": limit,
        "next": first,
        "running": first,
        "done": 0,
        "failed": 0,
        "tolerated_count": command.tolerated_count,
        "tolerated_percentage": command.tolerated_percentage,
        "closed": 0,
    }
    if command.more:  # a Distributed Map's first page: the group stays open for the next
        counters.update(open=1, asked=1, low=total)
    return counters, list(range(first))


def _exceeded(c: Counters) -> bool:
    failed = c["failed"]
    if failed == 0:
        return False
    count, pct = c.get("tolerated_count"), c.get("tolerated_percentage")
    if c["kind"] != "map" or (count is None and pct is None):
        return True
    if count is not None and failed > count:
        return True
    return pct is not None and failed * 100.0 / c["total"] > pct


def child_finished(
    c: Counters, index: int, outcome: ChildOutcome
) -> tuple[Counters, list[int], Verdict | None]:
    """Record one child's end.  Returns (counters, indexes to start, verdict or None).

    The verdict is ``{"done": True}`` when every child finished within tolerance, or
    ``{"failed": {...}}`` when the group must stop now (the rest are to be stopped).
    A closed group ignores further outcomes.
    """
    c = dict(c)
    if c["closed"]:
        return c, [], None
    c["done"] += 1
    c["running"] -= 1
    if outcome.get("status") != "SUCCEEDED":
        c["failed"] += 1
        if _exceeded(c):
            c["closed"] = 1
            tolerant = c["kind"] == "map" and (
                c.get("tolerated_count") is not None or c.get("tolerated_percentage") is not None
            )
            failed: FailedChild = {
                "index": index,
                "status": outcome.get("status"),
                "error": outcome.get("error"),
                "cause": outcome.get("cause"),
                "threshold": tolerant,
            }
            return c, [], {"failed": failed}
    if c["done"] >= c["total"] and not c.get("open"):  # an open group awaits more pages
        c["closed"] = 1
        return c, [], {"done": True}
    start: list[int] = []
    while c["next"] < c["total"] and (c["limit"] <= 0 or c["running"] < c["limit"]):
        start.append(c["next"])
        c["next"] += 1
        c["running"] += 1
    return c, start, None
