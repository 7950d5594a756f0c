"""How Step Functions writes things down: timestamps, ARNs, compact JSON, history event
names and details, and the limits a payload must keep (:func:`payload`)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from statemachine.interpreter import failures as F
from statemachine.language.arns import DEFAULT_PLACE, Place
from statemachine.language.scope import StatesError
from statemachine.language.values import MAX_NESTING, may_nest_deeper_than, nested_deeper_than

ENTERED = {
    "Task": "TaskStateEntered",
    "Pass": "PassStateEntered",
    "Choice": "ChoiceStateEntered",
    "Wait": "WaitStateEntered",
    "Succeed": "SucceedStateEntered",
    "Fail": "FailStateEntered",
    "Parallel": "ParallelStateEntered",
    "Map": "MapStateEntered",
}
"""The history event of entering a state, by state type."""
EXITED = {k: v.replace("Entered", "Exited") for k, v in ENTERED.items()}
"""The history event of leaving a state, by state type."""


@lru_cache(maxsize=256)
def iso(ms: int) -> str:
    """Milliseconds since the epoch as AWS prints a timestamp: ``2024-03-06T10:29:50.123Z``."""
    dt = datetime.fromtimestamp(ms // 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def dumps(value: Any) -> str:
    """Compact JSON as AWS writes it into history and causes."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # str subclasses as keys (e.g. HTTP header names)
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


@lru_cache(maxsize=64)
def place_of(place: str | None) -> Place:
    """The :class:`Place` a record names (``"<region>:<account>"``; absent: the default)."""
    if not place:
        return DEFAULT_PLACE
    region, _, account = place.partition(":")
    return Place(region, account)


def error_details(error: str | None, cause: str | None) -> dict[str, Any]:
    """``error``/``cause`` of a failure's history event details, each only when set."""
    details: dict[str, Any] = {}
    if error is not None:
        details["error"] = error
    if cause is not None:
        details["cause"] = cause
    return details


def oversized(text: str) -> bool:
    """Is this JSON over Step Functions' 256 KiB payload limit?  (UTF-8 is at most 4 bytes a
    character, so short texts skip the encoding.)"""
    return len(text) * 4 > F.DATA_LIMIT_BYTES and len(text.encode()) > F.DATA_LIMIT_BYTES


def data_limit_cause(name: str) -> str:
    return (
        f"The state/task '{name}' returned a result with a size exceeding the "
        "maximum number of bytes service limit."
    )


def nesting_limit_cause(name: str) -> str:
    return (
        f"The state/task '{name}' returned a result nested deeper than {MAX_NESTING} "
        "levels, the maximum nesting depth service limit."
    )


def payload(value: Any, name: str) -> str:
    """``value``'s JSON, once it is known to keep the limits of a payload entering or leaving
    a state (a task's result, a state's output, a Task's parameters, a child's input):

    * at most 256 KiB (:data:`~statemachine.interpreter.failures.DATA_LIMIT_BYTES`), and at
      most :data:`~statemachine.language.values.MAX_NESTING` levels of arrays and objects,
      else ``States.DataLimitExceeded`` (the size cause is AWS's);
    * writable as JSON (not an integer past 64 bits), else ``States.Runtime``.

    Raises :class:`StatesError` (not prefixed: the cause names the state or task ``name``).
    Every value the engine stores or writes into history passes here first, so none can
    make a worker raise later (orjson stops at 255 levels)."""
    try:
        text = dumps(value)
    except TypeError as exc:  # orjson: nested past 255 levels, or an integer past 64 bits
        if nested_deeper_than(value):
            raise StatesError(F.DATA_LIMIT, nesting_limit_cause(name), prefixed=False) from None
        raise StatesError(F.RUNTIME, f"The state/task '{name}' returned a result that cannot "
                          f"be written as JSON: {exc}.", prefixed=False) from None
    if oversized(text):
        raise StatesError(F.DATA_LIMIT, data_limit_cause(name), prefixed=False)
    if may_nest_deeper_than(text) and nested_deeper_than(value):
        raise StatesError(F.DATA_LIMIT, nesting_limit_cause(name), prefixed=False)
    return text


def check_nesting(value: Any, name: str) -> None:
    """The nesting limit of :func:`payload` alone, for a value that is not written out here
    (a child's input, a variable): a walk that stops at the limit, no serialisation."""
    if isinstance(value, (dict, list)) and nested_deeper_than(value):
        raise StatesError(F.DATA_LIMIT, nesting_limit_cause(name), prefixed=False)
