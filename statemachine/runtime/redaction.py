"""Sensitive headers of a task kept out of history: masked in the ``TaskScheduled`` event.

An HTTP task may carry credentials written inline in its definition
(``Parameters.Headers.Authorization``).  The task itself needs the real value — the
``InvokeTask`` command keeps it — but the ``TaskScheduled`` event, which the history API
and the dashboard serve and Redis persists, gets ``"***"`` instead.  The headers masked
are ``Authorization``, ``Proxy-Authorization``, ``Cookie`` and ``X-Api-Key``, plus any
named in ``STATEMACHINE_REDACT_HEADERS`` (comma-separated), all case-insensitive.

The interpreter stays pure (it reads no environment): both runtimes apply
:meth:`Redactor.history` to a decision's events where they write them — the worker's
planner (Redis) and :class:`~statemachine.runtime.local.LocalRunner` (``cli.py run``) — so
their histories agree.  Only the event changes: the definition itself (``GET
/v1/state-machines/{name}``) still holds what was written there; connections keep
secrets out of definitions altogether.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from statemachine.interpreter.formats import dumps
from statemachine.interpreter.records import HistoryEvent

__all__ = ["ENV", "MASK", "SENSITIVE_HEADERS", "Redactor"]

SENSITIVE_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key")
ENV = "STATEMACHINE_REDACT_HEADERS"
MASK = "***"


def names_from_env(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """The extra header names of ``STATEMACHINE_REDACT_HEADERS``."""
    raw = (os.environ if environ is None else environ).get(ENV, "")
    return tuple(name.strip() for name in raw.split(",") if name.strip())


class Redactor:
    """Masks the sensitive ``Headers`` of task parameters in history events."""

    __slots__ = ("names",)

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.names = frozenset(name.lower() for name in (*SENSITIVE_HEADERS, *extra))

    @classmethod
    def from_env(cls) -> Redactor:
        return cls(names_from_env())

    def history(self, events: Sequence[HistoryEvent]) -> Sequence[HistoryEvent]:
        """``events`` with the sensitive headers masked (the same list when none is)."""
        if not any(event["type"] == "TaskScheduled" for event in events):
            return events
        return [self.event(event) for event in events]

    def event(self, event: HistoryEvent) -> HistoryEvent:
        details: Any = event.get("taskScheduledEventDetails")
        if not isinstance(details, dict):
            return event
        text = details.get("parameters")
        if not isinstance(text, str) or '"Headers"' not in text:
            return event  # the common case, decided without parsing
        params = orjson.loads(text)
        headers = params.get("Headers") if isinstance(params, dict) else None
        if not isinstance(headers, dict):
            return event
        masked = {name: MASK if name.lower() in self.names else value
                  for name, value in headers.items()}
        if masked == headers:
            return event
        hidden = dumps({**params, "Headers": masked})
        return {**event, "taskScheduledEventDetails": {**details, "parameters": hidden}}
