"""What an execution's log holds: Step Functions' ``loggingConfiguration`` applied to its
history.

A state machine's (revision's) ``loggingConfiguration`` names a level and whether execution
data goes along.  The levels are AWS's (developer guide, "Log levels"): ``OFF`` logs
nothing, ``ALL`` every event, ``ERROR`` the failures of tasks, states, iterations and the
execution, ``FATAL`` only the execution's own failed, timed-out or aborted end.  A logged
event has the shape Step Functions writes to CloudWatch Logs: ``id``, ``type``,
``details``, ``previous_event_id``, ``event_timestamp`` (epoch milliseconds) and
``execution_arn``, numbers as text.  Without ``includeExecutionData`` the details leave out
the execution's data (:data:`EXECUTION_DATA`, with their ``*Details``).

Pure: the worker's log lines (:mod:`statemachine.runtime.worker.execution_log`) and the
service's ``GET /v1/executions/{id}/logs`` (:mod:`statemachine.service.execution_logs`)
both read it, so a line written and an event read back agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from statemachine.interpreter.records import HistoryEvent

__all__ = ["ERROR_TYPES", "EXECUTION_DATA", "FATAL_TYPES", "OFF", "LogLevel",
           "LoggingConfiguration", "details_of", "log_event", "without_data"]


class LogLevel(StrEnum):
    """``loggingConfiguration.level``: which events an execution's log holds."""

    ALL = "ALL"
    ERROR = "ERROR"
    FATAL = "FATAL"
    OFF = "OFF"


FATAL_TYPES = frozenset({"ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"})
"""The events level ``FATAL`` logs."""
ERROR_TYPES = FATAL_TYPES | frozenset({
    "FailStateEntered", "LambdaFunctionFailed", "LambdaFunctionScheduleFailed",
    "LambdaFunctionStartFailed", "LambdaFunctionTimedOut", "MapIterationAborted",
    "MapIterationFailed", "MapRunAborted", "MapRunFailed", "MapStateAborted", "MapStateFailed",
    "ParallelStateAborted", "ParallelStateFailed", "TaskFailed", "TaskStartFailed",
    "TaskStateAborted", "TaskSubmitFailed", "TaskTimedOut", "WaitStateAborted",
    "ActivityFailed", "ActivityScheduleFailed", "ActivityTimedOut",
})
"""The events level ``ERROR`` logs (AWS's table, with the Map Run and activity failures)."""

EXECUTION_DATA = ("input", "output", "parameters", "assignedVariables")
"""The details of an event that are the execution's data (``includeExecutionData: false``
leaves them out, here and in GetExecutionHistory)."""
_DATA = frozenset((*EXECUTION_DATA, *(f"{field}Details" for field in EXECUTION_DATA)))


@dataclass(frozen=True, slots=True)
class LoggingConfiguration:
    """A state machine revision's ``loggingConfiguration``; ``destinations`` are kept as
    given (AWS's CloudWatch Logs log groups: accepted and returned, nothing is sent there)."""

    level: LogLevel = LogLevel.OFF
    include_execution_data: bool = False
    destinations: tuple[Any, ...] = ()

    @classmethod
    def stored(cls, config: Mapping[str, Any] | None) -> LoggingConfiguration:
        """The configuration a revision was stored with (checked when it was written;
        absent: ``OFF``)."""
        if not config:
            return OFF
        return cls(LogLevel(config.get("level", LogLevel.OFF)),
                   bool(config.get("includeExecutionData")),
                   tuple(config.get("destinations") or ()))

    def shape(self) -> dict[str, Any]:
        """As DescribeStateMachine returns it."""
        shaped: dict[str, Any] = {"level": self.level.value,
                                  "includeExecutionData": self.include_execution_data}
        if self.destinations:
            shaped["destinations"] = list(self.destinations)
        return shaped

    def includes(self, event_type: str) -> bool:
        """Whether an event of ``event_type`` is logged at this level."""
        match self.level:
            case LogLevel.ALL:
                return True
            case LogLevel.ERROR:
                return event_type in ERROR_TYPES
            case LogLevel.FATAL:
                return event_type in FATAL_TYPES
            case LogLevel.OFF:
                return False


OFF = LoggingConfiguration()
"""Nothing logged: a machine's configuration until one is set."""


def details_of(event: HistoryEvent) -> dict[str, Any] | None:
    """The details member of a history event (``<type>EventDetails``), if it has one."""
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return None


def without_data(details: Mapping[str, Any]) -> dict[str, Any]:
    """``details`` without the execution's data (:data:`EXECUTION_DATA` and their
    ``*Details``)."""
    return {key: value for key, value in details.items() if key not in _DATA}


def log_event(event: HistoryEvent, execution_arn: str, *, include_data: bool) -> dict[str, Any]:
    """A history event as Step Functions logs it (the member order of its log lines)."""
    logged: dict[str, Any] = {"id": str(event["id"]), "type": event["type"]}
    details = details_of(event)
    if details is not None:
        logged["details"] = details if include_data else without_data(details)
    logged["previous_event_id"] = str(event.get("previousEventId", int(event["id"]) - 1))
    logged["event_timestamp"] = str(event["timestamp"])
    logged["execution_arn"] = execution_arn
    return logged
