"""A task performer that answers the mocked states of a test case and sends the rest on.

Wraps an :data:`~statemachine.runtime.local.Invoke`: a state the case mocks never reaches
the invokers (no HTTP request, no SQS message, no callback wait: a mocked
``.waitForTaskToken`` returns at once); any other state runs for real (hybrid tests).
"""

from __future__ import annotations

from typing import Any, assert_never

from statemachine.interpreter.commands import InvokeTask
from statemachine.language.mocks import MockCase, MockReturn, MockThrow
from statemachine.runtime.invokers.base import failed, succeeded
from statemachine.runtime.local import Invoke


def mocked(invoke: Invoke, case: MockCase) -> Invoke:
    """``invoke`` with ``case``'s mocked states answered from the mock config."""

    async def perform(command: InvokeTask) -> dict[str, Any] | None:
        outcome = case.outcome(command.state, command.attempt)
        match outcome:
            case None:
                return await invoke(command)
            case MockReturn(value=value):
                return succeeded(command, value)
            case MockThrow(error=error, cause=cause):
                return failed(command, error, cause)
            case _:
                assert_never(outcome)

    return perform
