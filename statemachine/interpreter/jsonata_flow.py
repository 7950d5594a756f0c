"""The input/output data flow of a JSONata state (ASL with ``"QueryLanguage": "JSONata"``):

    raw input ($states.input) -> Arguments -> (the state's work, $states.result)
              -> Assign and Output, both evaluated over the same scope -> output

There are no paths: what a state passes on is its ``Output`` expression, or the result (or
the input, for a state without one) when it has none.  Variables assigned by ``Assign``
are set only once the output is known.
"""

from __future__ import annotations

from typing import Any

from statemachine.interpreter import failures as F
from statemachine.interpreter.context import Step
from statemachine.interpreter.formats import dumps
from statemachine.language.model import Catcher, State
from statemachine.language.scope import Scope, StatesError
from statemachine.language.values import json_type_name


class JsonataFlow:
    """Arguments in; Assign and Output out."""

    __slots__ = ()

    def effective_input(self, step: Step, state: State, value: Any) -> Any:
        return value

    def parameters(self, step: Step, state: State, value: Any, context: dict[str, Any] | None) -> Any:
        if state.arguments is not None:
            return state.arguments.evaluate(step.scope(state, value, context=context), "Arguments")
        return value

    def pass_result(self, step: Step, state: State, value: Any) -> Any:
        return value

    def items(self, step: Step, state: State, value: Any) -> tuple[Any, list[Any]]:
        if state.items is None:
            if not isinstance(value, list):
                raise StatesError(F.QUERY_EVALUATION, f"Map state input must be an array but was: {dumps(value)}")
            return value, value
        items = state.items.evaluate(step.scope(state, value), "Items")
        if not isinstance(items, list):
            text = state.raw["Items"]
            expr = text[2:-2].strip() if isinstance(text, str) else dumps(text)
            raise StatesError(
                F.QUERY_EVALUATION,
                f"The JSONata expression '{expr}' specified for the field 'Items' returned an "
                f"unexpected result type. Expected 'array', but was '{json_type_name(items)}' for value: "
                f"{dumps(items)}",
            )
        return value, items

    def value_of(self, template: Any, scope: Scope, field: str) -> Any:
        return template.evaluate(scope, field)

    def output(self, step: Step, state: State, raw_input: Any, result: Any) -> Any:
        return _assign_and_output(step, step.scope(state, raw_input, result=result),
                                  state.assign, state.output, result)

    def exit_output(self, step: Step, state: State, value: Any, assign: Any, output: Any) -> Any:
        return _assign_and_output(step, step.scope(state, value), assign, output, value)

    def caught(self, step: Step, state: State, catcher: Catcher, raw_input: Any,
               error_output: dict[str, Any]) -> Any:
        scope = step.scope(state, raw_input, error_output=error_output)
        return _assign_and_output(step, scope, catcher.assign, catcher.output, error_output)


def _assign_and_output(step: Step, scope: Scope, assign: Any, output: Any, otherwise: Any) -> Any:
    """Evaluate ``Assign`` and ``Output`` over ``scope`` (``otherwise`` passes on without an
    Output); the variables are set after both succeeded."""
    new_vars = assign.evaluate(scope, "Assign") if assign is not None else None
    out = output.evaluate(scope, "Output") if output is not None else otherwise
    if new_vars:
        step.assign(new_vars)
    return out
