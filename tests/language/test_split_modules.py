"""Seams left by splitting paths.py, validate.py and jsonata.py into smaller modules.

The old import paths must keep giving the very same objects (a second
``PathSyntaxError`` class would slip past ``except``), and the checks that were
merged while moving (the validator's two timestamp checks, the filter regex flags)
must still say what they said.
"""

from __future__ import annotations

from typing import Any

import pytest

from statemachine.language import java_json, jsonata, path_syntax, paths
from statemachine.language.scope import Scope
from statemachine.language.validate import validate


def test_old_import_paths_give_the_moved_objects() -> None:
    assert paths.PathSyntaxError is path_syntax.PathSyntaxError
    for name in ("compact_json", "java_string", "json_equal"):
        assert getattr(paths, name) is getattr(java_json, name)
    assert set(paths.__all__) <= set(dir(paths))
    assert set(jsonata.__all__) <= set(dir(jsonata))


def test_a_bad_filter_deep_in_the_grammar_is_a_paths_syntax_error() -> None:
    with pytest.raises(paths.PathSyntaxError, match="unterminated regex"):
        paths.compile_path("$.a[?(@.b =~ /x)]")
    with pytest.raises(ValueError, match="expected a value"):
        paths.compile_path("$.a[?(@.b == )]")


@pytest.mark.parametrize(
    ("regex", "expected"),
    [
        ("/line1.line2/", []),
        ("/line1.line2/s", ["line1\nline2"]),
        ("/LINE1.LINE2/is", ["line1\nline2"]),
        ("/line1 . line2/xs", ["line1\nline2"]),
    ],
)
def test_filter_regex_flags(regex: str, expected: list[str]) -> None:
    path = paths.compile_path(f"$.items[?(@.text =~ {regex})].text")
    scope = Scope(input={"items": [{"text": "line1\nline2"}, {"text": "other"}]}, context={})
    assert path.get(scope) == expected


def _choice(rule: dict[str, Any], **top: Any) -> dict[str, Any]:
    states = {
        "C": {"Type": "Choice", "Choices": [{**rule, "Next": "D"}], "Default": "D"},
        "D": {"Type": "Succeed"},
    }
    return {"StartAt": "C", "States": states, **top}


def test_choice_timestamp_literal_must_be_rfc3339() -> None:
    definition = _choice({"Variable": "$.t", "TimestampEquals": "tomorrow"})
    [diagnostic] = validate(definition)
    assert diagnostic.pointer == "/States/C/Choices/0/TimestampEquals"
    assert diagnostic.code == "SCHEMA_VALIDATION_FAILED"
    assert diagnostic.message == (
        "'TimestampEquals' must be an RFC 3339 timestamp such as "
        "'2026-01-31T12:00:00Z' (got 'tomorrow')"
    )


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.t", "TimestampEquals": "2026-01-31T12:00:00+01:00"},
        {"Variable": "$.t", "TimestampLessThan": "${Deadline}"},
        {"Variable": "$.t", "TimestampEqualsPath": "$.other"},
    ],
)
def test_choice_timestamp_operands_that_validate(rule: dict[str, Any]) -> None:
    assert validate(_choice(rule)) == []


def _wait(stamp: str, **top: Any) -> dict[str, Any]:
    return {"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": stamp, "End": True}},
            **top}


def test_wait_timestamp_expression_only_in_jsonata() -> None:
    expression = "{% $states.input.when %}"
    assert validate(_wait(expression, QueryLanguage="JSONata")) == []
    [diagnostic] = validate(_wait(expression))
    assert diagnostic.pointer == "/States/W/Timestamp"
    assert diagnostic.message == (
        "'Timestamp' must be an RFC 3339 timestamp such as "
        f"'2026-01-31T12:00:00Z' (got '{expression}')"
    )
    assert validate(_wait("${When}")) == []
