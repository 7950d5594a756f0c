"""compare.py on hand-made histories: Map children interleaved differently agree; a change
inside an iteration, at the top, or in the end does not."""

from __future__ import annotations

import json
from typing import Any

from statemachine.testing.compare import first_divergence


def _entered(kind: str, name: str, value: Any) -> dict[str, Any]:
    return {"type": f"{kind}StateEntered",
            "stateEnteredEventDetails": {"name": name, "input": json.dumps(value)}}


def _exited(kind: str, name: str, value: Any) -> dict[str, Any]:
    return {"type": f"{kind}StateExited",
            "stateExitedEventDetails": {"name": name, "output": json.dumps(value)}}


def _iteration(index: int, item: str, name: str = "Pack") -> list[dict[str, Any]]:
    return [{"type": "MapIterationStarted", "mapIterationStartedEventDetails": {"index": index}},
            _entered("Pass", name, item), _exited("Pass", name, item),
            {"type": "MapIterationSucceeded", "mapIterationSucceededEventDetails": {"index": index}}]


def _history(children: list[dict[str, Any]], output: Any = None) -> list[dict[str, Any]]:
    events = [{"type": "ExecutionStarted", "executionStartedEventDetails": {"input": "{}"}},
              _entered("Map", "Lines", {}), {"type": "MapStateStarted",
                                             "mapStateStartedEventDetails": {"length": 2}},
              *children, {"type": "MapStateSucceeded"}, _exited("Map", "Lines", ["a", "b"]),
              {"type": "ExecutionSucceeded",
               "executionSucceededEventDetails": {"output": json.dumps(output or ["a", "b"])}}]
    return [{"id": i, "timestamp": 1000 + i, **e} for i, e in enumerate(events, start=1)]


def test_children_interleaved_in_another_order_agree() -> None:
    first, second = _iteration(0, "a"), _iteration(1, "b")
    recorded = _history([first[0], second[0], *first[1:], *second[1:]])
    now = _history([*second, *first])
    assert first_divergence(recorded, now) is None


def test_a_state_renamed_inside_an_iteration_diverges_at_its_entry() -> None:
    recorded = _history([*_iteration(0, "a"), *_iteration(1, "b")])
    now = _history([*_iteration(1, "b", "Wrap"), *_iteration(0, "a", "Wrap")])
    found = first_divergence(recorded, now)
    assert found is not None
    assert (found.event_id, found.state) == (5, "Pack")
    assert found.recorded == 'PassStateEntered Pack "a"'
    assert found.now == 'PassStateEntered Wrap "b"'


def test_a_different_end_diverges_at_the_last_event() -> None:
    recorded = _history([*_iteration(0, "a"), *_iteration(1, "b")])
    now = _history([*_iteration(0, "a"), *_iteration(1, "b")], output=["changed"])
    found = first_divergence(recorded, now)
    assert found is not None and found.event_id == len(recorded)
    assert found.now == 'ExecutionSucceeded ["changed"]'
