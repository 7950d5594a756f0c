"""An execution's log, read afterwards: ``GET /v1/executions/{id}/logs``.

Derived from the stored history on read, a page at a time: there is no second copy of an
execution's events in Redis.  The execution's state machine revision's
``loggingConfiguration`` (:mod:`statemachine.interpreter.execution_log`) picks the events
(``OFF``: none) and whether their data stays; each is shaped as Step Functions writes it to
CloudWatch Logs.  The history is already redacted (sensitive headers masked when it was
written; connections' secrets never enter it), so the log is too.

Paging: ``nextCursor`` is the id of the last history event looked at.  A page holds at most
``limit`` logged events and looks at no more than :data:`MAX_SCANNED` history events, so a
page of a long history at level ``ERROR`` may hold fewer (even none) with a ``nextCursor``
still: the log goes on after it.  ``nextCursor`` is null once the whole log of an execution that
has ended was read; a RUNNING execution's last page gives the id of its last event so far,
to read again from (what ``cli.py logs --follow`` and the dashboard do).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from statemachine.errors import InputError
from statemachine.interpreter.execution_log import LoggingConfiguration, LogLevel, log_event
from statemachine.interpreter.records import TERMINAL, Execution
from statemachine.language.arns import Place
from statemachine.runtime.store import Store
from statemachine.service.map_runs import own_id

__all__ = ["LOG_CURSOR", "MAX_SCANNED", "ExecutionLogs", "execution_arn"]

LOG_CURSOR = re.compile(r"[0-9]{1,18}")
"""``nextCursor`` of a log page: the id of the last history event it looked at."""
MAX_SCANNED = 10_000
"""History events one page looks at, at most (a read costs the same at any level)."""
_READ = 1000
"""History events read from the store at once."""


def execution_arn(place: Place, record: Execution) -> str:
    """The ARN a record's log events name: a Map Run child's names its Map's label, an
    EXPRESS execution's is an express ARN."""
    run = record.get("map_run")
    machine = record["machine"] if run is None else f"{record['machine']}/{run['label']}"
    express_id = record["id"] if record.get("express") and run is None else None
    return place.execution(machine, record["name"], express_id=express_id)


class ExecutionLogs:
    """Pages of executions' logs."""

    def __init__(self, store: Store, place: Place,
                 load: Callable[[str], Awaitable[Execution]]) -> None:
        """``load``: an execution's record by id (NotFound when there is none)."""
        self._store = store
        self._place = place
        self._load = load

    async def page(self, execution_id: str, limit: int = 100,
                   cursor: str | None = None) -> dict[str, Any]:
        """``{"executionId", "executionArn", "loggingConfiguration", "events",
        "nextCursor"}``: the logged events after ``cursor``, oldest first."""
        execution_id = own_id(execution_id)
        record = await self._load(execution_id)
        after = 0
        if cursor:
            if LOG_CURSOR.fullmatch(cursor) is None:
                raise InputError("malformed cursor", "InvalidCursor")
            after = int(cursor)
        limit = max(1, min(int(limit), 1000))
        stored = await self._store.machines.version(record["machine"], record["machine_version"])
        config = LoggingConfiguration.stored((stored or {}).get("loggingConfiguration"))
        arn = execution_arn(self._place, record)
        answer: dict[str, Any] = {"executionId": record["id"], "executionArn": arn,
                                  "loggingConfiguration": config.shape(), "events": [],
                                  "nextCursor": None}
        run = record.get("map_run")
        if config.level is LogLevel.OFF or (run is not None and run.get("express")):
            return answer  # nothing logged; an EXPRESS Map Run child keeps no history
        events: list[dict[str, Any]] = answer["events"]
        scanned, done = 0, False
        while len(events) < limit and scanned < MAX_SCANNED:
            page, more = await self._store.executions.history_page(execution_id, after, _READ)
            for event in page:
                after, scanned = int(event["id"]), scanned + 1
                if config.includes(event["type"]):
                    events.append(log_event(event, arn,
                                            include_data=config.include_execution_data))
                    if len(events) == limit:
                        break
            done = not more and (not page or after == int(page[-1]["id"]))
            if done or not page:
                break
        # a RUNNING execution's log goes on: its end so far is where to read again
        answer["nextCursor"] = None if done and record["status"] in TERMINAL else str(after)
        return answer
