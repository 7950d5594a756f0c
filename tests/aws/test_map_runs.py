"""Map Runs through boto3 against ``cli.py serve``: a Distributed Map's children are
executions of their own (own ARN, history and description), its Map Run is described,
listed, updated live, and its children listed (DescribeMapRun, ListMapRuns, UpdateMapRun,
ListExecutions(mapRunArn))."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.aws.conftest import AwsService
from tests.aws.helpers import code, define

Wait = Callable[[str], dict[str, Any]]
PREFIX = "arn:aws:states:us-east-1:123456789012"


def dmap(processor_states: dict[str, Any], start: str, **fields: Any) -> dict[str, Any]:
    return {"StartAt": "Orders", "States": {"Orders": {
        "Type": "Map", "Label": "Orders", "ItemsPath": "$.items", **fields,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": start, "States": processor_states},
        "End": True}}}


CHECK = {
    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 3,
                                             "Next": "Bad"}], "Default": "Good"},
    "Bad": {"Type": "Fail", "Error": "Odd", "Cause": "three"},
    "Good": {"Type": "Pass", "Parameters": {"n.$": "$.n", "id.$": "$$.Execution.Id",
                                            "name.$": "$$.Execution.Name"}, "End": True},
}


def test_children_are_executions_of_a_map_run(aws_service: AwsService, sfn: Any,
                                              wait_done: Wait) -> None:
    name = f"runs-{uuid.uuid4().hex[:6]}"
    arn = define(aws_service, name, dmap(CHECK, "Check", MaxConcurrency=2,
                                         ToleratedFailureCount=1))
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps(
        {"items": [{"n": n} for n in range(1, 6)]}))
    assert wait_done(started["executionArn"])["status"] == "SUCCEEDED"
    history = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    assert [e["type"] for e in history] == [
        "ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted",
        "MapRunSucceeded", "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]
    run_arn = history[3]["mapRunStartedEventDetails"]["mapRunArn"]
    assert run_arn.startswith(f"{PREFIX}:mapRun:{name}/Orders:")

    runs = sfn.list_map_runs(executionArn=started["executionArn"])["mapRuns"]
    assert [(r["mapRunArn"], r["executionArn"]) for r in runs] == [
        (run_arn, started["executionArn"])]
    run = sfn.describe_map_run(mapRunArn=run_arn)
    assert (run["status"], run["maxConcurrency"], run["toleratedFailureCount"]) == (
        "SUCCEEDED", 2, 1)
    assert run["executionArn"] == started["executionArn"]
    assert run["startDate"] <= run["stopDate"]
    counts = run["executionCounts"]
    assert (counts["total"], counts["succeeded"], counts["failed"], counts["running"],
            counts["pending"]) == (5, 4, 1, 0, 0)
    assert run["itemCounts"]["total"] == 5 and run["itemCounts"]["succeeded"] == 4

    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert len(children) == 5
    assert all(c["executionArn"].startswith(f"{PREFIX}:execution:{name}/Orders:")
               and c["mapRunArn"] == run_arn for c in children)
    assert all(c["stateMachineArn"] == f"{PREFIX}:stateMachine:{name}/Orders" for c in children)
    failed = sfn.list_executions(mapRunArn=run_arn, statusFilter="FAILED")["executions"]
    assert len(failed) == 1
    paged = sfn.list_executions(mapRunArn=run_arn, maxResults=2)
    assert len(paged["executions"]) == 2 and "nextToken" in paged

    child = children[0]["executionArn"]
    described = sfn.describe_execution(executionArn=child)
    assert described["mapRunArn"] == run_arn and described["status"] == "SUCCEEDED"
    assert json.loads(described["input"]) == {"n": 1}
    output = json.loads(described["output"])
    assert output == {"n": 1, "id": child, "name": described["name"]}  # $$.Execution: its own
    own = sfn.get_execution_history(executionArn=child)["events"]
    assert [e["type"] for e in own] == ["ExecutionStarted", "ChoiceStateEntered",
                                        "ChoiceStateExited", "PassStateEntered",
                                        "PassStateExited", "ExecutionSucceeded"]
    machine = sfn.describe_state_machine_for_execution(executionArn=child)
    assert (machine["mapRunArn"], machine["label"]) == (run_arn, "Orders")
    bad = sfn.describe_execution(executionArn=failed[0]["executionArn"])
    assert (bad["error"], bad["cause"]) == ("Odd", "three")


def test_map_run_errors(aws_service: AwsService, sfn: Any) -> None:
    with pytest.raises(ClientError) as error:
        sfn.describe_map_run(mapRunArn=f"{PREFIX}:mapRun:none/L:{uuid.uuid4()}")
    assert code(error) == "ResourceNotFound"
    with pytest.raises(ClientError) as error:
        sfn.describe_map_run(mapRunArn=f"{PREFIX}:execution:none:x")
    assert code(error) == "InvalidArn"
    with pytest.raises(ClientError) as error:
        sfn.update_map_run(mapRunArn=f"{PREFIX}:mapRun:none/L:x", toleratedFailurePercentage=150)
    assert code(error) == "ValidationException"
    with pytest.raises(ClientError) as error:
        sfn.list_executions(mapRunArn=f"{PREFIX}:mapRun:none/L:x")
    assert code(error) == "ResourceNotFound"
    with pytest.raises(ClientError) as error:
        sfn.describe_execution(executionArn=f"{PREFIX}:execution:none/L:{uuid.uuid4()}.r4.0")
    assert code(error) == "ExecutionDoesNotExist"


def test_update_map_run_starts_more_children_at_once(aws_service: AwsService, sfn: Any,
                                                     wait_done: Wait) -> None:
    activity = sfn.create_activity(name=f"work-{uuid.uuid4().hex[:6]}")["activityArn"]
    name = f"live-{uuid.uuid4().hex[:6]}"
    arn = define(aws_service, name, dmap(
        {"Work": {"Type": "Task", "Resource": activity, "End": True}}, "Work", MaxConcurrency=1))
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": [1, 2, 3, 4]}))
    first = sfn.get_activity_task(activityArn=activity, workerName="w")
    assert json.loads(first["input"]) == 1
    run_arn = sfn.list_map_runs(executionArn=started["executionArn"])["mapRuns"][0]["mapRunArn"]
    counts = sfn.describe_map_run(mapRunArn=run_arn)["executionCounts"]
    assert (counts["running"], counts["pending"]) == (1, 3)

    sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=3, toleratedFailurePercentage=50)
    more = [sfn.get_activity_task(activityArn=activity, workerName="w") for _ in range(2)]
    assert sorted(json.loads(t["input"]) for t in more) == [2, 3]  # started by the update
    run = sfn.describe_map_run(mapRunArn=run_arn)
    assert (run["maxConcurrency"], run["toleratedFailurePercentage"]) == (3, 50.0)
    assert run["status"] == "RUNNING" and run["executionCounts"]["running"] == 3
    for task in [first, *more]:
        sfn.send_task_success(taskToken=task["taskToken"], output="1")
    last = sfn.get_activity_task(activityArn=activity, workerName="w")
    sfn.send_task_failure(taskToken=last["taskToken"], error="Late")  # 1 of 4: tolerated
    assert wait_done(started["executionArn"])["status"] == "SUCCEEDED"
    run = sfn.describe_map_run(mapRunArn=run_arn)
    assert run["status"] == "SUCCEEDED" and run["executionCounts"]["failed"] == 1


def test_stopping_the_parent_aborts_the_run_and_its_children(aws_service: AwsService, sfn: Any,
                                                             wait_done: Wait) -> None:
    name = f"stop-{uuid.uuid4().hex[:6]}"
    arn = define(aws_service, name, dmap(
        {"Sleep": {"Type": "Wait", "Seconds": 600, "End": True}}, "Sleep", MaxConcurrency=2))
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": [1, 2, 3]}))
    run_arn = None
    while run_arn is None:  # the run begins with the parent's first transition
        runs = sfn.list_map_runs(executionArn=started["executionArn"])["mapRuns"]
        run_arn = runs[0]["mapRunArn"] if runs else None
    while sfn.describe_map_run(mapRunArn=run_arn)["executionCounts"]["running"] < 2:
        pass  # both children have begun
    sfn.stop_execution(executionArn=started["executionArn"], error="Enough")
    assert wait_done(started["executionArn"])["status"] == "ABORTED"
    run = sfn.describe_map_run(mapRunArn=run_arn)
    assert run["status"] == "ABORTED"
    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert len(children) == 2
    for child in children:
        assert wait_done(child["executionArn"])["status"] == "ABORTED"
    history = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    assert [e["type"] for e in history][-2:] == ["MapRunAborted", "ExecutionAborted"]


def test_express_children_keep_no_history_and_are_not_listed(aws_service: AwsService, sfn: Any,
                                                             wait_done: Wait) -> None:
    name = f"express-{uuid.uuid4().hex[:6]}"
    definition = dmap(CHECK, "Check", ItemBatcher={"MaxItemsPerBatch": 2},
                      ItemSelector={"n.$": "$$.Map.Item.Value.n"})
    processor = definition["States"]["Orders"]["ItemProcessor"]
    processor["ProcessorConfig"]["ExecutionType"] = "EXPRESS"
    processor["States"] = {"Count": {"Type": "Pass", "Parameters": {
        "count.$": "States.ArrayLength($.Items)"}, "End": True}}
    processor["StartAt"] = "Count"
    arn = define(aws_service, name, definition)
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps(
        {"items": [{"n": n} for n in range(5)]}))
    done = wait_done(started["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == [{"count": 2}, {"count": 2}, {"count": 1}]
    run_arn = sfn.list_map_runs(executionArn=started["executionArn"])["mapRuns"][0]["mapRunArn"]
    run = sfn.describe_map_run(mapRunArn=run_arn)
    assert (run["executionCounts"]["succeeded"], run["executionCounts"]["total"]) == (3, 3)
    assert (run["itemCounts"]["succeeded"], run["itemCounts"]["total"]) == (5, 5)
    assert sfn.list_executions(mapRunArn=run_arn)["executions"] == []  # EXPRESS: not listed
    history = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    [run_started] = [e["id"] for e in history if e["type"] == "MapRunStarted"]
    parent = started["executionArn"].rsplit(":", 1)[1]
    child = f"{PREFIX}:execution:{name}/Orders:{parent}.r{run_started}.0"
    assert sfn.describe_execution(executionArn=child)["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as error:  # AWS serves no EXPRESS execution's history
        sfn.get_execution_history(executionArn=child)
    assert code(error) == "InvalidArn"


def test_standard_children_list_their_item_count(aws_service: AwsService, sfn: Any,
                                                 wait_done: Wait) -> None:
    name = f"batched-{uuid.uuid4().hex[:6]}"
    definition = dmap({"P": {"Type": "Pass", "End": True}}, "P",
                      ItemBatcher={"MaxItemsPerBatch": 3})
    arn = define(aws_service, name, definition)
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": [1, 2, 3, 4]}))
    assert wait_done(started["executionArn"])["status"] == "SUCCEEDED"
    run_arn = sfn.list_map_runs(executionArn=started["executionArn"])["mapRuns"][0]["mapRunArn"]
    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert sorted(c["itemCount"] for c in children) == [1, 3]


def test_a_failed_run_keeps_its_pending_children_and_refuses_updates(
        aws_service: AwsService, sfn: Any, wait_done: Wait) -> None:
    """A run past its tolerance fails; its children never begun stay ``pending`` (as AWS
    reports them), nothing was written (no ResultWriter), and UpdateMapRun is refused."""
    name = f"failing-{uuid.uuid4().hex[:6]}"
    arn = define(aws_service, name, dmap(CHECK, "Check", MaxConcurrency=1))
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps(
        {"items": [{"n": n} for n in range(3, 8)]}))  # the first child fails
    done = wait_done(started["executionArn"])
    assert (done["status"], done["error"]) == ("FAILED", "Odd")
    run_arn = sfn.list_map_runs(executionArn=started["executionArn"])["mapRuns"][0]["mapRunArn"]
    run = sfn.describe_map_run(mapRunArn=run_arn)
    counts = run["executionCounts"]
    assert run["status"] == "FAILED"
    assert (counts["failed"], counts["pending"], counts["running"], counts["total"],
            counts["resultsWritten"]) == (1, 4, 0, 5, 0)
    assert run["itemCounts"]["pending"] == 4
    with pytest.raises(ClientError) as error:
        sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=5)
    assert code(error) == "ValidationException"
    assert sfn.describe_map_run(mapRunArn=run_arn)["maxConcurrency"] == 1
