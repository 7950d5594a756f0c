"""The nested-execution plug-in without a service: its resource grammar, what an in-memory run
says, and the result a ``.sync`` parent gets from its child's record (the service's side is
tested in tests/aws/test_nested.py and tests/runtime/test_nested_crash.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from statemachine.interpreter.commands import InvokeTask
from statemachine.interpreter.records import Status
from statemachine.interpreter.step import new_execution
from statemachine.runtime.invokers import Invokers, InvokerSettings, parse_resource
from statemachine.runtime.invokers.nested import NEEDS_SERVICE, child_report

BASE = "arn:aws:states:::states:startExecution"


@pytest.mark.parametrize(("suffix", "kind"), [
    ("", "request"), (".sync", "callback"), (".sync:2", "callback"),
    (".waitForTaskToken", "callback")])
def test_the_four_forms_are_one_family(suffix: str, kind: str) -> None:
    parsed = parse_resource(BASE + suffix)
    assert parsed is not None
    assert (parsed.family, parsed.kind) == ("states_start", kind)


@pytest.mark.parametrize("suffix", [".sync.waitForTaskToken", ".sync:3", "Sync"])
def test_other_suffixes_are_not_supported(suffix: str) -> None:
    assert parse_resource(BASE + suffix) is None


async def test_an_in_memory_run_says_nested_executions_need_the_service() -> None:
    command = InvokeTask(token="t", resource=BASE + ".sync", input={"StateMachineArn": "x"},
                         state="S", entered=2, idempotency_key="k", attempt=0, timeout_s=None,
                         heartbeat_s=None, credentials=None, execution="e")
    async with Invokers(InvokerSettings()) as invokers:
        result = await invokers.invoke(command)
    assert result == {"type": "TaskFailed", "token": "t", "error": "States.Runtime",
                      "cause": NEEDS_SERVICE}


def ended(pattern: str, status: Status, **fields: Any) -> Any:
    ex = new_execution(execution_id="c1", name="kid", machine="m", machine_version=1,
                       input={"a": 1}, now=1000, salt="s")
    ex.update(status=status, stop=2000, **fields)
    ex["started_by"] = {"id": "p1", "token": "tok", "pattern": pattern}
    return ex


def test_a_sync_parent_gets_the_description_with_json_text() -> None:
    report = child_report(ended("sync", Status.SUCCEEDED, output={"b": 2}))
    assert report is not None
    # the start's response rides along, for a TaskSubmitted the end overtook
    submitted = report.pop("submitted")
    assert submitted["ExecutionArn"] == "arn:aws:states:us-east-1:123456789012:execution:m:kid"
    assert submitted["StartDate"] == 1000 and "SdkHttpMetadata" in submitted
    assert report == {"type": "TaskSucceeded", "token": "tok", "output": {
        "ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:m:kid",
        "Input": '{"a":1}', "InputDetails": {"Included": True}, "Name": "kid",
        "Output": '{"b":2}', "OutputDetails": {"Included": True}, "StartDate": 1000,
        "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m",
        "Status": "SUCCEEDED", "StopDate": 2000}}


def test_a_sync2_parent_gets_json_and_a_failed_child_fails_its_task() -> None:
    report = child_report(ended("sync2", Status.SUCCEEDED, output={"b": 2}))
    assert report is not None
    assert (report["output"]["Input"], report["output"]["Output"]) == ({"a": 1}, {"b": 2})
    failed = child_report(ended("sync2", Status.TIMED_OUT, error="States.Timeout", cause=None))
    assert failed is not None
    assert (failed["type"], failed["error"]) == ("TaskFailed", "States.TaskFailed")
    cause = json.loads(failed["cause"])
    assert (cause["Status"], cause["Error"]) == ("TIMED_OUT", "States.Timeout")
    assert "Output" not in cause and "Cause" not in cause


@pytest.mark.parametrize("pattern", ["request", "token"])
def test_no_report_when_the_parent_does_not_wait_for_the_end(pattern: str) -> None:
    assert child_report(ended(pattern, Status.SUCCEEDED, output={})) is None
