"""Replay a recorded execution against a definition: does the new version still agree?

The recorded execution's input goes into the (new) definition on the in-memory runner,
on a virtual clock that starts at the recorded start: Wait states and retry intervals take
no time.  Each task is answered from the recording (:func:`~.record.recorded_calls`): a
call matches a recorded one by state name and effective input (task tokens aside), then by
attempt within its state entry; entries with the same state and input take the recorded
entries in order.  A call the recording has no answer for fails with
``Replay.NoRecordedAnswer`` (and so diverges).  The two histories are then compared
(:func:`~.compare.first_divergence`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from statemachine.interpreter.commands import InvokeTask
from statemachine.language.mocks import MockOutcome
from statemachine.language.model import Machine
from statemachine.runtime.invokers.base import failed
from statemachine.runtime.local import LocalRunner
from statemachine.runtime.mocking import outcome_event
from statemachine.testing.compare import Divergence, canonical, first_divergence
from statemachine.testing.record import RecordedCall, details, parse_payload, recorded_calls

NO_ANSWER = "Replay.NoRecordedAnswer"


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """One execution replayed: None as ``divergence`` means compatible."""

    execution_id: str
    status: str
    divergence: Divergence | None
    history: list[dict[str, Any]] = field(repr=False)


class RecordedAnswers:
    """The recorded answers, looked up by a new run's task calls."""

    def __init__(self, calls: Sequence[RecordedCall]) -> None:
        self._entries: dict[tuple[str, str], list[list[MockOutcome]]] = {}
        numbered: dict[int, list[MockOutcome]] = {}
        for call in calls:
            if call.entry not in numbered:
                numbered[call.entry] = []
                self._entries.setdefault((call.state, canonical(call.parameters)), []).append(
                    numbered[call.entry])
            numbered[call.entry].append(call.outcome)
        self._taken: dict[str, list[MockOutcome] | None] = {}
        self.missed: list[InvokeTask] = []

    def answer(self, command: InvokeTask) -> MockOutcome | None:
        """The recorded answer to ``command``'s attempt, or None."""
        entry_key = command.idempotency_key  # one per state entry, the same for its retries
        if entry_key not in self._taken:
            queue = self._entries.get((command.state, canonical(command.input)), [])
            self._taken[entry_key] = queue.pop(0) if queue else None
        outcomes = self._taken[entry_key]
        if outcomes is None or command.attempt >= len(outcomes):
            self.missed.append(command)
            return None
        return outcomes[command.attempt]

    async def invoke(self, command: InvokeTask) -> dict[str, Any] | None:
        outcome = self.answer(command)
        if outcome is None:
            return failed(command, NO_ANSWER, f"the recording has no answer for attempt "
                          f"{command.attempt} of state '{command.state}' with this input")
        return outcome_event(command, outcome)


def started(events: Sequence[dict[str, Any]]) -> tuple[Any, int]:
    """The recorded execution's input and start time (ms) from its first event."""
    first = events[0] if events else {}
    stamp = first.get("timestamp")
    return parse_payload(details(first).get("input")), stamp if isinstance(stamp, int) else 0


async def replay(machine: Machine, events: Sequence[dict[str, Any]], *, execution_id: str,
                 name: str, machine_name: str) -> ReplayResult:
    """Run ``machine`` on the recorded execution's input and answers; compare histories."""
    answers = RecordedAnswers(recorded_calls(events))
    input_value, start = started(events)
    runner = LocalRunner(machine, answers.invoke, name=machine_name, clock=lambda: start,
                         virtual_time=True)
    result = await runner.run(input_value, execution_name=name)
    return ReplayResult(execution_id, str(result.execution["status"]),
                        first_divergence(events, result.history), result.history)
