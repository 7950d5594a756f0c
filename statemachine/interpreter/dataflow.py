"""The input/output data flow, written once per query language: a strategy per language
(:mod:`.jsonpath_flow`, :mod:`.jsonata_flow`), given to every state of a compiled machine
once (``State.flow``), so no state handler asks which language it speaks.

``language/`` compiles definitions and knows nothing of the interpreter, so the strategies
are bound here, the first time ``advance()`` meets a compiled machine (:func:`bind`).
"""

from __future__ import annotations

from typing import Any, Protocol

from statemachine.interpreter.context import Step
from statemachine.interpreter.jsonata_flow import JsonataFlow
from statemachine.interpreter.jsonpath_flow import JsonPathFlow
from statemachine.language.model import JSONATA, JSONPATH, Catcher, Machine, State
from statemachine.language.scope import Scope


class DataFlow(Protocol):
    """What a state's query language decides about the data it takes in and passes on."""

    def effective_input(self, step: Step, state: State, value: Any) -> Any:
        """The input the state works on (JSONPath: after InputPath)."""

    def parameters(self, step: Step, state: State, value: Any, context: dict[str, Any] | None) -> Any:
        """A Task's or Parallel's effective parameters (Parameters / Arguments); ``context``:
        the context object when the caller has one (a Task's carries its token)."""

    def pass_result(self, step: Step, state: State, value: Any) -> Any:
        """A Pass state's result (JSONPath: Result or Parameters; JSONata: its input)."""

    def items(self, step: Step, state: State, value: Any) -> tuple[Any, list[Any]]:
        """A Map's effective input and the items it iterates over."""

    def value_of(self, template: Any, scope: Scope, field: str) -> Any:
        """A payload template (JSONPath) or JSONata expression of ``field``, in ``scope``."""

    def output(self, step: Step, state: State, raw_input: Any, result: Any) -> Any:
        """The output of a state that produced ``result``, its variables assigned."""

    def exit_output(self, step: Step, state: State, value: Any, assign: Any, output: Any) -> Any:
        """The output of a state that passes ``value`` on (Choice, Succeed, Wait), with the
        ``Assign`` and ``Output`` given (a Choice rule's, or the state's)."""

    def caught(self, step: Step, state: State, catcher: Catcher, raw_input: Any,
               error_output: dict[str, Any]) -> Any:
        """The output when ``catcher`` caught the error described by ``error_output``."""


FLOWS: dict[str, DataFlow] = {JSONPATH: JsonPathFlow(), JSONATA: JsonataFlow()}


def bind(machine: Machine) -> None:
    """Give every state of ``machine`` (and of its Map processors and Parallel branches)
    the data flow of its query language.  Idempotent."""
    for state in machine.states.values():
        state.flow = FLOWS[state.language]
        if state.processor is not None:
            bind(state.processor)
        for branch in state.branches:
            bind(branch)
    machine.bound = True
