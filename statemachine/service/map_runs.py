"""Map Runs through the service: a Distributed Map's run described, listed, updated, and its
child executions listed (AWS's DescribeMapRun, ListMapRuns, UpdateMapRun and
ListExecutions(mapRunArn); REST's ``/v1/map-runs``).

A Map Run is named by the id its ARN ends with (``...:mapRun:<machine>/<label>:<id>``);
its record is kept while the execution that started it is (store/map_runs.py).  Counts
follow DescribeMapRun's ``MapRunExecutionCounts``: ``running`` children began and not ended,
``pending`` not begun; ``resultsWritten`` the children whose results its ResultWriter wrote.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from statemachine.errors import InputError, NotFound
from statemachine.interpreter.formats import iso
from statemachine.interpreter.records import Execution, Status
from statemachine.interpreter.step import run_child_id
from statemachine.runtime.store import Store
from statemachine.runtime.store.map_runs import MapRunRecord
from statemachine.runtime.store.scripts import UpdateRunReply

__all__ = ["MAX_CONCURRENCY", "MAX_COUNT", "MapRunBook", "counts", "own_id"]

MAX_PAGE = 1000
MAX_CONCURRENCY = 2**31 - 1
"""AWS's MaxConcurrency is an integer (32 bits)."""
MAX_COUNT = 2**53
"""AWS's ToleratedFailureCount is a long; JSON numbers are exact up to 2**53."""


def own_id(execution_id: Any) -> Any:
    """An execution id as given, or a Map Run child's from its name (``<id>`` with "." for
    "/": how a URL path names it)."""
    if isinstance(execution_id, str) and "." in execution_id and "/" not in execution_id:
        return run_child_id(execution_id)
    return execution_id


def _not_found(run_id: str) -> NotFound:
    return NotFound(f"Map Run Does Not Exist: {run_id!r}", "ResourceNotFound")


def counts(total: int, got: dict[str, int]) -> dict[str, int]:
    """``MapRunExecutionCounts``/``MapRunItemCounts`` from a run's counters: ``pending``
    those never begun (a failed or aborted run keeps them, as AWS's), ``resultsWritten``
    those whose results the ResultWriter wrote (0 without one, or until it has)."""
    ended = sum(got[s] for s in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"))
    return {
        "pending": max(0, total - got["started"]),
        "running": max(0, got["started"] - ended),
        "succeeded": got["SUCCEEDED"], "failed": got["FAILED"], "timedOut": got["TIMED_OUT"],
        "aborted": got["ABORTED"], "total": total, "resultsWritten": got.get("written", 0),
        "failuresNotRedrivable": 0, "pendingRedrive": 0,
    }


class MapRunBook:
    """The service's Map Run operations over one store; ``summary`` makes an execution
    listing's entry (the service's)."""

    def __init__(self, store: Store, summary: Callable[[Execution], dict[str, Any]]) -> None:
        self._store = store
        self._summary = summary

    def view(self, run: MapRunRecord) -> dict[str, Any]:
        """A Map Run as DescribeMapRun shows it (``executionId``: the execution it began in)."""
        return {
            "mapRunId": run.arn.rsplit(":", 1)[1], "mapRunArn": run.arn,
            "executionId": run.owner, "status": run.status, "startDate": iso(run.start),
            "stopDate": iso(run.stop) if run.stop is not None else None,
            "maxConcurrency": run.max_concurrency,
            "toleratedFailurePercentage": run.tolerated_percentage or 0.0,
            "toleratedFailureCount": run.tolerated_count or 0,
            "itemCounts": counts(run.item_total, run.items),
            "executionCounts": counts(run.total, run.counts),
            "redriveCount": 0, "redriveDate": None,
        }

    async def find_child(self, machine: str, name: str) -> str:
        """The id of the Map Run child an ARN names (``<machine>/<label>``, its name)."""
        base, _, label = machine.partition("/")
        record = await self._store.executions.load(run_child_id(name))
        if (record is None or record["machine"] != base or "map_run" not in record
                or record["map_run"]["label"] != label):
            raise NotFound("Execution Does Not Exist: "
                           f"'{self._store.settings.place.execution(machine, name)}'",
                           "ExecutionDoesNotExist")
        return record["id"]

    async def find(self, run_id: str) -> MapRunRecord:
        if not isinstance(run_id, str) or not run_id or len(run_id) > 80:
            raise _not_found(run_id)
        found = await self._store.map_runs.find(run_id)
        if found is None:
            raise _not_found(run_id)
        return found

    async def describe(self, run_id: str) -> dict[str, Any]:
        return self.view(await self.find(run_id))

    async def of_execution(self, execution_id: str) -> list[dict[str, Any]]:
        """The Map Runs of an execution (that exists: the caller checks), oldest first."""
        return [self.view(r) for r in await self._store.map_runs.of(execution_id)]

    async def update(self, run_id: str, max_concurrency: Any = None,
                     tolerated_count: Any = None, tolerated_percentage: Any = None) -> None:
        """UpdateMapRun: applies at once (a raised limit starts more children now; a
        tolerance counts from the next child's end); a run that has ended is refused
        (ValidationException, as AWS's)."""
        mc = _integer(max_concurrency, "maxConcurrency", MAX_CONCURRENCY)
        tc = _integer(tolerated_count, "toleratedFailureCount", MAX_COUNT)
        tp = _percentage(tolerated_percentage)
        if mc is None and tc is None and tp is None:
            raise InputError("At least one of maxConcurrency, toleratedFailureCount or "
                             "toleratedFailurePercentage must be given", "ValidationException")
        run = await self.find(run_id)
        match await self._store.map_runs.update(run, mc, tc, tp):
            case UpdateRunReply.NO_RUN:
                raise _not_found(run_id)
            case UpdateRunReply.ENDED:  # AWS updates an in-progress Map Run only
                raise InputError(f"Map Run {run.arn} is not RUNNING: a Map Run that has "
                                 "ended cannot be updated", "ValidationException")

    async def executions(self, run_id: str, status: str | None = None, limit: int = 100,
                         cursor: str | None = None) -> dict[str, Any]:
        """The run's child executions in index order, ``status`` ones only; ``nextCursor``:
        the index the next page starts at."""
        if status is not None and status not in frozenset(Status):
            raise InputError(f"status must be one of {', '.join(Status)}", "ValidationException")
        run = await self.find(run_id)
        at = 0
        if cursor:
            if not cursor.isdigit() or len(cursor) > 12:
                raise InputError("malformed cursor", "InvalidToken")
            at = int(cursor)
        limit = max(1, min(int(limit), MAX_PAGE))
        found: list[Execution] = []
        while at < run.total and len(found) < limit:
            upto = min(run.total, at + limit - len(found))
            ids = [f"{run.run}/{i}" for i in range(at, upto)]
            found += await self._store.executions.load_many(
                ids, None if status is None else Status(status))
            at = upto
        items = [{**self._summary(r), "mapRunArn": run.arn} for r in found]
        return {"executions": items, "nextCursor": str(at) if at < run.total else None}


def _integer(value: Any, field: str, most: int) -> int | None:
    """A count from 0 to ``most`` (an integral float too: JSON does not tell them apart)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        raise InputError(f"{field} must be an integer from 0 to {most}", "ValidationException")
    return value


def _percentage(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and 0 <= value <= 100):
        raise InputError("toleratedFailurePercentage must be a number from 0 to 100",
                         "ValidationException")
    return float(value)
