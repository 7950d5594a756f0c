"""The input/output data flow of a JSONPath state (ASL "Input and Output Processing"):

    raw input -> InputPath -> Parameters -> (the state's work) -> ResultSelector
              -> Assign -> ResultPath (merged into the raw input) -> OutputPath -> output

Variables assigned by ``Assign`` are set only once the output is known, so a failure in
ResultPath or OutputPath leaves them as they were.
"""

from __future__ import annotations

from typing import Any

from statemachine.interpreter import failures as F
from statemachine.interpreter.context import Step
from statemachine.interpreter.formats import dumps
from statemachine.language import paths as _paths
from statemachine.language.model import IDENTITY, Catcher, State
from statemachine.language.scope import Scope, StatesError


class JsonPathFlow:
    """InputPath → Parameters → ResultSelector → ResultPath → OutputPath, with Assign."""

    __slots__ = ()

    def effective_input(self, step: Step, state: State, value: Any) -> Any:
        return step.select(state.input_path, state, value, "InputPath")

    def parameters(self, step: Step, state: State, value: Any, context: dict[str, Any] | None) -> Any:
        effective = step.select(state.input_path, state, value, "InputPath")
        if state.parameters is not None:
            return state.parameters.render(step.scope(state, effective, context=context))
        return effective

    def pass_result(self, step: Step, state: State, value: Any) -> Any:
        effective = step.select(state.input_path, state, value, "InputPath")
        if state.result is not None:
            return state.result[0]
        if state.parameters is not None:
            return state.parameters.render(step.scope(state, effective))
        return effective

    def items(self, step: Step, state: State, value: Any) -> tuple[Any, list[Any]]:
        effective = step.select(state.input_path, state, value, "InputPath")
        items = (effective if state.items_path is IDENTITY
                 else step.select(state.items_path, state, effective, "ItemsPath"))
        if not isinstance(items, list):
            raise StatesError(F.RUNTIME, f"Map state input must be an array but was: {dumps(items)}")
        return effective, items

    def value_of(self, template: Any, scope: Scope, field: str) -> Any:
        return template.render(scope)

    def output(self, step: Step, state: State, raw_input: Any, result: Any) -> Any:
        if state.result_selector is not None:
            result = state.result_selector.render(step.scope(state, result))
        new_vars = state.assign.render(step.scope(state, result)) if state.assign is not None else None
        output = result_path(state.result_path, raw_input, result)
        output = step.select(state.output_path, state, output, "OutputPath")
        if new_vars:
            step.assign(new_vars)
        return output

    def exit_output(self, step: Step, state: State, value: Any, assign: Any, output: Any) -> Any:
        new_vars = assign.render(step.scope(state, value)) if assign is not None else None
        out = step.select(state.output_path, state, value, "OutputPath")
        if new_vars:
            step.assign(new_vars)
        return out

    def caught(self, step: Step, state: State, catcher: Catcher, raw_input: Any,
               error_output: dict[str, Any]) -> Any:
        if catcher.assign is not None:
            step.assign(catcher.assign.render(step.scope(state, error_output)))
        return result_path(catcher.result_path, raw_input, error_output)


def result_path(path: Any, raw_input: Any, result: Any) -> Any:
    """ResultPath: ``$`` keeps the result alone, null the raw input alone, a path puts the
    result into the raw input there."""
    if path is IDENTITY:
        return result
    if path is None:
        return raw_input
    return _paths.apply_result_path(path, raw_input, result)
