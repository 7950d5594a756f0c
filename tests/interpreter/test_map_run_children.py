"""advance() for a Distributed Map's children: a Map Run whose children are executions of
their own (their own history from ExecutionStarted, ``$$.Execution`` their own), while the
parent's history keeps the Map Run's events only."""

from __future__ import annotations

from typing import Any

from statemachine.interpreter.branches import run_uuid
from statemachine.interpreter.commands import Finish, StartChildren
from statemachine.interpreter.step import advance, new_child, new_execution, run_child_id
from statemachine.language.model import compile_machine

NOW = 1_700_000_000_000
MACHINE = compile_machine({"StartAt": "M", "States": {"M": {
    "Type": "Map", "Label": "Fan", "ItemsPath": "$.items",
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                      "StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {
                          "id.$": "$$.Execution.Id", "input.$": "$$.Execution.Input",
                          "machine.$": "$$.StateMachine.Name", "index.$": "$$.Map.Item.Index"},
                          "End": True}}},
    "End": True}}})


def _started() -> tuple[Any, StartChildren]:
    parent = new_execution(execution_id="root", name="run1", machine="m", machine_version=1,
                           input={"items": [10, 20]}, now=NOW, salt="salt")
    d = advance(MACHINE, parent, {"type": "Started"}, now=NOW)
    [start] = [c for c in d.commands if isinstance(c, StartChildren)]
    assert [e["type"] for e in d.history] == ["ExecutionStarted", "MapStateEntered",
                                              "MapStateStarted", "MapRunStarted"]
    return d, start


def test_a_map_run_names_its_group_and_its_children() -> None:
    d, start = _started()
    assert start.group == "r4" and d.execution["group"] == "r4"
    run = start.map_run
    assert run is not None and run["label"] == "Fan" and run["express"] is True
    arn = d.history[3]["mapRunStartedEventDetails"]["mapRunArn"]
    assert run["arn"] == arn and arn.endswith(":" + run_uuid(d.execution, "r4"))
    assert ":mapRun:m/Fan:" in arn


def test_a_child_is_an_execution_of_its_own() -> None:
    d, start = _started()
    child = new_child(d.execution, start, 1, NOW)
    assert child["id"] == "root/r4/1" and run_child_id(child["name"]) == child["id"]
    assert child["seq"] == 0 and child["root"] is None
    done = advance(MACHINE, child, {"type": "Started"}, now=NOW)
    assert [e["type"] for e in done.history] == ["ExecutionStarted", "PassStateEntered",
                                                 "PassStateExited", "ExecutionSucceeded"]
    assert [e["id"] for e in done.history] == [1, 2, 3, 4]
    assert done.execution["output"] == {
        "id": f"arn:aws:states:us-east-1:123456789012:execution:m/Fan:{child['name']}",
        "input": 20, "machine": "m/Fan", "index": 1}
    [end] = [c for c in done.commands if isinstance(c, Finish)]
    assert end.events == 0  # the parent's numbering does not move on


def test_a_stopped_parent_aborts_its_map_run() -> None:
    d, _ = _started()
    stopped = advance(MACHINE, d.execution, {"type": "StopRequested", "error": None,
                                             "cause": None}, now=NOW)
    assert [e["type"] for e in stopped.history] == ["MapRunAborted", "ExecutionAborted"]
