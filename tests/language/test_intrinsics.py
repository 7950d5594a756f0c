"""Intrinsic functions, and the JSONPath conformance groups they live in.

The conformance part runs every case of ``intrinsic_functions`` and the JSONPath
cases of ``input_output`` through a tiny Pass-chain evaluator written here
(InputPath -> Parameters -> Result -> ResultPath -> OutputPath -> Next, plus the
path fields of Fail and Task) and compares status, output, error and cause with
what AWS recorded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path as FilePath
from typing import Any

import pytest

from statemachine.language.intrinsics import (
    KNOWN_FUNCTIONS,
    IntrinsicSyntaxError,
    is_intrinsic,
    parse_intrinsic,
)
from statemachine.language.java_json import json_equal
from statemachine.language.paths import apply_result_path, compile_path, select
from statemachine.language.scope import MISSING, Entropy, Scope, StatesError
from statemachine.language.templates import compile_template

CASES = FilePath(__file__).resolve().parents[1] / "conformance" / "cases"


def evaluate(text: str, state_input: Any = None, **scope: Any) -> Any:
    return parse_intrinsic(text).evaluate(Scope(input=state_input, context={}, **scope))


def failure(text: str, state_input: Any = None) -> StatesError:
    with pytest.raises(StatesError) as caught:
        evaluate(text, state_input)
    return caught.value


# --------------------------------------------------------------------------- parsing


def test_all_eighteen_functions_are_known() -> None:
    assert len(KNOWN_FUNCTIONS) == 18
    assert KNOWN_FUNCTIONS["States.UUID"] == (0, 0)
    assert KNOWN_FUNCTIONS["States.MathRandom"] == (2, 3)


@pytest.mark.parametrize(
    "text",
    [
        "States.NoSuchFunction(1)",
        "States.ArrayLength()",
        "States.ArrayLength($.a, $.b)",
        "States.UUID(1)",
        "States.Format('x'",
        "States.Format('unterminated)",
        "States.Array(1) trailing",
        "States.Array(nonsense)",
        "States.JsonMerge($.a, $.b, true)",
        "States.Array($.a[)",
    ],
)
def test_bad_calls_fail_at_parse_time(text: str) -> None:
    with pytest.raises(IntrinsicSyntaxError):
        parse_intrinsic(text)


def test_is_intrinsic_tells_calls_from_paths() -> None:
    assert is_intrinsic("States.Array(1)")
    assert not is_intrinsic("$.States")
    assert not is_intrinsic(3)


def test_literal_arguments() -> None:
    assert evaluate("States.Array('a', 1, -2.5, true, false, null)") == [
        "a",
        1,
        -2.5,
        True,
        False,
        None,
    ]


def test_path_arguments_read_input_context_and_variables() -> None:
    scope: dict[str, Any] = {
        "context": {"Execution": {"Name": "run-1"}},
        "variables": {"v": {"x": [7]}},
    }
    result = parse_intrinsic("States.Array($.a, $$.Execution.Name, $v.x[0])").evaluate(
        Scope(input={"a": 1}, **scope)
    )
    assert result == [1, "run-1", 7]


def test_path_argument_with_comma_and_parenthesis_inside_brackets() -> None:
    data = {"a,b": 1, "items": [{"x": 1}, {"x": 2}]}
    assert evaluate("States.Array($['a,b'], $.items[?(@.x > 1)])", data) == [1, [{"x": 2}]]


# --------------------------------------------------------------------------- behaviour


def test_format_escapes_and_java_rendering() -> None:
    text = r"States.Format('\{\} {} \'q\' {} {}', $.o, $.n, $.s)"
    assert (
        evaluate(text, {"o": {"a": 1, "b": [None, True]}, "n": 1.5, "s": "x"})
        == "{} {a=1, b=[null, true]} 'q' 1.5 x"
    )


def test_format_with_wrong_number_of_arguments_fails() -> None:
    assert failure("States.Format('{} {}', 1)").error == "States.IntrinsicFailure"


def test_string_to_json_blank_is_null_and_invalid_fails() -> None:
    assert evaluate("States.StringToJson('  ')") is None
    assert evaluate("States.StringToJson($.s)", {"s": '{"a": [1]}'}) == {"a": [1]}
    assert failure("States.StringToJson('{nope')").error == "States.IntrinsicFailure"


def test_json_to_string_is_compact_and_keeps_key_order() -> None:
    assert evaluate("States.JsonToString($)", {"b": 1, "a": [1, "x"]}) == '{"b":1,"a":[1,"x"]}'


@pytest.mark.parametrize(
    ("a", "b", "total"),
    [(1.49, 1.5, 3), (1.5, 1.51, 4), (-1.5, -1.51, -3), (-0.5, 0.5, 1), (-2.5, 0, -2), (7, -9, -2)],
)
def test_math_add_rounds_half_up_first(a: float, b: float, total: int) -> None:
    assert evaluate("States.MathAdd($.a, $.b)", {"a": a, "b": b}) == total


def test_math_add_rejects_non_numbers() -> None:
    assert failure("States.MathAdd('1', 2)").error == "States.IntrinsicFailure"
    assert failure("States.MathAdd(true, 2)").error == "States.IntrinsicFailure"


def test_math_random_is_deterministic_and_in_range() -> None:
    first = evaluate("States.MathRandom(1, 10)", entropy=Entropy("exec-1:5"))
    again = evaluate("States.MathRandom(1, 10)", entropy=Entropy("exec-1:5"))
    assert first == again and 1 <= first < 10
    seeded = {evaluate("States.MathRandom(0, 1000, 7)", entropy=Entropy(str(i))) for i in range(3)}
    assert len(seeded) == 1


def test_uuid_comes_from_the_scope_entropy() -> None:
    value = evaluate("States.UUID()", entropy=Entropy("exec-1:2"))
    assert value == evaluate("States.UUID()", entropy=Entropy("exec-1:2"))
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value
    )


def test_array_functions() -> None:
    assert evaluate("States.ArrayPartition(States.Array(1,2,3,4,5), 2)") == [[1, 2], [3, 4], [5]]
    assert evaluate("States.ArrayContains($.a, 1)", {"a": [True, 1.0]}) is True
    assert evaluate("States.ArrayContains($.a, 1)", {"a": [True]}) is False
    assert evaluate("States.ArrayRange(10, 1, -3)") == [10, 7, 4, 1]
    assert evaluate("States.ArrayGetItem(States.Array('a','b'), 1)") == "b"
    assert evaluate("States.ArrayUnique($.a)", {"a": [1, 1.0, True, {"x": 1}, {"x": 1}]}) == [
        1,
        True,
        {"x": 1},
    ]
    assert evaluate("States.ArrayLength(States.Array())") == 0


@pytest.mark.parametrize(
    "text",
    [
        "States.ArrayPartition(States.Array(1), 0)",
        "States.ArrayRange(0, 5000, 1)",
        "States.ArrayRange(0, 5, 0)",
        "States.ArrayGetItem(States.Array(1), 1)",
        "States.ArrayLength('abc')",
        "States.Hash('x', 'SHA-3')",
        "States.Base64Decode('***')",
        "States.JsonMerge(States.Array(), States.StringToJson('{}'), false)",
        "States.MathRandom(5, 5)",
    ],
)
def test_edge_failures_are_intrinsic_failures(text: str) -> None:
    assert failure(text).error == "States.IntrinsicFailure"


def test_base64_hash_split_and_merge() -> None:
    assert evaluate("States.Base64Encode('héllo')") == "aMOpbGxv"
    assert evaluate("States.Base64Decode('aMOpbGxv')") == "héllo"
    assert (
        evaluate("States.Hash('input data', 'SHA-1')") == "aaff4a450a104cd177d28d18d74485e8cae074b7"
    )
    assert evaluate("States.StringSplit('a-b+c--', '-+')") == ["a", "b", "c"]
    merged = evaluate(
        "States.JsonMerge($.a, $.b, false)", {"a": {"x": {"p": 1}, "y": 1}, "b": {"x": {"q": 2}}}
    )
    assert merged == {"x": {"q": 2}, "y": 1}


def test_missing_path_argument_raises_path_not_found() -> None:
    error = failure("States.Array($.nope)", {})
    assert error.error == "States.Runtime"
    assert error.cause == "Invalid path '$.nope' : No results for path: $['nope']"


# --------------------------------------------------------------------------- conformance


def _context(case: dict[str, Any], state: str) -> dict[str, Any]:
    return {
        "Execution": {
            "Id": "arn:aws:states:us-east-1:111111111111:execution:sm-name:exec-name",
            "Input": case["input"],
            "Name": "exec-name",
            "RoleArn": "arn:aws:iam::111111111111:role/role",
            "StartTime": "2024-01-01T00:00:00.000Z",
        },
        "StateMachine": {
            "Id": "arn:aws:states:us-east-1:111111111111:stateMachine:sm-name",
            "Name": "sm-name",
        },
        "State": {"Name": state, "EnteredTime": "2024-01-01T00:00:00.000Z", "RetryCount": 0},
    }


def _path_field(state: dict[str, Any], name: str) -> Any:
    """The compiled path of an optional field: ``$`` when absent, None when null."""
    if name not in state:
        return compile_path("$")
    return None if state[name] is None else compile_path(state[name])


def _run_state(case: dict[str, Any], name: str, state: dict[str, Any], value: Any) -> Any:
    context = _context(case, name)
    kind = state["Type"]
    if kind == "Fail":
        error, cause = state.get("Error"), state.get("Cause")
        for field in ("ErrorPath", "CausePath"):
            if field in state:
                found = select(
                    compile_path(state[field]), Scope(input=value, context=context), field
                )
                error, cause = (found, cause) if field == "ErrorPath" else (error, found)
        raise StatesError(error or "", cause, prefixed=False)
    if kind == "Task":
        for field in ("TimeoutSecondsPath", "HeartbeatSecondsPath"):
            if field in state:
                select(compile_path(state[field]), Scope(input=value, context=context), field)
        pytest.skip("a Task that does not fail on its paths needs a real task")
    effective = select(
        _path_field(state, "InputPath"), Scope(input=value, context=context), "InputPath"
    )
    if "Parameters" in state:
        effective = compile_template(state["Parameters"]).render(
            Scope(input=effective, context=context)
        )
    result = state.get("Result", effective)
    output = apply_result_path(_path_field(state, "ResultPath"), value, result)
    return select(
        _path_field(state, "OutputPath"), Scope(input=output, context=context), "OutputPath"
    )


def run_pass_chain(case: dict[str, Any]) -> dict[str, Any]:
    """Run a definition made of Pass (and failing Fail/Task) states; AWS-shaped result."""
    definition = case["definition"]
    name, value, event_id = definition["StartAt"], case["input"], 2
    while True:
        state = definition["States"][name]
        try:
            value = _run_state(case, name, state, value)
        except StatesError as failed:
            cause = failed.cause
            if failed.prefixed:
                cause = (
                    f"An error occurred while executing the state '{name}' "
                    f"(entered at the event id #{event_id}). {cause}"
                )
            return {"status": "FAILED", "error": failed.error, "cause": cause}
        if state.get("End") or "Next" not in state:
            return {"status": "SUCCEEDED", "output": value}
        name, event_id = state["Next"], event_id + 2


def _blank_volatile(case: dict[str, Any], actual: Any, expected: Any) -> tuple[Any, Any]:
    for entry in case.get("volatile", []):
        if not entry.startswith("$"):
            continue
        path = compile_path(entry)
        assert path.find(Scope(input=actual, context={})) is not MISSING, (
            f"volatile {entry} missing"
        )
        actual = apply_result_path(path, actual, None)
        expected = apply_result_path(path, expected, None)
    return actual, expected


def check_case(case: dict[str, Any]) -> None:
    """Assert that the harness reproduces the recorded AWS result."""
    expected = case["expected"]
    actual = run_pass_chain(case)
    assert actual["status"] == expected["status"], actual
    if expected["status"] == "SUCCEEDED":
        got, want = _blank_volatile(case, actual["output"], expected["output"])
        assert json_equal(got, want), (got, want)
        return
    assert actual["error"] == expected.get("error")
    pattern = case.get("volatile_patterns", {}).get("cause")
    if pattern is not None:
        assert re.fullmatch(pattern, actual["cause"]), actual["cause"]
    elif "cause" not in case.get("volatile", []):
        assert actual["cause"] == expected.get("cause")


def _is_jsonpath_case(case: dict[str, Any]) -> bool:
    states = case["definition"]["States"].values()
    return case["definition"].get("QueryLanguage", "JSONPath") == "JSONPath" and all(
        s["Type"] in ("Pass", "Fail", "Task") and s.get("QueryLanguage", "JSONPath") == "JSONPath"
        for s in states
    )


def load_group(group: str) -> list[Any]:
    cases = [json.loads(path.read_text()) for path in sorted((CASES / group).glob("*.json"))]
    return [pytest.param(case, id=case["name"]) for case in cases if _is_jsonpath_case(case)]


@pytest.mark.parametrize("case", load_group("intrinsic_functions"))
def test_conformance_intrinsic_functions(case: dict[str, Any]) -> None:
    check_case(case)


@pytest.mark.parametrize("case", load_group("input_output"))
def test_conformance_input_output(case: dict[str, Any]) -> None:
    check_case(case)
