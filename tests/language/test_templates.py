"""JSONPath payload templates (Parameters, ResultSelector, ItemSelector, Assign)."""

from __future__ import annotations

from typing import Any

import pytest

from statemachine.language.intrinsics import IntrinsicSyntaxError
from statemachine.language.path_syntax import PathSyntaxError
from statemachine.language.scope import Scope, StatesError
from statemachine.language.templates import compile_template


def render(template: Any, state_input: Any, **scope: Any) -> Any:
    context = scope.pop("context", {"Execution": {"Name": "exec-1"}})
    return compile_template(template).render(Scope(input=state_input, context=context, **scope))


def test_dollar_keys_are_evaluated_and_renamed() -> None:
    template = {
        "Literal": "$.not_a_path",
        "FromInput.$": "$.a",
        "FromContext.$": "$$.Execution.Name",
        "FromVariable.$": "$x.y",
        "Call.$": "States.Format('{}-{}', $.a, $x.y)",
        "Nested": {"List": [1, {"Deep.$": "$.a"}, "two"]},
    }
    output = render(template, {"a": 1}, variables={"x": {"y": "v"}})
    assert output == {
        "Literal": "$.not_a_path",
        "FromInput": 1,
        "FromContext": "exec-1",
        "FromVariable": "v",
        "Call": "1-v",
        "Nested": {"List": [1, {"Deep": 1}, "two"]},
    }
    assert list(output) == ["Literal", "FromInput", "FromContext", "FromVariable", "Call", "Nested"]


def test_scalars_and_arrays_are_templates_too() -> None:
    assert render("plain", {}) == "plain"
    assert render([{"v.$": "$"}, None], 3) == [{"v": 3}, None]


def test_every_render_builds_new_containers() -> None:
    template = compile_template({"fixed": {"list": [1, 2]}, "v.$": "$.v"})
    scope = Scope(input={"v": 1}, context={})
    first = template.render(scope)
    first["fixed"]["list"].append(3)
    second = template.render(scope)
    assert second == {"fixed": {"list": [1, 2]}, "v": 1}
    assert template.source == {"fixed": {"list": [1, 2]}, "v.$": "$.v"}


def test_indefinite_paths_render_lists() -> None:
    assert render({"items.$": "$.items[*].id"}, {"items": [{"id": 1}, {"id": 2}, {}]}) == {
        "items": [1, 2]
    }
    assert render({"items.$": "$.items[*].id"}, {}) == {"items": []}


def test_missing_path_uses_aws_wording_with_the_input() -> None:
    with pytest.raises(StatesError) as caught:
        render({"value.$": "$.no_such_jsonpath"}, {"int-literal": 0})
    assert caught.value.error == "States.Runtime"
    assert caught.value.cause == (
        "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' "
        "could not be found in the input '{\"int-literal\":0}'"
    )


def test_missing_path_inside_an_intrinsic_names_that_path() -> None:
    with pytest.raises(StatesError) as caught:
        render({"f.$": "States.Array($.a, $.nope)"}, {"a": 1})
    assert str(caught.value.cause).startswith(
        "The JSONPath '$.nope' specified for the field 'f.$'"
    )


def test_intrinsic_failures_keep_their_error() -> None:
    with pytest.raises(StatesError) as caught:
        render({"f.$": "States.StringToJson('{')"}, {})
    assert caught.value.error == "States.IntrinsicFailure"


def test_bracket_path_with_escaped_quotes() -> None:
    state_input = {'Test\\""Name"': 'Value"\\'}
    assert render({"value.$": '$[\'Test\\""Name"\']'}, state_input) == {"value": 'Value"\\'}


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ({"a.$": "not a path"}, PathSyntaxError),
        ({"a.$": "$.b["}, PathSyntaxError),
        ({"a.$": 3}, PathSyntaxError),
        ({"outer": [{"a.$": "States.Nope()"}]}, IntrinsicSyntaxError),
        ({"a.$": "States.ArrayLength()"}, IntrinsicSyntaxError),
    ],
)
def test_bad_templates_fail_at_compile_time(template: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        compile_template(template)
