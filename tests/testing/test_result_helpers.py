"""The result's helpers, and what their failures say: a failing test must read as what the
workflow did (status, error, path, calls), not as ``assert False``."""

from __future__ import annotations

from typing import Any

import pytest

from statemachine.testing import RunResult, run

NEVER = "http://127.0.0.1:9/never-called"
FLOW: dict[str, Any] = {
    "StartAt": "Load",
    "States": {
        "Load": {"Type": "Task", "Resource": NEVER, "Next": "Check",
                 "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "MaxAttempts": 1}]},
        "Check": {"Type": "Choice", "Default": "Give up",
                  "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Save"}]},
        "Save": {"Type": "Task", "Resource": NEVER, "End": True},
        "Give up": {"Type": "Fail", "Error": "Flow.NotOk", "Cause": "not ok"},
    },
}


def _ok() -> RunResult:
    return run(FLOW, mocks={"Load": [{"Throw": {"Error": "Busy", "Cause": "wait"}},
                                     {"Return": {"ok": True}}],
                            "Save": {"Return": "saved"}})


def _not_ok() -> RunResult:
    return run(FLOW, mocks={"Load": {"Return": {"ok": False}}})


def _message(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(AssertionError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def test_the_passing_helpers_pass() -> None:
    ok = _ok()
    ok.assert_succeeded("saved")
    ok.assert_path("Load", "Check", "Save")
    ok.assert_visited("Load", "Save")
    ok.assert_not_visited("Give up")
    assert ok.visited("Check") and not ok.visited("Give up")
    assert ok.output_of("Check") == {"ok": True}
    assert ok.outputs_of("Load") == ({"ok": True},)
    assert [c.describe() for c in ok.calls] == [
        "Load #0 (mocked): failed Busy", "Load #1 (mocked): returned {'ok': True}",
        "Save #0 (mocked): returned 'saved'"]
    _not_ok().assert_failed("Flow.NotOk", "not ok")


def test_assert_succeeded_on_a_failed_run_shows_the_error_path_and_calls() -> None:
    text = _message(_not_ok().assert_succeeded)
    assert text.splitlines() == [
        "expected the run to succeed, but it FAILED with Flow.NotOk: not ok",
        "status: FAILED with Flow.NotOk: not ok",
        "path: Load -> Check -> Give up",
        "calls:",
        "  Load #0 (mocked): returned {'ok': False}",
    ]


def test_assert_succeeded_with_another_output_shows_both() -> None:
    text = _message(_ok().assert_succeeded, "other")
    assert text.startswith("the run succeeded with another output\n"
                           "expected: 'other'\nactual:   'saved'\n"), text


def test_assert_failed_on_a_success_and_on_another_error_or_cause() -> None:
    assert _message(_ok().assert_failed, "Flow.NotOk").startswith(
        "expected the run to fail with Flow.NotOk, but it SUCCEEDED with output 'saved'\n")
    assert _message(_not_ok().assert_failed, "Other").startswith(
        "expected the run to fail with Other, but it failed with Flow.NotOk: not ok\n")
    assert _message(_not_ok().assert_failed, cause="something").startswith(
        "expected the cause 'something', got 'not ok'\n")


def test_assert_path_names_the_first_step_that_differs() -> None:
    ok = _ok()
    assert _message(ok.assert_path, "Load", "Save").splitlines() == [
        "the path differs at step 2: expected 'Save', got 'Check'",
        "expected: Load -> Save",
        "actual:   Load -> Check -> Save",
    ]
    assert _message(ok.assert_path, "Load", "Check").splitlines()[0] == (
        "the path differs at step 3: expected '(the end)', got 'Save'")
    assert _message(ok.assert_path, "Load", "Check", "Save", "More").splitlines()[0] == (
        "the path differs at step 4: expected 'More', got '(the end)'")


def test_assert_visited_and_not_visited() -> None:
    ok = _ok()
    assert _message(ok.assert_visited, "Save", "Load").splitlines() == [
        "state 'Load' was not entered after 'Save'", "path: Load -> Check -> Save"]
    assert _message(ok.assert_visited, "Nope").splitlines()[0] == "state 'Nope' was not entered"
    assert _message(ok.assert_not_visited, "Give up", "Check", "Save").splitlines()[0] == (
        "expected 'Check', 'Save' not to be entered")


def test_output_of_a_state_never_or_often_exited() -> None:
    assert _message(_ok().output_of, "Give up").startswith("state 'Give up' never exited\n")
    looping = {"StartAt": "Items", "States": {"Items": {
        "Type": "Map", "End": True,
        "ItemProcessor": {"StartAt": "Double", "States": {"Double": {
            "Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $)"}, "End": True}}}}}}
    result = run(looping, [1, 2, 3])
    assert result.outputs_of("Double") == ({"v": 2}, {"v": 4}, {"v": 6})
    assert _message(result.output_of, "Double").startswith(
        "state 'Double' exited 3 times; outputs_of('Double') gives them all\n")


def test_a_long_path_shows_its_tail() -> None:
    loop = {"StartAt": "Count", "States": {
        "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
                  "Next": "More?"},
        "More?": {"Type": "Choice", "Default": "End",
                  "Choices": [{"Variable": "$.n", "NumericLessThan": 50, "Next": "Count"}]},
        "End": {"Type": "Succeed"}}}
    result = run(loop, {"n": 0})
    assert len(result.path) == 101
    line = _message(result.assert_not_visited, "End").splitlines()[1]
    assert line.startswith("path: (61 earlier) -> ") and line.endswith("-> More? -> End")
