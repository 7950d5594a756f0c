"""How Step Functions writes things down: timestamps, ARNs, compact JSON, history event
names and details, the payload size limit."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from statemachine.interpreter import failures as F

REGION = "local"
ACCOUNT = "000000000000"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/statemachine"

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


def execution_arn(machine: str, name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}"


def machine_arn(machine: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}"


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
