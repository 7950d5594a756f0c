"""The audit trail: one structured line per state-changing API call.

Every call with a method other than GET and HEAD — and the GET that redeems a login link
— is written to the logger ``statemachine.audit`` as one JSON object: ``keyId`` (the
caller's key id, ``task-token`` for a task callback, ``anonymous`` when no key was shown),
``method``, ``route`` (the route template, ``unmatched`` for an unknown path), ``target``
(the path parameters: which state machine, execution, key...) and ``status`` (the HTTP
status answered, refusals included).  Secrets never appear: not in a route, not in a
path parameter.

A line costs little on the request path: the record is made without the caller lookup
the logging module does by default, and ``cli.py serve`` writes the trail through
:class:`AuditWriter`, which gathers the lines of one moment and writes them at once (at
most :data:`FLUSH_S` later, and at exit) instead of one system call per request.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any, TextIO

import orjson
from aiohttp import web

from statemachine.api.auth import Principal, principal

__all__ = ["AWS_OPERATION", "FLUSH_S", "READ_ONLY", "AuditWriter", "audit", "audit_log"]

audit_log = logging.getLogger("statemachine.audit")
FLUSH_S = 0.2
"""The longest an audit line waits in :class:`AuditWriter` before it is written."""
BATCH_LINES = 512
AWS_OPERATION: web.RequestKey[str] = web.RequestKey("aws_operation", str)
"""The operation an AWS API request named: its audit line says which."""
READ_ONLY: web.RequestKey[bool] = web.RequestKey("read_only", bool)
"""Set on a POST that changes nothing (an AWS Describe or List): no audit line."""


def audit(request: web.Request, status: int, who: Principal | None = None,
          **extra: Any) -> None:
    """Write one audit line for ``request``, answered with ``status``."""
    if not audit_log.isEnabledFor(logging.INFO):
        return
    resource = request.match_info.route.resource
    line = {"keyId": (who or principal(request)).key_id, "method": request.method,
            "route": resource.canonical if resource is not None else "unmatched",
            "target": dict(request.match_info), "status": status, **extra}
    operation = request.get(AWS_OPERATION)
    if operation is not None:
        line["operation"] = operation
    # makeRecord + handle: the same record as .info(), without the stack walk of findCaller
    audit_log.handle(audit_log.makeRecord(audit_log.name, logging.INFO, __file__, 0,
                                          orjson.dumps(line).decode(), (), None))


class AuditWriter(logging.Handler):
    """Writes audit lines to a stream (stderr) in batches: one write per :data:`FLUSH_S`
    on the event loop (or per :data:`BATCH_LINES` lines), and whatever is left at close."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(logging.INFO)
        self.stream = stream or sys.stderr
        self.lines: list[str] = []
        self._second = -1
        self._stamp = ""

    def emit(self, record: logging.LogRecord) -> None:
        second = int(record.created)
        if second != self._second:  # the date part is formatted once a second
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        self.lines.append(f"{self._stamp},{int(record.msecs):03d} INFO {record.name}: "
                          f"{record.getMessage()}\n")
        if len(self.lines) >= BATCH_LINES:
            self.flush()
        elif len(self.lines) == 1:
            try:
                asyncio.get_running_loop().call_later(FLUSH_S, self.flush)
            except RuntimeError:  # no event loop: write at once
                self.flush()

    def flush(self) -> None:
        if self.lines:
            text, self.lines = "".join(self.lines), []
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed: nothing more to do
                pass

    def close(self) -> None:
        self.flush()
        super().close()
