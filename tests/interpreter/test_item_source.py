"""advance() for a Distributed Map with an ItemReader: the read asked of the runtime as a
task, the items it answers batched into children, a failed read failing the Map Run."""

from __future__ import annotations

from typing import Any

from statemachine.interpreter.commands import (
    ExtendChildren,
    InvokeTask,
    StartChildren,
    StopChildren,
)
from statemachine.interpreter.step import advance, new_execution
from statemachine.language.items import PAGE_ITEMS, READ_ITEMS
from statemachine.language.model import compile_machine

NOW = 1_700_000_000_000


def definition(**fields: Any) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
        "Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN",
                                        "CSVHeaders": ["a"], "CSVDelimiter": "TAB",
                                        "MaxItems": "{% $states.input.most %}"},
                       "Arguments": {"Bucket": "{% $states.input.bucket %}", "Key": "k.csv"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "P",
                          "States": {"P": {"Type": "Pass", "End": True}}},
        **fields, "End": True}}}


def started(machine: Any, input: Any) -> tuple[Any, InvokeTask]:
    ex = new_execution(execution_id="e1", name="e1", machine="m", machine_version=1,
                       input=input, now=NOW, salt="salt")
    d = advance(machine, ex, {"type": "Started"}, now=NOW)
    [read] = [c for c in d.commands if isinstance(c, InvokeTask)]
    return d.execution, read


def test_the_read_is_a_task_with_every_field_evaluated() -> None:
    ex, read = started(compile_machine(definition()), {"bucket": "b", "most": 5})
    assert read.resource == READ_ITEMS and read.state == "M"
    assert read.input == {
        "Resource": "arn:aws:states:::s3:getObject",
        "Arguments": {"Bucket": "b", "Key": "k.csv"},
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["a"],
                         "CSVDelimiter": "TAB", "MaxItems": 5},
        "Page": {"Size": PAGE_ITEMS, "Skip": 0},  # the first page
    }
    assert ex["waiting"] == "task" and ex["token"] == read.token


