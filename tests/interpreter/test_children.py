"""The children policy: MaxConcurrency and tolerated-failure thresholds."""

from typing import Any

from statemachine.interpreter.children import child_finished, open_group
from statemachine.interpreter.commands import StartChildren

OK = {"status": "SUCCEEDED", "output": 1}
BAD = {"status": "FAILED", "error": "E", "cause": "C"}


def group(n: int, limit: int = 0, kind: str = "map", **tol: Any) -> StartChildren:
    return StartChildren(group="1", kind=kind, paths=[[]], inputs=[None] * n, items=None,
                         max_concurrency=limit, tolerated_count=tol.get("tolerated_count"),
                         tolerated_percentage=tol.get("tolerated_percentage"), vars={},
                         execution_input=False)


def test_max_concurrency_starts_one_for_each_that_ends() -> None:
    c, first = open_group(group(5, limit=2))
    assert first == [0, 1]
    c, start, verdict = child_finished(c, 0, OK)
    assert start == [2] and verdict is None
    for i in (1, 2):
        c, start, verdict = child_finished(c, i, OK)
    assert start == [4] and verdict is None
    c, _, verdict = child_finished(c, 3, OK)
    c, _, verdict = child_finished(c, 4, OK)
    assert verdict == {"done": True}


def test_unbounded_starts_everything() -> None:
    _, first = open_group(group(4))
    assert first == [0, 1, 2, 3]


def test_any_failure_fails_without_tolerance() -> None:
    c, _ = open_group(group(3, kind="parallel"))
    c, _, verdict = child_finished(c, 1, BAD)
    assert verdict is not None and verdict["failed"]["error"] == "E" and not verdict["failed"]["threshold"]
    c, start, verdict = child_finished(c, 0, OK)
    assert verdict is None and start == []


def test_tolerated_count_and_percentage() -> None:
    c, _ = open_group(group(4, tolerated_count=1))
    c, _, verdict = child_finished(c, 0, BAD)
    assert verdict is None
    c, _, verdict = child_finished(c, 1, BAD)
    assert verdict is not None and verdict["failed"]["threshold"]
    c, _ = open_group(group(4, tolerated_percentage=50))
    for i in (0, 1):
        c, _, verdict = child_finished(c, i, BAD)
    assert verdict is None
    for i in (2, 3):
        c, _, verdict = child_finished(c, i, OK)
    assert verdict == {"done": True}
