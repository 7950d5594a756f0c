"""Properties of the core, checked on generated inputs (hypothesis).

1. ``advance()`` never raises, whatever JSON the execution gets: bad data is a workflow
   failure (data), never a Python exception.
2. Replaying the same events gives the same records, history and commands, byte for byte
   (task tokens, UUIDs and random numbers are derived from the execution).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statemachine.interpreter.records import TERMINAL
from statemachine.interpreter.step import advance, new_execution
from statemachine.language.model import compile_machine
from statemachine.runtime.local import LocalRunner

CASES = Path(__file__).resolve().parent.parent / "conformance" / "cases"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


def _definitions() -> list[tuple[str, dict[str, Any]]]:
    """Conformance definitions that need no task service: every state type but Task."""
    picked = []
    for path in sorted(CASES.glob("*/*.json")):
        if path.parent.name == "lambda":
            continue
        definition = json.loads(path.read_text())["definition"]
        if '"Task"' in json.dumps(definition):
            continue
        picked.append((f"{path.parent.name}/{path.stem}", definition))
    return picked[:: max(1, len(picked) // 40)]


DEFINITIONS = _definitions()


async def _no_tasks(command: dict[str, Any]) -> dict[str, Any]:
    return {"type": "TaskFailed", "error": "NoTasks", "cause": "none here"}


@pytest.mark.parametrize("name,definition", DEFINITIONS, ids=[n for n, _ in DEFINITIONS])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_advance_never_raises(name: str, definition: dict[str, Any], value: Any) -> None:
    machine = compile_machine(definition)
    runner = LocalRunner(machine, _no_tasks, virtual_time=True)
    result = asyncio.run(asyncio.wait_for(runner.run(value, execution_name="p"), 30))
    assert result.execution["status"] in TERMINAL
    if result.execution["status"] != "SUCCEEDED":
        assert isinstance(result.execution["error"], (str, type(None)))


RANDOM_DEFINITION = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Parameters": {"u.$": "States.UUID()", "r.$": "States.MathRandom(1, 1000)",
                                             "in.$": "$"}, "Next": "B"},
        "B": {"Type": "Pass", "QueryLanguage": "JSONata",
              "Output": "{% {'u': $uuid(), 'r': $random(), 'prev': $states.input} %}", "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.prev.in.items", "ItemProcessor": {
            "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "http://127.0.0.1:1/", "End": True}}},
            "End": True},
    },
}


@settings(max_examples=40, deadline=None)
@given(items=st.lists(json_values, max_size=5), salt=st.text(min_size=1, max_size=8))
def test_same_events_give_identical_records(items: list[Any], salt: str) -> None:
    machine = compile_machine(RANDOM_DEFINITION)

    def replay() -> bytes:
        ex = new_execution(execution_id="x", name="x", machine="m", machine_version=1,
                           input={"items": items}, now=1_000, salt=salt)
        d = advance(machine, ex, {"type": "Started"}, now=1_000)
        return orjson.dumps([d.execution, d.history, d.commands])

    assert replay() == replay()
