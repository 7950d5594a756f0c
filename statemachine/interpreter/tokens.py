"""Ids derived from an execution's secret salt: deterministic on replay, yet unguessable."""

from __future__ import annotations

import base64
import hashlib
from typing import Any


def derive(salt: str, *parts: Any) -> str:
    """A deterministic, unguessable id from the execution's secret salt."""
    text = ":".join(str(p) for p in (salt, *parts))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def task_token(execution_id: str, secret: str) -> str:
    """``<base64url(execution id)>.<secret>``: routable to its execution, unguessable."""
    head = base64.urlsafe_b64encode(execution_id.encode()).decode().rstrip("=")
    return f"{head}.{secret}"


def token_execution(token: str) -> str | None:
    """The execution id a task token belongs to, or None if it is malformed."""
    head, sep, secret = token.partition(".")
    if not sep or not secret:
        return None
    try:
        return base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
