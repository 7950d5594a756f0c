"""Where two histories of one execution part: the recorded one and a replay's.

Pure.  What is compared is what a definition decides: event types, state names, state
inputs and outputs, task parameters and results, errors and causes, the execution's end.
Not ids, timestamps, Map group names or task tokens (a replay makes new ones), nor the
``*Started``/``TaskSubmitted`` events of a task's transport.  ``TaskTimedOut`` reads as a
``TaskFailed`` with ``States.Timeout`` (which a replayed answer makes it).

The top of an execution writes its events in order, and they are compared in order.
While a Map or Parallel state runs, its iterations and branches write theirs interleaved,
in whichever order the workers took them, which a durable run and an in-memory one need not
share: the events between ``*StateStarted`` and the state's result are compared as a
multiset, so a different interleaving is no divergence, and a state renamed or a path changed
inside an iteration still is.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from statemachine.interpreter.tokens import token_execution
from statemachine.testing.record import details, is_result, is_scheduled, parse_payload

_TRANSPORT = frozenset({"TaskStarted", "TaskSubmitted", "LambdaFunctionStarted", "ActivityStarted"})
_CONTAINER_STARTS = frozenset({"MapStateStarted", "ParallelStateStarted"})
_CONTAINER_ENDS = frozenset({"MapStateSucceeded", "MapStateFailed", "MapStateAborted",
                             "ParallelStateSucceeded", "ParallelStateFailed", "ParallelStateAborted"})
_TOKEN = re.compile(r"[A-Za-z0-9_-]{4,}\.[0-9a-f]{16,64}")
TOKEN_STANDIN = "<task token>"
_SHOWN = 160
"""How much of a payload a report shows."""

Essence = tuple[str, str, str]
"""(event type, state name or "", what matters of its details as canonical JSON)."""


@dataclass(frozen=True, slots=True)
class Divergence:
    """Where the replay parts from the recording: ``event_id`` and ``state`` in the
    recorded history, what was recorded there and what the new definition does now."""

    event_id: int
    state: str
    recorded: str
    now: str


def normalized(value: Any) -> Any:
    """``value`` with task tokens replaced by a stand-in (a replay's tokens differ)."""
    if isinstance(value, str):
        if _TOKEN.fullmatch(value) and token_execution(value) is not None:
            return TOKEN_STANDIN
        return value
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    return value


def canonical(value: Any) -> str:
    """``value`` normalized, as JSON with sorted keys: equal values, equal text."""
    return json.dumps(normalized(value), sort_keys=True, separators=(",", ":"))


def essence(event: dict[str, Any]) -> Essence:
    """What of ``event`` a definition decides."""
    kind = str(event.get("type", ""))
    d = details(event)
    name = ""
    if kind.endswith("StateEntered"):
        name, payload = str(d.get("name", "")), canonical(parse_payload(d.get("input")))
    elif kind.endswith("StateExited"):
        name, payload = str(d.get("name", "")), canonical(parse_payload(d.get("output")))
    elif is_scheduled(kind):
        payload = canonical([d.get("resource"), parse_payload(d.get("parameters", d.get("input")))])
    elif is_result(kind) or kind.startswith("Execution") or kind.endswith("StateFailed"):
        if kind.endswith("TimedOut") and is_result(kind):
            kind = kind[: -len("TimedOut")] + "Failed"
        if "output" in d:
            payload = canonical(parse_payload(d.get("output")))
        else:
            payload = canonical([d.get("error"), d.get("cause")])
        if kind == "ExecutionStarted":
            payload = canonical(parse_payload(d.get("input")))
    elif kind.startswith("MapIteration") or kind == "MapStateStarted":
        payload = canonical([d.get("index"), d.get("length")])
    else:
        payload = ""
    return kind, name, payload


def describe(event: dict[str, Any] | None) -> str:
    """One line saying what ``event`` is, for a report."""
    if event is None:
        return "nothing: the history ends here"
    kind, name, payload = essence(event)
    text = kind + (f" {name}" if name else "")
    if payload and payload != "null":
        shown = payload if len(payload) <= _SHOWN else payload[: _SHOWN - 1] + "…"
        text += f" {shown}"
    return text


@dataclass(frozen=True, slots=True)
class _Item:
    """An event of the top of the execution, or (``span``) the events of a running Map's or
    Parallel's iterations and branches."""

    events: tuple[dict[str, Any], ...]
    state: str
    span: bool


def _items(events: Sequence[dict[str, Any]]) -> Iterator[_Item]:
    kept = [e for e in events if str(e.get("type", "")) not in _TRANSPORT]
    state = ""
    i = 0
    while i < len(kept):
        event = kept[i]
        kind = str(event.get("type", ""))
        if kind.endswith("StateEntered"):
            state = str(details(event).get("name", ""))
        yield _Item((event,), state, False)
        i += 1
        if kind in _CONTAINER_STARTS:
            end = _span_end(kept, i, state)
            yield _Item(tuple(kept[i:end]), state, True)
            i = end


def _span_end(events: Sequence[dict[str, Any]], start: int, container: str) -> int:
    """Where the children of the container state ``container`` (started just before
    ``start``) stop writing: its own result, or the execution's end."""
    for j in range(start, len(events)):
        kind = str(events[j].get("type", ""))
        if kind.startswith("Execution"):
            return j
        if kind in _CONTAINER_ENDS:
            after = events[j + 1] if j + 1 < len(events) else None
            after_kind = str(after.get("type", "")) if after is not None else ""
            if (after is None or after_kind.startswith("Execution")
                    or (after_kind.endswith("StateExited")
                        and details(after).get("name") == container)):
                return j
    return len(events)


def first_divergence(recorded: Sequence[dict[str, Any]],
                     now: Sequence[dict[str, Any]]) -> Divergence | None:
    """The first place where ``now`` (a replay's history) parts from ``recorded``, or None
    when they agree."""
    old, new = list(_items(recorded)), list(_items(now))
    for k, item in enumerate(old):
        other = new[k] if k < len(new) else None
        if other is None or other.span != item.span:
            first = item.events[0] if item.events else None
            return _at(first, _after(old, k), item.state,
                       describe(first) if first is not None else "no events",
                       describe(other.events[0] if other and other.events else None))
        if item.span:
            found = _span_divergence(item, other, _after(old, k))
            if found is not None:
                return found
        elif essence(item.events[0]) != essence(other.events[0]):
            event = item.events[0]
            return _at(event, event, item.state, describe(event), describe(other.events[0]))
    if len(new) > len(old):
        extra = new[len(old)].events
        return Divergence(_last_id(recorded) + 1, new[len(old)].state,
                          "nothing: the history ends here", describe(extra[0] if extra else None))
    return None


def _span_divergence(item: _Item, other: _Item, end: dict[str, Any] | None) -> Divergence | None:
    """The first recorded event of a span the replay's span lacks (or, when it lacks none,
    the first it adds), comparing the two as multisets."""
    missing = _first_unmatched(item.events, other.events)
    added = _first_unmatched(other.events, item.events)
    if missing is None and added is None:
        return None
    where = missing if missing is not None else end
    recorded = (describe(missing) if missing is not None
                else f"nothing more in {item.state}'s iterations and branches")
    now = (describe(added) if added is not None
           else f"nothing like it in {item.state}'s iterations and branches")
    return _at(where, where, _state_in(item, where) or item.state, recorded, now)


def _first_unmatched(events: Sequence[dict[str, Any]],
                     against: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The first of ``events`` that ``against``, taken as a multiset, has no match left for."""
    left = Counter(essence(e) for e in against)
    for event in events:
        key = essence(event)
        if left[key] <= 0:
            return event
        left[key] -= 1
    return None


def _state_in(item: _Item, event: dict[str, Any] | None) -> str:
    """The state ``event`` of a span belongs to: its own name, else the state last entered
    before it in the span."""
    if event is None:
        return ""
    name = ""
    for e in item.events:
        if str(e.get("type", "")).endswith("StateEntered"):
            name = str(details(e).get("name", ""))
        if e is event:
            own = details(e).get("name")
            return str(own) if isinstance(own, str) and own else name
    return name


def _after(items: list[_Item], k: int) -> dict[str, Any] | None:
    """The first event after item ``k`` (where a span ends)."""
    for item in items[k + 1:]:
        if item.events:
            return item.events[0]
    return None


def _at(event: dict[str, Any] | None, fallback: dict[str, Any] | None, state: str,
        recorded: str, now: str) -> Divergence:
    chosen = event if event is not None else fallback
    event_id = int(chosen.get("id", 0)) if chosen is not None else 0
    return Divergence(event_id, state, recorded, now)


def _last_id(events: Sequence[dict[str, Any]]) -> int:
    return int(events[-1].get("id", len(events))) if events else 0
