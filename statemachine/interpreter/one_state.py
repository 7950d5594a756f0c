"""One state run on its own (AWS's TestState): the pure parts.

The runtime runs the state through the engine itself, as the only state of a small machine
(:func:`plan`): its ``Retry`` and ``Catch`` taken out and every state it may go to stood in
for by a ``Succeed`` state, so the run stops right after it and says where it went.  When
the state failed, :func:`handle_failure` decides what its own error handling would have
done, as the engine does (:func:`statemachine.interpreter.outcomes.fail_state`): a matching
retrier with attempts left makes the outcome RETRIABLE (TestState never waits to retry), a
matching catcher CAUGHT_ERROR with the catcher's output and ``Next``.  :func:`inspect`
gives the data at each step of the state's input/output processing (``inspectionData`` at
DEBUG and TRACE).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from statemachine.interpreter import failures as F
from statemachine.interpreter.context import Step
from statemachine.interpreter.dataflow import bind
from statemachine.interpreter.formats import dumps
from statemachine.interpreter.jsonpath_flow import result_path
from statemachine.interpreter.step import new_execution
from statemachine.language.model import IDENTITY, JSONATA, Machine, State
from statemachine.language.scope import MISSING, Entropy, StatesError

__all__ = ["DEFAULT_NAME", "LIMIT_S", "Outcome", "Plan", "TestStatus", "Unrunnable", "again",
           "handle_failure", "inspect", "next_state", "plan"]

DEFAULT_NAME = "TestState"
"""The name a lone state (a definition without ``States``) runs under."""
LIMIT_S = 300
"""TestState runs for at most five minutes (of real time: a Wait state does not wait), then
fails with ``States.Timeout``."""
UNSUPPORTED = frozenset({"Map", "Parallel"})
"""State types TestState does not run without a mock (AWS's rule)."""
WAITING = (".waitForTaskToken", ".sync", ".sync:2")
"""Resource suffixes of tasks whose result arrives later: not run either."""


class Unrunnable(ValueError):
    """A TestState request this service cannot run; the message says why."""


class TestStatus(StrEnum):
    """TestState's ``status``."""

    __test__ = False  # not a pytest test class

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    RETRIABLE = "RETRIABLE"
    CAUGHT_ERROR = "CAUGHT_ERROR"


@dataclass(frozen=True, slots=True)
class Plan:
    """What to validate (``checked``: the state with its Retry/Catch, as a whole machine) and
    what to run (``run``: without them)."""

    name: str
    checked: dict[str, Any]
    run: dict[str, Any]


@dataclass(slots=True)
class Outcome:
    status: TestStatus
    output: Any = MISSING
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    error_details: dict[str, Any] = field(default_factory=dict)


def plan(definition: Any, state_name: str | None, *, mocked: bool = False) -> Plan:
    """The machines for testing ``definition``: one state, or with ``state_name`` the state of
    that name in a whole machine.  ``mocked``: a mock stands for the Task's call (so a task
    whose result comes later may be tested).  Unrunnable says why the request cannot be run."""
    if not isinstance(definition, dict):
        raise Unrunnable("the definition must be a JSON object")
    language: str | None = None
    if state_name is not None:
        states = definition.get("States")
        if not isinstance(states, dict) or not isinstance(states.get(state_name), dict):
            raise Unrunnable(f"the definition has no state named '{state_name}'")
        state, name = states[state_name], state_name
        language = definition.get("QueryLanguage")
    elif "States" in definition:
        raise Unrunnable("a whole state machine definition needs stateName")
    else:
        state, name = definition, DEFAULT_NAME
    if state.get("Type") in UNSUPPORTED:
        raise Unrunnable(f"TestState does not run {state.get('Type')} states")
    if mocked and state.get("Type") != "Task":
        raise Unrunnable("A mock can only be specified for Task, Map, or Parallel states")
    resource = state.get("Resource")
    if (not mocked and isinstance(resource, str)
            and (resource.endswith(WAITING) or ":activity:" in resource)):
        raise Unrunnable("TestState does not run activities, .sync or .waitForTaskToken tasks: "
                         "their result comes from outside, later")
    checked = _machine(name, state, _targets(state, with_catch=True), language)
    bare = {k: v for k, v in state.items() if k not in ("Retry", "Catch")}
    run = _machine(name, bare, _targets(bare, with_catch=False), language, run=True)
    return Plan(name, checked, run)


def _targets(state: dict[str, Any], *, with_catch: bool) -> list[str]:
    found = [state.get("Next"), state.get("Default")]
    found += [c.get("Next") for c in state.get("Choices") or [] if isinstance(c, dict)]
    if with_catch:
        found += [c.get("Next") for c in state.get("Catch") or [] if isinstance(c, dict)]
    return [t for t in dict.fromkeys(found) if isinstance(t, str)]


def _machine(name: str, state: dict[str, Any], targets: list[str],
             language: str | None, *, run: bool = False) -> dict[str, Any]:
    """``state`` as the start of a machine whose other states stand in for its targets.  In
    the machine to ``run``, a state that goes to itself goes to :func:`again` instead, so the
    run stops there."""
    state = copy.deepcopy(state)
    if run and name in targets:
        for rule in [state, *(c for c in state.get("Choices") or [] if isinstance(c, dict))]:
            for key in ("Next", "Default"):
                if rule.get(key) == name:
                    rule[key] = again(name)
        targets = [again(name) if t == name else t for t in targets]
    states: dict[str, Any] = {name: state}
    for target in targets:
        if target != name:
            states[target] = {"Type": "Succeed"}
    machine: dict[str, Any] = {"StartAt": name, "States": states}
    if language is not None:
        machine["QueryLanguage"] = language
    return machine


def again(name: str) -> str:
    """The stand-in for ``name`` itself, as the target of its own transition."""
    return f"{name}\u0000again"


def next_state(name: str, entered: str) -> str:
    """The state the tested state ``name`` went to, from the stand-in it entered."""
    return name if entered == again(name) else entered


def handle_failure(machine: Machine, name: str, input: Any, variables: dict[str, Any],
                   error: str, cause: str | None, *, retries: int, now: int, salt: str) -> Outcome:
    """What the state's Retry and Catch make of ``error``: RETRIABLE (a matching retrier with
    attempts left, ``retries`` made so far), CAUGHT_ERROR, or FAILED.  ``machine`` is the
    compiled ``checked`` machine (with Retry and Catch)."""
    state = machine.states[name]
    for i, retrier in enumerate(state.retry):
        if F.matches(retrier.errors, error):
            if retries >= retrier.max_attempts:
                break
            delay = F.retry_delay(retrier, retries, Entropy(f"{salt}:{retries}:jitter"))
            return Outcome(TestStatus.RETRIABLE, error=error, cause=cause,
                           error_details={"retryIndex": i, "retryBackoffIntervalSeconds": int(delay)})
    for i, catcher in enumerate(state.catch):
        if F.matches(catcher.errors, error):
            step = _step(machine, name, input, variables, now, salt)
            error_output = {"Error": error, "Cause": cause} if cause is not None else {"Error": error}
            try:
                output = state.flow.caught(step, state, catcher, input, error_output)
            except StatesError as err:
                return Outcome(TestStatus.FAILED, error=err.error, cause=step.cause_of(err))
            return Outcome(TestStatus.CAUGHT_ERROR, output=output, error=error, cause=cause,
                           next_state=catcher.next, error_details={"catchIndex": i})
    return Outcome(TestStatus.FAILED, error=error, cause=cause)


def _step(machine: Machine, name: str, input: Any, variables: dict[str, Any], now: int,
          salt: str) -> Step:
    if not machine.bound:
        bind(machine)
    record = new_execution(execution_id=DEFAULT_NAME, name=DEFAULT_NAME, machine=DEFAULT_NAME,
                           machine_version=1, input=input, now=now, salt=salt)
    record["state"] = name
    record["state_input"] = input
    record["vars"] = dict(variables)
    return Step(machine, record, now)


def inspect(machine: Machine, name: str, input: Any, variables: dict[str, Any], result: Any,
            *, now: int, salt: str) -> dict[str, Any]:
    """``inspectionData``: the input, each step of the state's data flow (JSON text) up to the
    first that fails, and the variables; ``result``: the task's result (Task states; MISSING
    otherwise)."""
    state = machine.states[name]
    step = _step(machine, name, input, variables, now, salt)
    data: dict[str, Any] = {"input": dumps(input)}
    try:
        if state.language == JSONATA:
            _jsonata_steps(step, state, input, result, data)
        else:
            _jsonpath_steps(step, state, input, result, data)
    except StatesError:
        pass  # the steps up to the failing one are shown; the error is the outcome's
    data["variables"] = dumps(step.ex["vars"])
    return data


def _jsonpath_steps(step: Step, state: State, input: Any, result: Any, data: dict[str, Any]) -> None:
    if state.type in ("Task", "Pass"):
        effective = step.select(state.input_path, state, input, "InputPath")
        data["afterInputPath"] = dumps(effective)
        if state.parameters is not None:
            effective = state.parameters.render(step.scope(state, effective))
        data["afterParameters"] = dumps(effective)
        if state.type == "Pass":
            result = state.result[0] if state.result is not None else effective
        if result is MISSING:
            return
        data["result"] = dumps(result)
        if state.result_selector is not None:
            result = state.result_selector.render(step.scope(state, result))
            data["afterResultSelector"] = dumps(result)
        if state.assign is not None:
            step.assign(state.assign.render(step.scope(state, result)))
        data["afterResultPath"] = dumps(result_path(state.result_path, input, result))
    elif state.input_path is not IDENTITY:
        data["afterInputPath"] = dumps(step.select(state.input_path, state, input, "InputPath"))


def _jsonata_steps(step: Step, state: State, input: Any, result: Any, data: dict[str, Any]) -> None:
    if state.type == "Task":
        data["afterArguments"] = dumps(state.flow.parameters(step, state, input, None))
    if result is not MISSING:
        data["result"] = dumps(result)
    if state.assign is not None:
        scope = (step.scope(state, input, result=result) if result is not MISSING
                 else step.scope(state, input))
        step.assign(state.assign.evaluate(scope, "Assign"))
