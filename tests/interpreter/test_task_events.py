"""How task history events are named and filled, as AWS's HistoryEvent has them: Task*,
LambdaFunction* and Activity* events, ActivityStarted when a worker takes the task."""

from __future__ import annotations

import json
from typing import Any

from statemachine.interpreter.step import advance
from tests.interpreter.test_advance import NOW, machine, start

ACTIVITY = "arn:aws:states:us-east-1:123456789012:activity:review"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:f"


def _task(resource: str, **extra: Any) -> Any:
    return machine({"T": {"Type": "Task", "Resource": resource, "End": True, **extra}})


def test_an_activity_is_scheduled_then_started_by_the_worker_that_takes_it() -> None:
    m = _task(ACTIVITY, HeartbeatSeconds=5, TimeoutSeconds=60)
    ex, d = start(m, {"doc": 7})
    assert [h["type"] for h in d.history] == ["ExecutionStarted", "TaskStateEntered",
                                              "ActivityScheduled"]
    assert d.history[1]["stateEnteredEventDetails"]["name"] == "T"
    scheduled = d.history[2]["activityScheduledEventDetails"]
    assert scheduled == {"resource": ACTIVITY, "input": json.dumps({"doc": 7}).replace(" ", ""),
                         "inputDetails": {"truncated": False}, "timeoutInSeconds": 60,
                         "heartbeatInSeconds": 5}
    taken = advance(m, ex, {"type": "TaskTaken", "token": ex["token"], "worker": "w-1"},
                    now=NOW + 10)
    assert [(h["type"], h["activityStartedEventDetails"]) for h in taken.history] == [
        ("ActivityStarted", {"workerName": "w-1"})]
    anonymous = advance(m, ex, {"type": "TaskTaken", "token": ex["token"], "worker": None},
                        now=NOW + 10)
    assert [h["type"] for h in anonymous.history] == ["ActivityStarted"]
    assert "activityStartedEventDetails" not in anonymous.history[0]
    stale = advance(m, ex, {"type": "TaskTaken", "token": "other", "worker": "w-2"}, now=NOW)
    assert stale.history == [] and stale.execution == ex
    done = advance(m, taken.execution, {"type": "TaskSucceeded", "token": ex["token"],
                                        "output": {"ok": True}}, now=NOW + 20)
    assert [h["type"] for h in done.history] == ["ActivitySucceeded", "TaskStateExited",
                                                 "ExecutionSucceeded"]
    assert done.history[1]["stateExitedEventDetails"]["name"] == "T"


def test_a_lambda_function_is_scheduled_with_its_input() -> None:
    _, d = start(_task(LAMBDA, TimeoutSeconds=9), {"a": 1})
    assert [h["type"] for h in d.history][-2:] == ["LambdaFunctionScheduled",
                                                   "LambdaFunctionStarted"]
    assert d.history[-2]["lambdaFunctionScheduledEventDetails"] == {
        "resource": LAMBDA, "input": '{"a":1}', "inputDetails": {"truncated": False},
        "timeoutInSeconds": 9}
    assert "lambdaFunctionStartedEventDetails" not in d.history[-1]


def test_other_tasks_keep_their_resource_type_and_parameters() -> None:
    _, d = start(_task("arn:aws:states:::http:invoke",
                       Parameters={"ApiEndpoint": "https://example.com", "Method": "GET"}))
    scheduled = d.history[-2]["taskScheduledEventDetails"]
    assert (scheduled["resourceType"], scheduled["resource"]) == ("http", "invoke")
    assert json.loads(scheduled["parameters"])["Method"] == "GET"
    assert d.history[-1]["type"] == "TaskStarted"
    assert d.history[-1]["taskStartedEventDetails"] == {"resourceType": "http",
                                                        "resource": "invoke"}
