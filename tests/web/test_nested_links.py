"""The dashboard links a nested execution and its parent: the parent's summary lists the
children its ``states:startExecution.sync`` task started, the child's names its parent."""

from __future__ import annotations

import asyncio

from tests.api.client import Api
from tests.web.chromium import DumpDom

CHILD = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
PARENT = {"StartAt": "Nested", "States": {"Nested": {
    "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
    "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:kid"},
    "End": True}}}


async def test_parent_and_child_pages_link_each_other(api: Api, dump_dom: DumpDom) -> None:
    await api.define("kid", CHILD)
    await api.define("mom", PARENT)
    parent = await api.finished((await api.start("mom", {}))["executionId"])
    assert parent["status"] == "SUCCEEDED", parent
    [child] = parent["nestedExecutions"]
    parent_page, child_page = await asyncio.gather(
        dump_dom(f"#/executions/{parent['executionId']}"),
        dump_dom(f"#/executions/{child['executionId']}"))
    [to_child] = parent_page.by_id("x-nested").find_all("a", cls="child-link")
    assert (to_child.text(), to_child.attrs["href"]) == (
        child["executionId"], f"#/executions/{child['executionId']}")
    [to_parent] = child_page.by_id("x-started-by").find_all("a", cls="parent-link")
    assert to_parent.attrs["href"] == f"#/executions/{parent['executionId']}"
    assert "sync" in child_page.by_id("x-started-by").text()
