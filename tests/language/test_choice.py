"""Choice rules: unit tests and the whole choice_operators conformance group.

The conformance part runs each recorded case (a Choice state leading to Pass
states with a literal Result) through a few lines of evaluator written here and
compares the output with AWS's.
"""

from __future__ import annotations

import json
from pathlib import Path as FilePath
from typing import Any

import pytest

from statemachine.language.choice import compile_rule, parse_timestamp
from statemachine.language.java_json import json_equal
from statemachine.language.path_syntax import PathSyntaxError
from statemachine.language.scope import Scope, StatesError

CASES = FilePath(__file__).resolve().parents[1] / "conformance" / "cases" / "choice_operators"


def check(rule: dict[str, Any], state_input: Any, variables: dict[str, Any] | None = None) -> bool:
    scope = Scope(
        input=state_input, context={"Execution": {"Name": "e"}}, variables=variables or {}
    )
    return compile_rule(rule, "JSONPath").test(scope)


# --------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("StringEquals", "abc", True),
        ("StringLessThan", "abd", True),
        ("StringGreaterThan", "abb", True),
        ("StringLessThanEquals", "abc", True),
        ("StringGreaterThanEquals", "abd", False),
        ("NumericEquals", 1, False),
    ],
)
def test_string_operators(operator: str, value: Any, expected: bool) -> None:
    assert check({"Variable": "$.v", operator: value}, {"v": "abc"}) is expected


def test_string_order_is_java_utf16_order() -> None:
    # U+1F600 is a surrogate pair (0xD83D...) in UTF-16, so it sorts before U+FF5E.
    assert check({"Variable": "$.v", "StringLessThan": "\uff5e"}, {"v": "\U0001f600"})


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("log-*.txt", "log-2024.txt", True),
        ("log-*.txt", "log-2024.csv", False),
        ("*", "", True),
        (r"a\*b", "a*b", True),
        (r"a\*b", "axxb", False),
        (r"a\\*", "a\\zz", True),
        ("a.c", "abc", False),
    ],
)
def test_string_matches_wildcards_and_escapes(pattern: str, text: str, expected: bool) -> None:
    assert check({"Variable": "$.v", "StringMatches": pattern}, {"v": text}) is expected


def test_numeric_operators_ignore_type_mismatches() -> None:
    assert check({"Variable": "$.v", "NumericEquals": 0}, {"v": 0.0})
    assert not check({"Variable": "$.v", "NumericEquals": 1}, {"v": True})
    assert not check({"Variable": "$.v", "NumericLessThan": 5}, {"v": "1"})
    assert check({"Variable": "$.v", "NumericGreaterThanEquals": 2.5}, {"v": 3})
    assert check({"Variable": "$.v", "NumericLessThanEqualsPath": "$.w"}, {"v": 3, "w": 3.0})
    assert not check({"Variable": "$.v", "NumericLessThanPath": "$.w"}, {"v": 3, "w": "4"})


def test_boolean_equals_does_not_take_numbers() -> None:
    assert check({"Variable": "$.v", "BooleanEquals": False}, {"v": False})
    assert not check({"Variable": "$.v", "BooleanEquals": False}, {"v": 0})
    assert check({"Variable": "$.v", "BooleanEqualsPath": "$.w"}, {"v": True, "w": True})


def test_timestamps_compare_as_instants() -> None:
    data = {"v": "2024-01-01T01:00:00+01:00"}
    assert check({"Variable": "$.v", "TimestampEquals": "2024-01-01T00:00:00Z"}, data)
    assert check({"Variable": "$.v", "TimestampLessThan": "2024-01-01T00:00:00.000000001Z"}, data)
    assert not check({"Variable": "$.v", "TimestampGreaterThan": "not a time"}, data)
    assert not check(
        {"Variable": "$.v", "TimestampEquals": "2024-01-01T00:00:00Z"}, {"v": "2024-01-01"}
    )


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2012-10-09T19:00:55Z", True),
        ("2012-10-09T19:00:55.123456789-07:30", True),
        ("2012-10-09T19:00:55", False),
        ("2012-10-09 19:00:55Z", False),
        ("2012-13-09T19:00:55Z", False),
        ("2023-02-24", False),
        (17, False),
    ],
)
def test_parse_timestamp(text: Any, valid: bool) -> None:
    assert (parse_timestamp(text) is not None) is valid


