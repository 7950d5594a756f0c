"""The lines a process writes of its executions: every event added to an execution's history
that its machine's ``loggingConfiguration`` logs (``OFF``, the default: none; see
:mod:`statemachine.interpreter.execution_log`), one line each, on the logger
``statemachine.execution`` (formatted by :mod:`statemachine.runtime.log_lines`).  A worker
writes the events of each transition it commits (:meth:`ExecutionLog.committed`); the API
process those of an EXPRESS execution it ran synchronously, once it ended
(:meth:`ExecutionLog.finished`: AWS keeps no other record of one).

A line says, besides the event's id and type: the execution (``executionId`` — a Map or
Parallel child's id begins with its root's, so ``grep <root id>`` finds the children's
lines too), ``machine`` and ``version`` (the revision it runs), the ``state``; for a task,
its ``attempt`` (1 the first) and, from a worker, ``resourceHost`` (the ``host:port`` its
request goes to); ``durationMs`` of a state at its exit, of a task attempt the worker
performed at its result, of the execution at its end; the ``error``; and the event's
``details``, without the execution's data unless ``includeExecutionData``.  The level:
``ERROR`` for the execution's failed end, ``WARNING`` for the other failures level ``ERROR``
logs, else ``INFO``.

The events are the ones the history keeps, sensitive headers masked
(:class:`~statemachine.runtime.redaction.Redactor`); connections' secrets never reach them.
Costs nothing for a machine that logs nothing: the caller checks its level first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
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
from statemachine.interpreter.records import Execution, HistoryEvent
from statemachine.interpreter.step import Decision
from statemachine.runtime.invokers.base import destination, parse_resource
from statemachine.runtime.log_lines import Event, LineRecord
from statemachine.runtime.redaction import Redactor
from statemachine.runtime.settings import Settings

__all__ = ["ExecutionLog", "Performed", "log"]

log = logging.getLogger("statemachine.execution")

_WHERE = "execution_lines.py"
_RESULTS = ("Succeeded", "Failed", "TimedOut")
_EXECUTION_ENDS = frozenset({"ExecutionSucceeded", *FATAL_TYPES})


@dataclass(frozen=True, slots=True)
class Performed:
    """A task attempt a worker performed: where its request went (None: nowhere), how long
    it took, and which attempt it was (1 the first)."""

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


def _state(kind: str, details: dict[str, Any] | None, state: str | None) -> str | None:
    """The state an event is about: the one it enters or exits, else the current one."""
    if details is not None and kind.endswith(("StateEntered", "StateExited")):
        return details.get("name", state)
    return state


def _about(ex: Execution, execution_id: str, version: int | None = None) -> dict[str, Any]:
    return {"executionId": execution_id, "machine": ex["machine"],
            "version": ex["machine_version"] if version is None else version}


class ExecutionLog:
    """Writes the lines of executions' events."""

    def __init__(self, settings: Settings) -> None:
        self._redactor = Redactor(settings.redact_headers)
        self._invokers = settings.invokers

    def committed(self, config: LoggingConfiguration, loaded: Execution, decision: Decision,
                  performed: Performed | None = None) -> None:
        """The lines of a committed ``decision``'s events (``loaded``: the record it was
        made from; ``performed``: the task attempt whose result it applied, if this worker
        performed it)."""
        if not log.isEnabledFor(logging.INFO):
            return
        ex = decision.execution
        state = loaded["state"]
        entered: dict[str | None, int] = {}
        if state is not None and "entered_at" in loaded:
            entered[state] = loaded["entered_at"]
        for event in self._redactor.history(decision.history):
            kind: str = event["type"]
            details = details_of(event)
            state = _state(kind, details, state)
            if kind.endswith("StateEntered"):
                entered[state] = event["timestamp"]
            if config.includes(kind):
                fields = (self._task_fields(kind, state, loaded, decision, performed)
                          if _task(kind) else {})
                self._write(config, _about(ex, ex["id"]), ex["start"], state, event, details,
                            entered.get(state), fields)

    def finished(self, config: LoggingConfiguration, ex: Execution, version: int,
                 history: Sequence[HistoryEvent], origins: Sequence[str]) -> None:
        """The lines of an execution of revision ``version`` run to its end in memory (``ex``
        its record as it ended; ``origins``: the execution, or Map/Parallel child, each event
        came from)."""
        if not log.isEnabledFor(logging.INFO):
            return
        states: dict[str, str | None] = {}
        entered: dict[tuple[str, str | None], int] = {}
        attempts: dict[tuple[str, str | None], int] = {}
        for event, origin in zip(history, origins, strict=True):
            kind: str = event["type"]
            details = details_of(event)
            state = states[origin] = _state(kind, details, states.get(origin))
            if kind.endswith("StateEntered"):
                entered[(origin, state)], attempts[(origin, state)] = event["timestamp"], 0
            elif _task(kind) and kind.endswith("Scheduled"):
                attempts[(origin, state)] = attempts.get((origin, state), 0) + 1
            if config.includes(kind):
                fields = ({"attempt": max(1, attempts.get((origin, state), 1))}
                          if _task(kind) else {})
                self._write(config, _about(ex, origin, version), ex["start"], state, event,
                            details, entered.get((origin, state)), fields)

    @staticmethod
    def _write(config: LoggingConfiguration, about: dict[str, Any], start: int,
               state: str | None, event: HistoryEvent, details: dict[str, Any] | None,
               entered_at: int | None, task: dict[str, Any]) -> None:
        """One line: the execution (``about``; ``start``: when it started), the event,
        ``task``'s fields, the duration of the state at its exit (``entered_at``: when it was
        entered) or of the execution at its end."""
        kind: str = event["type"]
        fields = dict(about)
        if state is not None:
            fields["state"] = state
        fields["eventId"], fields["type"] = event["id"], kind
        fields.update(task)
        if kind.endswith("StateExited") and entered_at is not None:
            fields["durationMs"] = event["timestamp"] - entered_at
        elif kind in _EXECUTION_ENDS:
            fields["durationMs"] = event["timestamp"] - start
        if details is not None:
            if "error" in details:
                fields["error"] = details["error"]
            fields["details"] = details if config.include_execution_data else without_data(details)
        message = kind if state is None else f"{kind} {state}"
        log.handle(LineRecord(log.name, _level(kind), Event(message, fields), _WHERE))

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
