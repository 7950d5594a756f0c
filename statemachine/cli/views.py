"""What ``list`` and ``history`` print by default: readable tables of the API's JSON (which
``--json`` prints as it is)."""

from __future__ import annotations

from typing import Any

from statemachine.cli.tables import table, when

__all__ = ["executions_table", "history_table"]

_DETAIL_FIELDS = ("output", "input", "resource")
"""The detail a history event shows when it has no error, first found first."""


def executions_table(executions: list[dict[str, Any]]) -> str:
    rows = [[e["executionId"], e.get("stateMachine", ""), e.get("status", ""),
             when(e.get("startDate")), when(e.get("stopDate"))] for e in executions]
    return table(["ID", "MACHINE", "STATUS", "STARTED", "STOPPED"], rows, empty="no executions")


def history_table(events: list[dict[str, Any]]) -> str:
    """One row per event: id, time and the time since the previous event, type, the state
    it happened in (the last state entered) and a short detail (error and cause first)."""
    rows: list[list[str]] = []
    state = ""
    previous: int | None = None
    for event in events:
        details = _details(event)
        if "stateEnteredEventDetails" in event or "stateExitedEventDetails" in event:
            state = str(details.get("name", state))
        stamp = event.get("timestamp")
        delta = _delta(stamp, previous)
        if isinstance(stamp, int):
            previous = stamp
        rows.append([str(event.get("id", "")), _clock(stamp), delta,
                     str(event.get("type", "")), state, _detail(details)])
    return table(["ID", "TIME", "DELTA", "TYPE", "STATE", "DETAIL"], rows, empty="no events")


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def _detail(details: dict[str, Any]) -> str:
    if "error" in details or "cause" in details:
        return ": ".join(str(details[k]) for k in ("error", "cause") if details.get(k))
    for field in _DETAIL_FIELDS:
        if field in details:
            return f"{field} {details[field]}"
    return ""


def _clock(stamp: Any) -> str:
    """An event's time of day (UTC), to the millisecond when the stamp has them."""
    if isinstance(stamp, int):
        return f"{when(stamp)[11:]}.{stamp % 1000:03d}"
    return when(stamp)[11:]


def _delta(stamp: Any, previous: int | None) -> str:
    if not isinstance(stamp, int) or previous is None:
        return ""
    ms = stamp - previous
    return f"+{ms}ms" if ms < 1000 else f"+{ms / 1000:.1f}s"
