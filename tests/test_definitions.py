"""Every example workflow in definitions/ loads, explains itself and validates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from statemachine.language.source import load_file
from statemachine.language.validate import validate

DEFINITIONS = sorted((Path(__file__).resolve().parents[1] / "definitions").glob("*.y*ml"))


def _states(machine: dict[str, Any]) -> list[dict[str, Any]]:
    """Every state, nested branches and Map processors included."""
    found = []
    for state in machine.get("States", {}).values():
        found.append(state)
        for branch in state.get("Branches", []):
            found += _states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                found += _states(state[key])
    return found


def test_there_are_at_least_five_examples() -> None:
    assert len(DEFINITIONS) >= 5


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_definition_validates(path: Path) -> None:
    source = load_file(path)
    assert [d.format() for d in validate(source.definition, source=source)] == []
    assert len(source.definition.get("Comment", "")) > 40, "each example explains itself"


def test_hello_needs_no_outside_service() -> None:
    hello = load_file(Path(DEFINITIONS[0]).parent / "hello.yaml").definition
    assert all(state["Type"] != "Task" for state in _states(hello))


def test_the_jsonata_example_uses_jsonata_features() -> None:
    definition = load_file(Path(DEFINITIONS[0]).parent / "order-routing-jsonata.yaml").definition
    assert definition["QueryLanguage"] == "JSONata"
    fields = {field for state in _states(definition) for field in state}
    assert {"Assign", "Output", "Arguments"} <= fields
