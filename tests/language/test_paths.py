"""JSONPath: parsing, evaluation, AWS/Jayway failure texts, select and ResultPath."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from statemachine.language.java_json import compact_json, java_string, json_equal
from statemachine.language.path_syntax import PathSyntaxError
from statemachine.language.paths import PathNotFound, apply_result_path, compile_path, select
from statemachine.language.scope import MISSING, Scope, StatesError

DATA: dict[str, Any] = {
    "a": {"b": [1, 2, {"c": 3}], "with space": "s", "it's": 4},
    "store": {
        "book": [
            {"title": "A", "price": 8, "tags": ["x"]},
            {"title": "B", "price": 12.5, "isbn": "1"},
            {"title": "C", "price": 20, "isbn": None},
        ],
        "bike": {"price": 19.95},
    },
    "n": None,
}


def get(text: str, data: Any = DATA, **scope: Any) -> Any:
    return compile_path(text).get(Scope(input=data, context=scope.pop("context", {}), **scope))


def not_found(text: str, data: Any = DATA) -> PathNotFound:
    with pytest.raises(PathNotFound) as caught:
        get(text, data)
    return caught.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$", DATA),
        ("$.a.b[2].c", 3),
        ("$.a.b[-1]", {"c": 3}),
        ("$['a']['with space']", "s"),
        ('$["a"]["b"][0]', 1),
        (r"$.a['it\'s']", 4),
        ("$.n", None),
        ("$.store.book[1].isbn", "1"),
    ],
)
def test_definite_paths_return_the_value(text: str, expected: Any) -> None:
    path = compile_path(text)
    assert path.is_reference
    assert get(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.a.b[*]", [1, 2, {"c": 3}]),
        ("$.store.book[*].title", ["A", "B", "C"]),
        ("$.store.book.*.price", [8, 12.5, 20]),
        ("$.a.b[1:]", [2, {"c": 3}]),
        ("$.a.b[:-1]", [1, 2]),
        ("$.a.b[::2]", [1, {"c": 3}]),
        ("$.a.b[0,2]", [1, {"c": 3}]),
        ("$.store.book[0]['title','price']", ["A", 8]),
        ("$..price", [8, 12.5, 20, 19.95]),
        ("$..book[0].title", ["A"]),
        ("$.store.book[?(@.price < 10)].title", ["A"]),
        ("$.store.book[?(@.price >= 12.5 && @.price != 20)].title", ["B"]),
        ("$.store.book[?(@.isbn)].title", ["B", "C"]),
        ("$.store.book[?(!(@.isbn))].title", ["A"]),
        ("$.store.book[?(@.title == 'C' || @.price == 8)].title", ["A", "C"]),
        ("$.store.book[?(@.title =~ /[ab]/i)].title", ["A", "B"]),
        ("$.store.book[?(@.title in ['A', 'C'])].title", ["A", "C"]),
        ("$.store.book[?(@.tags size 1)].title", ["A"]),
        ("$.store.book[?(@.price > $.store.bike.price)].title", ["C"]),
        ("$.missing[*]", []),
        ("$.missing[1:].x", []),
        ("$[*]", list(DATA.values())),
    ],
)
def test_indefinite_paths_return_every_match(text: str, expected: Any) -> None:
    assert not compile_path(text).is_reference
    assert get(text) == expected


def test_indefinite_path_over_empty_input_is_empty_list() -> None:
    assert get("$.items[*].itemValue", {}) == []


def test_context_and_variable_roots() -> None:
    context = {"Execution": {"Input": {"k": [5]}}, "Map": {"Item": {"Index": 0}}}
    assert get("$$.Execution.Input.k[0]", {}, context=context) == 5
    assert get("$$", {}, context=context) is context
    assert get("$items[1].x", {}, variables={"items": [{}, {"x": "y"}]}) == "y"
    assert get("$flag", {}, variables={"flag": False}) is False
    assert compile_path("$$.Map.Item.Index").root == "context"
    assert compile_path("$v_1.a").variable == "v_1"


def test_missing_variable_is_not_found() -> None:
    with pytest.raises(PathNotFound):
        get("$nope", {}, variables={})


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("$.NoSuchInputPath", "No results for path: $['NoSuchInputPath']"),
        ("$.no.such.result.path", "Missing property in path $['no']"),
        ("$.a.b[7]", "No results for path: $['a']['b'][7]"),
        ("$.n[0]", "The path $['n'] is null"),
    ],
)
def test_failures_use_jayway_words(text: str, detail: str) -> None:
    error = not_found(text)
    assert error.detail == detail
    assert error.error == "States.Runtime"
    assert error.cause == f"Invalid path '{text}' : {detail}"


def test_property_of_a_non_object_fails() -> None:
    assert (
        "Expected to find an object with property ['c'] in path $['a']['b']"
        in not_found("$.a.b.c").detail
    )


def test_normalised_form() -> None:
    assert compile_path("$.a['b c'][0]").normalised == "$['a']['b c'][0]"
    assert not_found("$.x").normalised == "$['x']"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a.b",
        "$.",
        "$..",
        "$.a[",
        "$.a[x]",
        "$.a['x",
        "$.a[1:2:3:4]",
        "$.a[::0]",
        "$.a.length()",
        "$[?(@.a ==)]",
        "$.a b]",
        5,
    ],
)
def test_syntax_errors(text: Any) -> None:
    with pytest.raises(PathSyntaxError):
        compile_path(text)


def test_syntax_error_says_where() -> None:
    with pytest.raises(PathSyntaxError, match=r"invalid JSONPath '\$\.a\[x\]'.*position"):
        compile_path("$.a[x]")


def test_a_bad_filter_deep_in_the_grammar_is_a_path_syntax_error() -> None:
    with pytest.raises(PathSyntaxError, match="unterminated regex"):
        compile_path("$.a[?(@.b =~ /x)]")
    with pytest.raises(ValueError, match="expected a value"):
        compile_path("$.a[?(@.b == )]")


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
    path = compile_path(f"$.items[?(@.text =~ {regex})].text")
    scope = Scope(input={"items": [{"text": "line1\nline2"}, {"text": "other"}]}, context={})
    assert path.get(scope) == expected


def test_find_returns_missing_instead_of_raising() -> None:
    scope = Scope(input=DATA, context={})
    assert compile_path("$.nope").find(scope) is MISSING
    assert compile_path("$.n").find(scope) is None


# --------------------------------------------------------------------------- select


def test_select_null_path_gives_empty_object() -> None:
    assert select(None, Scope(input=DATA, context={}), "InputPath") == {}


def test_select_missing_value_uses_invalid_path_wording() -> None:
    with pytest.raises(StatesError) as caught:
        select(compile_path("$.NoSuchOutputPath"), Scope(input={"x": 1}, context={}), "OutputPath")
    assert (
        caught.value.cause
        == "Invalid path '$.NoSuchOutputPath' : No results for path: $['NoSuchOutputPath']"
    )


def test_select_fail_fields_quote_the_input() -> None:
    with pytest.raises(StatesError) as caught:
        select(compile_path("$.ErrorX"), Scope(input={"Error": "e"}, context={}), "ErrorPath")
    assert caught.value.error == "States.Runtime"
    assert caught.value.cause == (
        "The JSONPath '$.ErrorX' specified for the field 'ErrorPath' "
        'could not be found in the input \'{"Error":"e"}\''
    )


# --------------------------------------------------------------------------- ResultPath


def test_result_path_null_keeps_input_and_dollar_replaces() -> None:
    assert apply_result_path(None, {"a": 1}, {"r": 2}) == {"a": 1}
    assert apply_result_path(compile_path("$"), {"a": 1}, {"r": 2}) == {"r": 2}


def test_result_path_creates_nested_keys_in_a_copy() -> None:
    state_input = {"a": {"keep": 1}, "other": [1]}
    before = copy.deepcopy(state_input)
    output = apply_result_path(compile_path("$.a.b.c"), state_input, "r")
    assert output == {"a": {"keep": 1, "b": {"c": "r"}}, "other": [1]}
    assert state_input == before
    assert apply_result_path(compile_path("$.a.keep"), state_input, 2) == {
        "a": {"keep": 2},
        "other": [1],
    }
    assert apply_result_path(compile_path("$.other[0]"), state_input, 9)["other"] == [9]
    assert state_input == before


@pytest.mark.parametrize(
    ("state_input", "path"), [("text", "$.a"), ({"a": 1}, "$.a.b"), ({"l": []}, "$.l[0]")]
)
def test_result_path_into_a_non_object_fails(state_input: Any, path: str) -> None:
    with pytest.raises(StatesError) as caught:
        apply_result_path(compile_path(path), state_input, 1)
    assert caught.value.error == "States.ResultPathMatchFailure"
    assert (
        caught.value.cause
        == f"Unable to apply ReferencePath {path} to input {compact_json(state_input)}"
    )


def test_result_path_must_be_a_reference_path() -> None:
    with pytest.raises(PathSyntaxError):
        apply_result_path(compile_path("$.a[*]"), {}, 1)


# --------------------------------------------------------------------------- value helpers


def test_json_equal_separates_booleans_from_numbers() -> None:
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal(True, 1)
    assert not json_equal([0], [False])
    assert not json_equal({"a": 1}, {"b": 1})


def test_java_string_and_compact_json() -> None:
    assert java_string({"a": [None, True, "x"], "b": {}}) == "{a=[null, true, x], b={}}"
    assert compact_json({"é": [1, 2.5]}) == '{"é":[1,2.5]}'