def test_pages_are_a_multiple_of_a_literal_batch_size() -> None:
    _, read = started(compile_machine(definition(ItemBatcher={"MaxItemsPerBatch": 3})),
                      {"bucket": "b", "most": 5})
    assert read.input["Page"]["Size"] == 10_002 == -(-PAGE_ITEMS // 3) * 3


def test_pages_grow_the_open_group_until_the_last() -> None:
    """The first page opens the group with more to come; a PageWanted reads the next page
    (while the children run), whose children join under the next indexes with their items'
    indexes going on; the last page closes the group; then the Map ends as usual."""
    m = compile_machine(definition(
        ItemSelector={"i": "{% $states.context.Map.Item.Index %}",
                      "v": "{% $states.context.Map.Item.Value.a %}"}))
    ex, read = started(m, {"bucket": "b", "most": 0})
    d = advance(m, ex, {"type": "TaskSucceeded", "token": read.token,
                        "output": {"Items": [{"a": "x"}, {"a": "y"}], "More": True}}, now=NOW)
    [opened] = [c for c in d.commands if isinstance(c, StartChildren)]
    assert opened.more and opened.inputs == [{"i": 0, "v": "x"}, {"i": 1, "v": "y"}]
    ex = d.execution
    assert ex["waiting"] == "children" and ex["page"] == {"skip": 2, "inputs": 2, "token": None}
    group = ex["group"]

    d = advance(m, ex, {"type": "PageWanted", "group": group}, now=NOW)
    [second] = [c for c in d.commands if isinstance(c, InvokeTask)]
    assert second.resource == READ_ITEMS and second.input["Page"] == {"Size": PAGE_ITEMS, "Skip": 2}
    ex = d.execution
    assert ex["waiting"] == "children" and ex["page"]["token"] == second.token
    assert d.history == []  # reading a page leaves no event, as the first read
    again = advance(m, ex, {"type": "PageWanted", "group": group}, now=NOW)
    assert again.execution is ex  # asked already: a second PageWanted changes nothing

    d = advance(m, ex, {"type": "TaskSucceeded", "token": second.token,
                        "output": {"Items": [{"a": "z"}], "More": False}}, now=NOW)
    assert d.commands == [ExtendChildren(group, [{"i": 2, "v": "z"}], [{"a": "z"}], False)]
    ex = d.execution
    assert "page" not in ex and ex["waiting"] == "children" and ex["group"] == group
    outcomes = [{"status": "SUCCEEDED", "output": n, "error": None, "cause": None}
                for n in range(3)]
    d = advance(m, ex, {"type": "ChildrenFinished", "group": group, "outcomes": outcomes},
                now=NOW)
    assert d.execution["status"] == "SUCCEEDED" and d.execution["output"] == [0, 1, 2]


def test_a_later_page_that_fails_stops_the_children_and_fails_the_map_run() -> None:
    m = compile_machine(definition())
    ex, read = started(m, {"bucket": "b", "most": 0})
    ex = advance(m, ex, {"type": "TaskSucceeded", "token": read.token,
                         "output": {"Items": [{"a": "x"}], "More": True}}, now=NOW).execution
    group = ex["group"]
    ex = advance(m, ex, {"type": "PageWanted", "group": group}, now=NOW).execution
    d = advance(m, ex, {"type": "TaskFailed", "token": ex["page"]["token"],
                        "error": "States.ItemReaderFailed", "cause": "gone"}, now=NOW)
    assert StopChildren(group, "States.ItemReaderFailed", "gone") in d.commands
    assert [h["type"] for h in d.history][:2] == ["MapRunFailed", "MapStateFailed"]
    assert d.execution["status"] == "FAILED" and d.execution["cause"] == "gone"


def test_items_read_become_batches_of_children() -> None:
    m = compile_machine(definition(
        ItemSelector={"v": "{% $states.context.Map.Item.Value.a %}"},
        ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"n": "{% $states.input.most %}"}}))
    ex, read = started(m, {"bucket": "b", "most": 3})
    d = advance(m, ex, {"type": "TaskSucceeded", "token": read.token,
                        "output": [{"a": "x"}, {"a": "y"}, {"a": "z"}]}, now=NOW)
    [children] = [c for c in d.commands if isinstance(c, StartChildren)]
    assert children.inputs == [{"BatchInput": {"n": 3}, "Items": [{"v": "x"}, {"v": "y"}]},
                               {"BatchInput": {"n": 3}, "Items": [{"v": "z"}]}]
    assert children.items is None
    assert [h["type"] for h in d.history] == []  # MapStateStarted/MapRunStarted came with the read


def test_no_items_end_the_map_at_once() -> None:
    m = compile_machine(definition())
    ex, read = started(m, {"bucket": "b", "most": 0})
    d = advance(m, ex, {"type": "TaskSucceeded", "token": read.token, "output": []}, now=NOW)
    assert d.execution["status"] == "SUCCEEDED" and d.execution["output"] == []
    assert [h["type"] for h in d.history][:2] == ["MapRunSucceeded", "MapStateSucceeded"]


def test_a_failed_read_fails_the_map_run_then_is_caught() -> None:
    source = definition(Catch=[{"ErrorEquals": ["States.ItemReaderFailed"], "Next": "Done"}])
    del source["States"]["M"]["End"]
    source["States"]["M"]["Next"] = "Done"
    source["States"]["Done"] = {"Type": "Pass", "End": True}
    m = compile_machine(source)
    ex, read = started(m, {"bucket": "b", "most": 1})
    d = advance(m, ex, {"type": "TaskFailed", "token": read.token,
                        "error": "States.ItemReaderFailed", "cause": "no such key"}, now=NOW)
    assert d.execution["status"] == "SUCCEEDED"
    assert d.execution["output"] == {"Error": "States.ItemReaderFailed", "Cause": "no such key"}
    assert [h["type"] for h in d.history][:2] == ["MapRunFailed", "MapStateFailed"]


def test_a_negative_max_items_fails_without_reading() -> None:
    m = compile_machine(definition())
    ex = new_execution(execution_id="e1", name="e1", machine="m", machine_version=1,
                       input={"bucket": "b", "most": -1}, now=NOW, salt="salt")
    d = advance(m, ex, {"type": "Started"}, now=NOW)
    assert not [c for c in d.commands if isinstance(c, InvokeTask)]
    assert (d.execution["error"], d.execution["cause"]) == (
        "States.ItemReaderFailed", "field MaxItems must be positive")
