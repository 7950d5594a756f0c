"""The run-through: enter states one after the other until one needs the outside world.

Pass, Choice, Succeed and Fail complete at once, so one ``advance()`` runs through them
and a durable runtime makes one commit per step that waits, with every state still in the
history.  A run-through that writes :data:`RUN_BUDGET` events pauses (``Continue``), so no
commit grows without bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from statemachine.interpreter import branches, instant, task, wait
from statemachine.interpreter.commands import Continue
from statemachine.interpreter.context import Go, Step
from statemachine.interpreter.formats import ENTERED, dumps
from statemachine.interpreter.outcomes import fail_state
from statemachine.language.model import State
from statemachine.language.scope import StatesError

RUN_BUDGET = 1_000
"""Events one advance() writes before a run-through pauses (``Continue``): what bounds one
commit's size, and a worker's time in one item, whatever the definition loops through."""

Action = Callable[[Step, State, Any], Go]

ACTIONS: dict[str, Action] = {
    "Task": task.task,
    "Pass": instant.pass_,
    "Choice": instant.choice,
    "Wait": wait.wait,
    "Succeed": instant.succeed,
    "Fail": instant.fail,
    "Parallel": branches.parallel,
    "Map": branches.map_,
}
"""What a state does once entered (or re-tried), by state type.  Raising
:class:`StatesError` sends the state through retry → catch → fail."""

_CONTINUE = Continue()


def run(step: Step, go: Go) -> None:
    """Enter ``go`` and the states after it, until one waits or the execution ends."""
    states = step.machine.states
    while go is not None:
        if len(step.history) >= RUN_BUDGET:
            pause(step, go)
            return
        name, value = go
        go = enter(step, states[name], value)


def pause(step: Step, go: tuple[str, Any]) -> None:
    """Stop a long run-through before entering ``go``; a ``Continue`` goes on from there."""
    ex = step.ex
    ex["waiting"] = "continue"
    ex["state"] = go[0]
    ex["state_input"] = go[1]
    ex["burst"] = ex.get("burst", 0) + len(step.history)
    step.commands.append(_CONTINUE)


def enter(step: Step, state: State, value: Any) -> Go:
    ex = step.ex
    ex["state"] = state.name
    ex["state_input"] = value
    ex["retry"] = {}
    ex.pop("done_group", None)
    ex.pop("writing", None)
    ex["entered_at"] = step.now
    ex["entered"] = step.emit(
        ENTERED[state.type], {"name": state.name, "input": dumps(value), "inputDetails": {"truncated": False}}
    )
    return act(step, state, value)


def act(step: Step, state: State, value: Any) -> Go:
    """Do what ``state`` does (again, for a retry)."""
    try:
        return ACTIONS[state.type](step, state, value)
    except StatesError as err:
        return fail_state(step, state, err.error, step.cause_of(err))
