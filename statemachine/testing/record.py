"""A recorded execution's task calls, read from its history, and the mock config they make.

Pure: a list of history events (the REST API's Step Functions-shaped events) in, typed
values out.  :func:`recorded_calls` finds every task call (state, effective input, attempt,
answer); :func:`mock_config` writes them as a test case in Step Functions Local's format
(:mod:`statemachine.language.mocks` reads it back).

Map iterations and Parallel branches write into their root's history as they run, so their
events interleave, and a task's result (``TaskSucceeded``, ``TaskFailed``, ...) does not
say whose it is.  A result goes to the task waiting for one of its resource; when several
wait, the events written with the result decide (one step of one record writes a run of
consecutive events): the state it exits, then the Map iteration the run ends
(``MapIteration*`` name their index; an iteration's first state follows its
``MapIterationStarted``, its later states follow their predecessor's exit), then the entry
whose input the exit's output kept most of, then the oldest.  A retry (a ``*Scheduled``
that follows no state entry) goes to a failed task with the same parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, assert_never

from statemachine.language.mocks import MockOutcome, MockReturn, MockThrow

_FAMILIES = ("Task", "LambdaFunction", "Activity")
_RESULTS = ("Succeeded", "Failed", "TimedOut", "StartFailed", "SubmitFailed")
_RUN_LIMIT = 64
"""How far a result's run is read ahead (one step writes far fewer events)."""


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One attempt of one task: ``entry`` numbers the state entries (0, 1, ... in the
    order they scheduled their first attempt); ``event_id``: the answer's event."""

    state: str
    parameters: Any
    entry: int
    attempt: int
    outcome: MockOutcome
    event_id: int


@dataclass
class _Entry:
    """A state entry seen in the history; ``thread``: its Map iteration (group, index) when
    known; ``task``: its task's parameters and resource once scheduled."""

    number: int
    state: str
    input: Any
    thread: tuple[str, int] | None
    task: tuple[Any, str | None] | None = None
    attempts: int = 0
    pending: bool = False  # scheduled, waiting for its answer
    retrying: bool = False  # failed, may be scheduled again


def details(event: dict[str, Any]) -> dict[str, Any]:
    """An event's ``...EventDetails`` member (empty when it has none)."""
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def parse_payload(text: Any) -> Any:
    """A history payload (JSON text) as a value; text that is no JSON stays text."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _family_event(kind: str, suffixes: Sequence[str]) -> bool:
    return any(kind == family + suffix for family in _FAMILIES for suffix in suffixes)


def is_result(kind: str) -> bool:
    """Whether ``kind`` is a task's answer (success, failure or timeout)."""
    return _family_event(kind, _RESULTS)


def is_scheduled(kind: str) -> bool:
    return _family_event(kind, ("Scheduled",))


def outcome_of(event: dict[str, Any]) -> MockOutcome:
    """A task result event as the mocked outcome that reproduces it."""
    d = details(event)
    if str(event.get("type", "")).endswith("Succeeded"):
        return MockReturn(parse_payload(d.get("output")))
    return MockThrow(str(d.get("error") or "States.TaskFailed"), str(d.get("cause") or ""))


def recorded_calls(events: Sequence[dict[str, Any]]) -> list[RecordedCall]:
    """Every task attempt in ``events`` with its answer, in history order."""
    live: list[_Entry] = []  # entries not exited yet (a long history holds few at a time)
    count = 0
    calls: list[RecordedCall] = []
    current: _Entry | None = None  # the entry the events just read belong to
    previous = ""
    for k, event in enumerate(events):
        kind = str(event.get("type", ""))
        d = details(event)
        if kind.endswith("StateEntered"):
            thread = current.thread if current is not None and previous.endswith("StateExited") else None
            if previous == "MapIterationStarted":
                before = details(events[k - 1])
                thread = (str(before.get("name")), int(before.get("index", 0)))
            current = _Entry(count, str(d.get("name", "")), parse_payload(d.get("input")), thread)
            count += 1
            live.append(current)
        elif is_scheduled(kind):
            parameters = parse_payload(d.get("parameters", d.get("input")))
            resource = d.get("resource")
            if previous.endswith("StateEntered") and current is not None:
                current.task = (parameters, resource)
            else:
                current = _retried(live, parameters, resource)
            if current is not None:
                current.pending, current.retrying = True, False
        elif is_result(kind):
            entry = _answered(live, events, k)
            if entry is None or entry.task is None:
                continue
            calls.append(RecordedCall(entry.state, entry.task[0], entry.number, entry.attempts,
                                      outcome_of(event), int(event.get("id", k + 1))))
            entry.attempts += 1
            entry.pending = False
            entry.retrying = not kind.endswith("Succeeded")
            current = entry
        elif kind.endswith("StateExited"):
            current = _exited(live, current, str(d.get("name", "")))
            if current is not None:
                live.remove(current)
        previous = kind
    return calls


