"""The audit trail: one structured line per state-changing API call.

Every call with a method other than GET and HEAD — and the GET that redeems a login link
— is written to the logger ``statemachine.audit`` as one line of fields: ``keyId`` (the
caller's key id, ``task-token`` for a task callback, ``anonymous`` when no key was shown),
``method``, ``route`` (the route template, ``unmatched`` for an unknown path), ``target``
(the path parameters: which state machine, execution, key...), ``status`` (the HTTP
status answered, refusals included), and ``executionId`` for a start that made or found
one (so ``grep <id>`` finds it with the execution's other lines).  Secrets never appear:
not in a route, not in a path parameter.

A line costs little on the request path: the record is made without the caller lookup
the logging module does by default, and ``cli.py serve`` writes it with every other line
of the process (:mod:`statemachine.runtime.log_lines`: a JSON object, or the fields' JSON
after the logger's name in text), a moment's lines at once.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from statemachine.api.auth import Principal, principal
from statemachine.runtime.log_lines import Fields, LineRecord

__all__ = ["AWS_OPERATION", "EXECUTION", "READ_ONLY", "audit", "audit_log"]

audit_log = logging.getLogger("statemachine.audit")
AWS_OPERATION: web.RequestKey[str] = web.RequestKey("aws_operation", str)
"""The operation an AWS API request named: its audit line says which."""
READ_ONLY: web.RequestKey[bool] = web.RequestKey("read_only", bool)
"""Set on a POST that changes nothing (an AWS Describe or List): no audit line."""
EXECUTION: web.RequestKey[str] = web.RequestKey("execution", str)
"""The execution a start made or found: its audit line names it."""


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
    execution = request.get(EXECUTION)
    if execution is not None:
        line["executionId"] = execution
    # a LineRecord: the same record as .info(), without findCaller's stack walk and the rest
    audit_log.handle(LineRecord(audit_log.name, logging.INFO, Fields(line), "audit.py"))
