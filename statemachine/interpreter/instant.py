"""The states that complete at once: Pass, Choice, Succeed and Fail."""

from __future__ import annotations

from typing import Any

from statemachine.interpreter import failures as F
from statemachine.interpreter.context import Go, Step
from statemachine.interpreter.formats import dumps
from statemachine.interpreter.outcomes import complete, finish, leave
from statemachine.interpreter.records import Status
from statemachine.language import paths as _paths
from statemachine.language.model import JSONATA, State
from statemachine.language.scope import StatesError


def pass_(step: Step, state: State, value: Any) -> Go:
    if state.language == JSONATA:
        return complete(step, state, value, value)
    effective = step.select(state.input_path, state, value, "InputPath")
    if state.result is not None:
        result = state.result[0]
    elif state.parameters is not None:
        result = state.parameters.render(step.scope(state, effective))
    else:
        result = effective
    return complete(step, state, value, result)


def passthrough_output(step: Step, state: State, value: Any) -> Any:
    """Output of Succeed/Wait/Choice: InputPath then OutputPath, or JSONata Output."""
    if state.language == JSONATA:
        scope = step.scope(state, value)
        new_vars = state.assign.evaluate(scope, "Assign") if state.assign is not None else None
        output = state.output.evaluate(scope, "Output") if state.output is not None else value
        if new_vars:
            step.assign(new_vars)
        return output
    effective = step.select(state.input_path, state, value, "InputPath")
    new_vars = state.assign.render(step.scope(state, effective)) if state.assign is not None else None
    output = step.select(state.output_path, state, effective, "OutputPath")
    if new_vars:
        step.assign(new_vars)
    return output


def succeed(step: Step, state: State, value: Any) -> Go:
    return leave(step, state, passthrough_output(step, state, value))


def _fail_field(step: Step, state: State, spec: Any, value: Any, field: str) -> Any:
    if spec is None:
        return None
    kind, x = spec
    if kind == "const":
        return x
    if kind == "expr":
        return x.evaluate(step.scope(state, value), field)
    if kind == "intrinsic":
        return x.render(step.scope(state, value))["v"]
    try:
        return x.get(step.scope(state, value))
    except _paths.PathNotFound:
        raise StatesError(
            F.RUNTIME,
            f"The JSONPath '{x.text}' specified for the field '{field}Path' could not be found "
            f"in the input '{dumps(value)}'",
        ) from None


def fail(step: Step, state: State, value: Any) -> Go:
    error = _fail_field(step, state, state.error, value, "Error")
    cause = _fail_field(step, state, state.cause, value, "Cause")
    finish(step, Status.FAILED, error=error, cause=cause)
    return None


def choice(step: Step, state: State, value: Any) -> Go:
    if state.language == JSONATA:
        scope = step.scope(state, value)
        for rule in state.choices:
            if rule.rule.test(scope):
                return _choice_exit(step, state, value, rule.next, rule.assign, rule.output)
        if state.default is None:
            raise StatesError(F.NO_CHOICE, "No Matches!", prefixed=False)
        return _choice_exit(step, state, value, state.default, state.assign, state.output)
    effective = step.select(state.input_path, state, value, "InputPath")
    scope = step.scope(state, effective)
    for rule in state.choices:
        if rule.rule.test(scope):
            return _choice_exit(step, state, effective, rule.next, rule.assign, None)
    if state.default is None:
        raise StatesError(F.NO_CHOICE, "No Matches!", prefixed=False)
    return _choice_exit(step, state, effective, state.default, state.assign, None)


def _choice_exit(step: Step, state: State, value: Any, next_: str, assign: Any, output: Any) -> Go:
    scope = step.scope(state, value)
    if state.language == JSONATA:
        new_vars = assign.evaluate(scope, "Assign") if assign is not None else None
        out = output.evaluate(scope, "Output") if output is not None else value
        if new_vars:
            step.assign(new_vars)
    else:
        new_vars = assign.render(scope) if assign is not None else None
        out = step.select(state.output_path, state, value, "OutputPath")
        if new_vars:
            step.assign(new_vars)
    step.emit("ChoiceStateExited", {"name": state.name, "output": dumps(out), "outputDetails": {"truncated": False}})
    return next_, out