def _retried(live: list[_Entry], parameters: Any, resource: Any) -> _Entry | None:
    """The failed task a ``*Scheduled`` that follows no state entry retries."""
    failed = [e for e in live if e.retrying and e.task is not None]
    same = [e for e in failed if e.task is not None and e.task == (parameters, resource)]
    candidates = same or failed
    return candidates[0] if candidates else None


def _exited(live: list[_Entry], current: _Entry | None, name: str) -> _Entry | None:
    """The entry a ``*StateExited`` of state ``name`` ends: the one just read, else the
    oldest entry of that name that waits for nothing (a Wait's timer fired, say)."""
    if current is not None and current.state == name and current in live:
        return current
    waiting = [e for e in live if e.state == name and not e.pending]
    return waiting[0] if waiting else None


def _answered(live: list[_Entry], events: Sequence[dict[str, Any]], k: int) -> _Entry | None:
    """The pending task entry the result ``events[k]`` answers."""
    resource = details(events[k]).get("resource")
    found = [e for e in live if e.pending and e.task is not None]
    if resource is not None:
        found = _narrow(found, lambda e: e.task is not None and e.task[1] in (resource, None))
    if len(found) <= 1:
        return found[0] if found else None
    exited, output, iteration = _run_after(events, k)
    if exited is not None:
        found = _narrow(found, lambda e: e.state == exited)
    if iteration is not None:
        found = _narrow(found, lambda e: e.thread == iteration)
    if isinstance(output, dict) and len(found) > 1:
        best = max(_kept(e, output) for e in found)
        if best > 0:
            found = [e for e in found if _kept(e, output) == best]
    return found[0]


def _narrow(found: list[_Entry], test: Any) -> list[_Entry]:
    kept = [e for e in found if test(e)]
    return kept or found


def _kept(entry: _Entry, output: dict[str, Any]) -> int:
    """How many of the entry's input fields ``output`` holds unchanged (a ResultPath such
    as ``$.result`` keeps the input beside the result)."""
    if not isinstance(entry.input, dict):
        return 0
    return sum(1 for key, value in entry.input.items() if key in output and output[key] == value)


def _run_after(events: Sequence[dict[str, Any]],
               k: int) -> tuple[str | None, Any, tuple[str, int] | None]:
    """What the run of events a result starts says: the state it exits (and its output)
    and the Map iteration it ends."""
    exited: str | None = None
    output: Any = None
    for j in range(k + 1, min(len(events), k + 1 + _RUN_LIMIT)):
        kind = str(events[j].get("type", ""))
        d = details(events[j])
        if kind in ("MapIterationSucceeded", "MapIterationFailed"):
            return exited, output, (str(d.get("name")), int(d.get("index", 0)))
        if kind.endswith("StateExited"):
            if exited is None:
                exited, output = str(d.get("name", "")), parse_payload(d.get("output"))
        elif not (kind.endswith("StateEntered") and exited is not None):
            break  # the run's step waits here (a task, a timer, children) or it is over
    return exited, output, None


def mock_config(calls: Sequence[RecordedCall], machine: str,
                case: str) -> tuple[dict[str, Any], list[str]]:
    """The mock config (Step Functions Local's format) whose test case ``case`` of
    ``machine`` answers each state as recorded, and warnings: Step Functions Local counts
    attempts per state, not per Map iteration, so a state whose entries were answered
    differently keeps its first entry's answers."""
    by_state: dict[str, dict[int, list[MockOutcome]]] = {}
    for call in calls:
        by_state.setdefault(call.state, {}).setdefault(call.entry, []).append(call.outcome)
    states: dict[str, str] = {}
    responses: dict[str, Any] = {}
    warnings: list[str] = []
    for state, entries in by_state.items():
        answers = list(entries.values())
        if any(other != answers[0] for other in answers[1:]):
            warnings.append(f"state '{state}' was answered differently in its {len(answers)} "
                            "entries (Map iterations, Parallel branches or loops); the mock "
                            "config's format counts attempts per state, so it keeps the first")
        name = f"{state}.{case}"
        states[state] = name
        responses[name] = attempt_ranges(answers[0])
    config = {"StateMachines": {machine: {"TestCases": {case: states}}},
              "MockedResponses": responses}
    return config, warnings


def attempt_ranges(outcomes: Sequence[MockOutcome]) -> dict[str, Any]:
    """``{"0": ..., "1-2": ...}``: consecutive equal answers share a range."""
    ranges: dict[str, Any] = {}
    first = 0
    for i, outcome in enumerate(outcomes):
        if i + 1 < len(outcomes) and outcomes[i + 1] == outcome:
            continue
        key = str(first) if first == i else f"{first}-{i}"
        ranges[key] = _written(outcome)
        first = i + 1
    return ranges


def _written(outcome: MockOutcome) -> dict[str, Any]:
    match outcome:
        case MockReturn(value=value):
            return {"Return": value}
        case MockThrow(error=error, cause=cause):
            return {"Throw": {"Error": error, "Cause": cause}}
        case _:
            assert_never(outcome)
