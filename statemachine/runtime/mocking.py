"""Answering the mocked states of a test case, in memory and in the durable runtime.

A state the case mocks never reaches the invokers (no HTTP request, no SQS message, no
callback wait: a mocked ``.waitForTaskToken`` task is answered at once); any other state runs
for real (hybrid tests).  The mocked outcome of each attempt is applied as a real result is,
so Retry and Catch see it.

- :func:`mocked` wraps an in-memory :data:`~statemachine.runtime.local.Invoke` (``cli.py run
  --mock-config``, a synchronous EXPRESS run).
- :func:`answer` is what the worker's dispatcher asks of a dispatch whose execution runs a
  test case (the record's ``test_case``, carried in the dispatch as ``(machine, case)``):
  the mocked result, None to run the task for real, or — when the worker's mock config has no
  such case any more (a ``serve`` restarted with another file, or none) — a ``States.Runtime``
  failure: a test execution never calls the real service in a mock's place.
- :func:`load_mock_config` reads the file ``serve --mock-config`` (or
  ``STATEMACHINE_MOCK_CONFIG``) names; the parsing is :mod:`statemachine.language.mocks`'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, assert_never

from statemachine.interpreter.commands import InvokeTask
from statemachine.interpreter.records import Execution
from statemachine.language.mocks import (
    MAX_MOCK_CONFIG_BYTES,
    MockCase,
    MockConfig,
    MockConfigError,
    MockOutcome,
    MockReturn,
    MockThrow,
    parse_mock_config,
)
from statemachine.runtime.invokers.base import failed, succeeded
from statemachine.runtime.local import Invoke

__all__ = ["MockRef", "answer", "answered_here", "load_mock_config", "mock_of", "mocked"]

MockRef = tuple[str, str]
"""An execution's ``(machine, test case)``: what a dispatch carries to find its mocks."""


def load_mock_config(path: str) -> MockConfig:
    """Read and parse the mock config at ``path``; raises MockConfigError (one line naming
    the file) or OSError."""
    file = Path(path)
    if file.is_file() and file.stat().st_size > MAX_MOCK_CONFIG_BYTES:
        raise MockConfigError(f"{path}: larger than {MAX_MOCK_CONFIG_BYTES} bytes")
    return parse_mock_config(file.read_bytes(), path)


def mocked(invoke: Invoke, case: MockCase) -> Invoke:
    """``invoke`` with ``case``'s mocked states answered from the mock config."""

    async def perform(command: InvokeTask) -> dict[str, Any] | None:
        outcome = case.outcome(command.state, command.attempt)
        if outcome is None:
            return await invoke(command)
        return outcome_event(command, outcome)

    return perform


def mock_of(execution: Execution) -> MockRef | None:
    """The ``(machine, test case)`` of an execution that runs one, else None."""
    case = execution.get("test_case")
    return None if case is None else (execution["machine"], case)


def answer(config: MockConfig | None, mock: MockRef, command: InvokeTask) -> dict[str, Any] | None:
    """The result of ``command`` (its state and attempt) under test case ``mock`` of
    ``config``: a ``TaskSucceeded``/``TaskFailed`` event, or None when the case leaves the
    state to run for real."""
    case = _case(config, mock)
    if case is None:
        return failed(command, "States.Runtime", _missing(config, mock))
    outcome = case.outcome(command.state, command.attempt)
    return None if outcome is None else outcome_event(command, outcome)


def answered_here(config: MockConfig | None, mock: MockRef, state: str) -> bool:
    """Whether the dispatcher answers ``state`` itself under ``mock`` (it is mocked, or the
    case is missing and so fails): an activity task is then dispatched, not queued for the
    activity's pollers."""
    case = _case(config, mock)
    return case is None or state in case.states


def _case(config: MockConfig | None, mock: MockRef) -> MockCase | None:
    machine, name = mock
    return None if config is None else config.cases.get(machine, {}).get(name)


def _missing(config: MockConfig | None, mock: MockRef) -> str:
    machine, name = mock
    where = ("this service runs without a mock config (serve --mock-config)" if config is None
             else f"the service's mock config {config.file} has no such test case")
    return (f"The execution runs test case '{name}' of state machine '{machine}', but {where}; "
            "its task is not performed for real in the mock's place.")


def outcome_event(command: InvokeTask, outcome: MockOutcome) -> dict[str, Any]:
    """The task result event a mocked (or recorded) outcome stands for."""
    match outcome:
        case MockReturn(value=value):
            return succeeded(command, value)
        case MockThrow(error=error, cause=cause):
            return failed(command, error, cause)
        case _:
            assert_never(outcome)
