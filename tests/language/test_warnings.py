"""Warnings (AWS's WARNING diagnostics): valid definitions that most likely do not do what
their author meant."""

from __future__ import annotations

from typing import Any

from statemachine.language.validate import validate
from statemachine.language.warnings import warnings


def _codes(definition: dict[str, Any]) -> list[tuple[str, str]]:
    assert validate(definition) == []  # warnings are about valid definitions
    return [(d.code, d.pointer) for d in warnings(definition)]


def test_a_template_field_without_its_dollar() -> None:
    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Pass", "End": True,
        "Parameters": {"id": "$.order.id", "ok.$": "$.order", "literal": "cash",
                       "nested": {"when": "$$.Execution.StartTime"},
                       "list": [{"calc": "States.MathAdd(1, 2)"}]}}}}
    assert _codes(definition) == [
        ("NO_DOLLAR", "/States/T/Parameters/id"),
        ("NO_DOLLAR", "/States/T/Parameters/nested/when"),
        ("NO_DOLLAR", "/States/T/Parameters/list/0/calc"),
    ]


def test_a_literal_field_given_a_path_and_a_static_pass_result() -> None:
    definition = {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Result": {"copy": "$.input"}, "Next": "F"},
        "F": {"Type": "Fail", "Error": "$.error", "Cause": "it broke"}}}
    assert _codes(definition) == [("PASS_RESULT_IS_STATIC", "/States/P/Result"),
                                  ("NO_PATH", "/States/F/Error")]


def test_branches_and_map_processors_are_looked_at_and_jsonata_is_not() -> None:
    def inner(name: str) -> dict[str, Any]:
        return {"StartAt": name, "States": {name: {"Type": "Pass", "End": True,
                                                   "Parameters": {"x": "$.y"}}}}
    definition = {"StartAt": "Par", "States": {
        "Par": {"Type": "Parallel", "Branches": [inner("I")], "Next": "Map"},
        "Map": {"Type": "Map", "ItemProcessor": inner("J"), "Next": "Late"},
        "Late": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "$.x", "End": True}}}
    assert _codes(definition) == [("NO_DOLLAR", "/States/Par/Branches/0/States/I/Parameters/x"),
                                  ("NO_DOLLAR", "/States/Map/ItemProcessor/States/J/Parameters/x")]
    assert warnings({"States": "not a machine"}) == []


def test_a_sync_task_of_another_service_is_named_and_nested_executions_are_not() -> None:
    def task(resource: str, then: str | None) -> dict[str, Any]:
        return {"Type": "Task", "Resource": resource, **({"Next": then} if then else {"End": True})}

    definition = {"StartAt": "Glue", "QueryLanguage": "JSONata", "States": {
        "Glue": task("arn:aws:states:::glue:startJobRun.sync", "Child"),
        "Child": task("arn:aws:states:::states:startExecution.sync:2", "Sdk"),
        "Sdk": task("arn:aws:states:::aws-sdk:s3:getObject", None)}}
    found = warnings(definition)
    assert [(d.code, d.pointer) for d in found] == [("UNSUPPORTED_SYNC", "/States/Glue/Resource")]
    assert "'arn:aws:states:::glue:startJobRun.sync'" in found[0].message
