"""The states that complete at once: Pass, Choice, Succeed and Fail."""

from __future__ import annotations

from typing import Any

from statemachine.interpreter import failures as F
from statemachine.interpreter.context import Go, Step
from statemachine.interpreter.dataflow import DataFlow
from statemachine.interpreter.formats import dumps, payload
from statemachine.interpreter.outcomes import complete, finish, leave
from statemachine.interpreter.records import Status
from statemachine.language import paths as _paths
from statemachine.language.model import State
from statemachine.language.scope import StatesError


def pass_(step: Step, state: State, value: Any) -> Go:
    return complete(step, state, value, state.flow.pass_result(step, state, value))


def passthrough_output(step: Step, state: State, value: Any) -> Any:
    """The output of a state that passes its input on (Succeed, Wait)."""
    flow: DataFlow = state.flow
    return flow.exit_output(step, state, flow.effective_input(step, state, value), state.assign, state.output)


def succeed(step: Step, state: State, value: Any) -> Go:
    return leave(step, state, passthrough_output(step, state, value))


def _fail_field(step: Step, state: State, spec: Any, value: Any, field: str) -> Any:
    if spec is None:
        return None
    kind, x = spec
    match kind:
        case "const":
            return x
        case "expr":
            return x.evaluate(step.scope(state, value), field)
        case "intrinsic":
            return x.render(step.scope(state, value))["v"]
        case _:  # path
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
    """The first rule that matches names the next state (its Assign and Output apply), else
    the Default (the state's own Assign and Output), else States.NoChoiceMatched."""
    flow: DataFlow = state.flow
    effective = flow.effective_input(step, state, value)
    scope = step.scope(state, effective)
    for rule in state.choices:
        if rule.rule.test(scope):
            return _choice_exit(step, state, flow, effective, rule.next, rule.assign, rule.output)
    if state.default is None:
        raise StatesError(F.NO_CHOICE, "No Matches!", prefixed=False)
    return _choice_exit(step, state, flow, effective, state.default, state.assign, state.output)


def _choice_exit(step: Step, state: State, flow: DataFlow, value: Any, next_: str, assign: Any,
                 output: Any) -> Go:
    out = flow.exit_output(step, state, value, assign, output)
    text = payload(out, state.name)
    step.emit("ChoiceStateExited", {"name": state.name, "output": text, "outputDetails": {"truncated": False}})
    return next_, out