def test_type_tests() -> None:
    assert check({"Variable": "$.v", "IsNull": True}, {"v": None})
    assert check({"Variable": "$.v", "IsNumeric": False}, {"v": True})
    assert check({"Variable": "$.v", "IsString": True}, {"v": ""})
    assert check({"Variable": "$.v", "IsBoolean": True}, {"v": False})
    assert check({"Variable": "$.v", "IsTimestamp": True}, {"v": "2012-10-09T19:00:55Z"})
    assert check({"Variable": "$.v", "IsPresent": True}, {"v": None})
    assert check({"Variable": "$.v", "IsPresent": False}, {})


def test_missing_variable_fails_like_aws() -> None:
    with pytest.raises(StatesError) as caught:
        check({"Variable": "$.missing", "NumericEquals": 1}, {})
    assert caught.value.error == "States.Runtime"
    assert caught.value.cause == (
        "Invalid path '$.missing': The choice state's condition path references an invalid value."
    )
    with pytest.raises(StatesError, match=r"\$\.other"):
        check({"Variable": "$.v", "StringEqualsPath": "$.other"}, {"v": "x"})


def test_and_or_not_nest() -> None:
    rule = {
        "And": [
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}},
            {
                "Or": [
                    {"Variable": "$.value", "NumericLessThan": 0},
                    {"Variable": "$.value", "NumericGreaterThan": 20},
                ]
            },
        ],
        "Next": "Somewhere",
    }
    assert check(rule, {"type": "Public", "value": 22})
    assert not check(rule, {"type": "Private", "value": 22})
    assert not check(rule, {"type": "Public", "value": 5})


def test_variables_and_context_can_be_compared() -> None:
    assert check({"Variable": "$limit", "NumericGreaterThanPath": "$.n"}, {"n": 1}, {"limit": 2})
    assert check({"Variable": "$$.Execution.Name", "StringEquals": "e"}, {})


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.v"},
        {"Variable": "$.v", "StringEquals": "a", "NumericEquals": 1},
        {"Variable": "$.v", "NoSuchOperator": 1},
        {"Variable": "$.v", "IsNull": "yes"},
        {"And": []},
        {"Variable": "nope", "IsNull": True},
        {"StringEquals": "a"},
    ],
)
def test_malformed_rules_fail_at_compile_time(rule: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        compile_rule(rule, "JSONPath")


def test_bad_variable_path_is_a_path_syntax_error() -> None:
    with pytest.raises(PathSyntaxError):
        compile_rule({"Variable": "$.a[", "IsNull": True}, "JSONPath")


def test_condition_is_delegated_to_jsonata() -> None:
    pytest.importorskip("statemachine.language.jsonata")
    rule = compile_rule({"Condition": "{% $states.input.a > 1 %}", "Next": "X"}, "JSONata")
    assert rule.test(Scope(input={"a": 2}, context={}))
    assert not rule.test(Scope(input={"a": 1}, context={}))


def test_jsonata_rule_without_condition_is_rejected() -> None:
    with pytest.raises(ValueError):
        compile_rule({"Variable": "$.a", "IsNull": True}, "JSONata")


# --------------------------------------------------------------------------- conformance


def run_choice_case(case: dict[str, Any]) -> Any:
    """Choice -> Pass(Result) machines: return the output of the state reached."""
    definition = case["definition"]
    name, value = definition["StartAt"], case["input"]
    scope = Scope(input=value, context={})
    while True:
        state = definition["States"][name]
        if state["Type"] == "Choice":
            rules = [(compile_rule(rule, "JSONPath"), rule["Next"]) for rule in state["Choices"]]
            name = next(
                (target for rule, target in rules if rule.test(scope)), state.get("Default")
            )
            continue
        value = state.get("Result", value)
        if state.get("End"):
            return value
        name = state["Next"]


def _cases() -> list[Any]:
    return [
        pytest.param(json.loads(p.read_text()), id=p.stem) for p in sorted(CASES.glob("*.json"))
    ]


@pytest.mark.parametrize("case", _cases())
def test_conformance_choice_operators(case: dict[str, Any]) -> None:
    assert case["expected"]["status"] == "SUCCEEDED"
    assert json_equal(run_choice_case(case), case["expected"]["output"])
