"""Mock configs in Step Functions Local's format (its ``MockConfigFile.json``), parsed and checked.

The file::

    {"StateMachines": {"<machine>": {"TestCases": {"<case>": {"<state>": "<response>"}}}},
     "MockedResponses": {"<response>": {"0": {"Return": ...},
                                        "1-2": {"Throw": {"Error": "...", "Cause": "..."}}}}}

A test case maps Task states (at any depth: inside Map and Parallel too) to a mocked response;
the states it does not name run for real.  A mocked response's keys are attempt numbers or
inclusive ranges of them, counted per state entry: "0" is the first attempt, "1-2" the two
retries after it.  Each Map iteration and Parallel branch enters the state afresh, so each
counts from 0.  An attempt past the last key gets the last key's response (a retry loop that
outlives the file keeps its last answer rather than dying of the test's own shape).

Pure: the caller reads the file; every error names the file and the JSON path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from statemachine.language.model import Machine

MAX_MOCK_CONFIG_BYTES = 10 * 1024 * 1024
MAX_ATTEMPT = 1_000_000
_ATTEMPTS = re.compile(r"(\d{1,7})(?:-(\d{1,7}))?")


class MockConfigError(ValueError):
    """A mock config that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True, slots=True)
class MockReturn:
    """The task succeeds with ``value`` as its result (before ResultSelector/ResultPath)."""

    value: Any


@dataclass(frozen=True, slots=True)
class MockThrow:
    """The task fails with ``error``/``cause``: Retry and Catch see them as a real failure."""

    error: str
    cause: str


MockOutcome = MockReturn | MockThrow


@dataclass(frozen=True, slots=True)
class MockedResponse:
    name: str
    ranges: tuple[tuple[int, int, MockOutcome], ...]  # (first, last, outcome), contiguous from 0

    def at(self, attempt: int) -> MockOutcome:
        for first, last, outcome in self.ranges:
            if first <= attempt <= last:
                return outcome
        return self.ranges[-1][2]


@dataclass(frozen=True, slots=True)
class MockCase:
    """One test case of one machine: its mocked states."""

    machine: str
    name: str
    states: dict[str, MockedResponse]

    def outcome(self, state: str, attempt: int) -> MockOutcome | None:
        """The mocked outcome of ``state``'s ``attempt`` (0 = first), None if not mocked."""
        response = self.states.get(state)
        return None if response is None else response.at(attempt)


@dataclass(frozen=True, slots=True)
class MockConfig:
    file: str
    cases: dict[str, dict[str, MockCase]]  # machine -> case name -> case

    def case(self, machine: str, name: str) -> MockCase:
        cases = self.cases.get(machine)
        if cases is None:
            known = ", ".join(sorted(self.cases)) or "none"
            raise MockConfigError(f"{self.file}: no state machine '{machine}' under StateMachines "
                                  f"(it has: {known}); name one with --machine")
        case = cases.get(name)
        if case is None:
            known = ", ".join(sorted(cases)) or "none"
            raise MockConfigError(f"{self.file}: state machine '{machine}' has no test case "
                                  f"'{name}' (it has: {known})")
        return case


def parse_mock_config(text: bytes, file: str) -> MockConfig:
    """Parse and check a whole mock config; raises MockConfigError."""
    if len(text) > MAX_MOCK_CONFIG_BYTES:
        raise MockConfigError(f"{file}: larger than {MAX_MOCK_CONFIG_BYTES} bytes")
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise MockConfigError(f"{file}: not valid JSON: {exc}") from None
    top = _object(raw, file, "$")
    responses = {name: _response(name, value, file)
                 for name, value in _object(top.get("MockedResponses", {}), file,
                                            "$.MockedResponses").items()}
    machines = _object(top.get("StateMachines", {}), file, "$.StateMachines")
    cases: dict[str, dict[str, MockCase]] = {}
    for machine, entry in machines.items():
        where = f"$.StateMachines.{machine}"
        test_cases = _object(_object(entry, file, where).get("TestCases", {}), file,
                             f"{where}.TestCases")
        cases[machine] = {}
        for case_name, states in test_cases.items():
            case_where = f"{where}.TestCases.{case_name}"
            mocked: dict[str, MockedResponse] = {}
            for state, response_name in _object(states, file, case_where).items():
                if not isinstance(response_name, str):
                    raise MockConfigError(f"{file}: {case_where}.{state}: must be the name of a "
                                          "mocked response (a string)")
                if response_name not in responses:
                    raise MockConfigError(f"{file}: {case_where}.{state}: no mocked response "
                                          f"'{response_name}' under MockedResponses")
                mocked[state] = responses[response_name]
            cases[machine][case_name] = MockCase(machine, case_name, mocked)
    return MockConfig(file, cases)


def unknown_states(case: MockCase, machine: Machine) -> list[str]:
    """The states ``case`` mocks that ``machine`` has no Task state of that name for."""
    tasks = {s.name for m in _machines(machine) for s in m.states.values() if s.type == "Task"}
    return sorted(set(case.states) - tasks)


def _machines(machine: Machine) -> Iterator[Machine]:
    yield machine
    for state in machine.states.values():
        if state.processor is not None:
            yield from _machines(state.processor)
        for branch in state.branches:
            yield from _machines(branch)


def _object(value: Any, file: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MockConfigError(f"{file}: {where}: must be a JSON object")
    return value


def _response(name: str, value: Any, file: str) -> MockedResponse:
    where = f"$.MockedResponses.{name}"
    ranges: list[tuple[int, int, MockOutcome]] = []
    for key, entry in _object(value, file, where).items():
        match = _ATTEMPTS.fullmatch(key)
        if match is None:
            raise MockConfigError(f"{file}: {where}: key '{key}' is not an attempt number "
                                  "(\"0\") or range (\"1-2\")")
        first = int(match[1])
        last = int(match[2]) if match[2] is not None else first
        if last < first or last > MAX_ATTEMPT:
            raise MockConfigError(f"{file}: {where}: key '{key}' is not a range from low to "
                                  f"high within 0-{MAX_ATTEMPT}")
        ranges.append((first, last, _outcome(entry, file, f"{where}.{key}")))
    if not ranges:
        raise MockConfigError(f"{file}: {where}: has no attempts (\"0\": {{\"Return\": ...}})")
    ranges.sort(key=lambda r: r[0])
    expected = 0
    for first, last, _ in ranges:
        if first != expected:
            raise MockConfigError(f"{file}: {where}: attempts must follow on from 0 without "
                                  f"gaps or overlaps; attempt {expected} is "
                                  f"{'missing' if first > expected else 'given twice'}")
        expected = last + 1
    return MockedResponse(name, tuple(ranges))


def _outcome(value: Any, file: str, where: str) -> MockOutcome:
    entry = _object(value, file, where)
    if ("Return" in entry) == ("Throw" in entry) or set(entry) - {"Return", "Throw"}:
        raise MockConfigError(f"{file}: {where}: must hold exactly one of Return and Throw")
    if "Return" in entry:
        return MockReturn(entry["Return"])
    throw = _object(entry["Throw"], file, f"{where}.Throw")
    error, cause = throw.get("Error"), throw.get("Cause", "")
    if not isinstance(error, str) or not error or not isinstance(cause, str):
        raise MockConfigError(f"{file}: {where}.Throw: needs Error (a non-empty string) and "
                              "may have Cause (a string)")
    return MockThrow(error, cause)
