"""The execution lines a worker writes: every event a committed transition added to an
execution's history that its machine's ``loggingConfiguration`` logs (``OFF``, the default:
none; see :mod:`statemachine.interpreter.execution_log`), one line each, on the logger
``statemachine.execution`` (formatted by :mod:`statemachine.runtime.log_lines`).

A line says, besides the event's id and type: the execution (``executionId`` — a Map or
Parallel child's id begins with its root's, so ``grep <root id>`` finds the children's
lines too), ``machine`` and ``version`` (the revision it runs), the ``state``; for a task,
its ``attempt`` (1 the first) and ``resourceHost`` (the ``host:port`` its request goes to);
``durationMs`` of a state at its exit, of a task attempt this worker performed at its
result, of the execution at its end; the ``error``; and the event's ``details``, without the
execution's data unless ``includeExecutionData``.  The level: ``ERROR`` for the execution's
failed end, ``WARNING`` for the other failures level ``ERROR`` logs, else ``INFO``.

The events are the ones the history keeps, sensitive headers masked
(:class:`~statemachine.runtime.redaction.Redactor`); connections' secrets never reach them.
Costs nothing for a machine that logs nothing: the transition checks its level only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from statemachine.interpreter.commands import InvokeTask
from statemachine.interpreter.execution_log import (
    ERROR_TYPES,
    FATAL_TYPES,
    LoggingConfiguration,
    details_of,
    without_data,
)
from statemachine.interpreter.records import Execution
from statemachine.interpreter.step import Decision
from statemachine.runtime.invokers.base import destination, parse_resource
from statemachine.runtime.log_lines import Event
from statemachine.runtime.redaction import Redactor
from statemachine.runtime.settings import Settings

__all__ = ["ExecutionLog", "Performed", "log"]

log = logging.getLogger("statemachine.execution")

_RESULTS = ("Succeeded", "Failed", "TimedOut")
_EXECUTION_ENDS = frozenset({"ExecutionSucceeded", *FATAL_TYPES})


@dataclass(frozen=True, slots=True)
class Performed:
    """A task attempt this worker performed: where its request went (None: nowhere), how
    long it took, and which attempt it was (1 the first)."""

    host: str | None
    duration_ms: float
    attempt: int


def _level(event_type: str) -> int:
    if event_type in FATAL_TYPES:
        return logging.ERROR
    return logging.WARNING if event_type in ERROR_TYPES else logging.INFO


def _task(event_type: str) -> bool:
    """Whether ``event_type`` is about a task attempt (not the Task state around it)."""
    return ((event_type.startswith("Task") and not event_type.startswith("TaskState"))
            or event_type.startswith(("Activity", "LambdaFunction")))


class ExecutionLog:
    """Writes the lines of committed transitions."""

    def __init__(self, settings: Settings) -> None:
        self._redactor = Redactor(settings.redact_headers)
        self._invokers = settings.invokers

    def committed(self, config: LoggingConfiguration, loaded: Execution, decision: Decision,
                  performed: Performed | None = None) -> None:
        """The lines of ``decision``'s events (``loaded``: the record it was made from;
        ``performed``: the task attempt whose result it applied, if this worker performed
        it)."""
        if not log.isEnabledFor(logging.INFO):
            return
        ex = decision.execution
        base = {"executionId": ex["id"], "machine": ex["machine"],
                "version": ex["machine_version"]}
        state = loaded["state"]
        entered: dict[str, int] = {}
        if state is not None and "entered_at" in loaded:
            entered[state] = loaded["entered_at"]
        for event in self._redactor.history(decision.history):
            kind: str = event["type"]
            details = details_of(event)
            if kind.endswith(("StateEntered", "StateExited")) and details is not None:
                state = details.get("name", state)
                if kind.endswith("StateEntered") and state is not None:
                    entered[state] = event["timestamp"]
            if not config.includes(kind):
                continue
            fields: dict[str, Any] = {**base, "state": state} if state else {**base}
            fields["eventId"], fields["type"] = event["id"], kind
            if _task(kind):
                fields.update(self._task_fields(kind, state, loaded, decision, performed))
            duration = self._duration(kind, state, event["timestamp"], entered, ex)
            if duration is not None:
                fields.setdefault("durationMs", duration)
            if details is not None:
                if "error" in details:
                    fields["error"] = details["error"]
                fields["details"] = (details if config.include_execution_data
                                     else without_data(details))
            message = kind if state is None else f"{kind} {state}"
            log.handle(log.makeRecord(log.name, _level(kind), __file__, 0,
                                      Event(message, fields), (), None))

    def _task_fields(self, kind: str, state: str | None, loaded: Execution,
                     decision: Decision, performed: Performed | None) -> dict[str, Any]:
        """``attempt``, ``resourceHost`` (and ``durationMs`` of a result this worker's
        attempt got) of a task event."""
        if kind.endswith(_RESULTS) and performed is not None:
            return {"attempt": performed.attempt, "resourceHost": performed.host,
                    "durationMs": round(performed.duration_ms, 1)}
        if kind.endswith("Scheduled"):
            for command in decision.commands:
                if isinstance(command, InvokeTask) and command.state == state:
                    resource = parse_resource(command.resource)
                    host = (destination(resource, command.input, self._invokers)
                            if resource is not None else None)
                    return {"attempt": command.attempt + 1, "resourceHost": host}
        record = loaded if kind.endswith(_RESULTS) else decision.execution
        retries = record["retry"] if record["state"] == state else {}
        return {"attempt": 1 + sum(retries.values())}

    @staticmethod
    def _duration(kind: str, state: str | None, at: int, entered: dict[str, int],
                  ex: Execution) -> int | None:
        """How long the state lasted at its exit, the execution at its end."""
        if kind.endswith("StateExited") and state in entered:
            return at - entered[state]
        if kind in _EXECUTION_ENDS:
            return at - ex["start"]
        return None
