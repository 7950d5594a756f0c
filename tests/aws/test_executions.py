"""The AWS operations on executions through boto3: list (filters, paging), history (order,
paging, data left out), stop, DescribeStateMachineForExecution, traceHeader."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.aws.conftest import AwsService
from tests.aws.helpers import (
    code,
    define,
    execution_arn,
    machine_arn,
    pass_machine,
    wait_machine,
)

Wait = Callable[[str], dict[str, Any]]


def test_list_executions_pages_and_filters(aws_service: AwsService, sfn: Any,
                                           wait_done: Wait) -> None:
    arn = define(aws_service, "lister", pass_machine())
    started = [sfn.start_execution(stateMachineArn=arn, name=f"run-{n}")["executionArn"]
               for n in range(7)]
    for execution in started:
        assert wait_done(execution)["status"] == "SUCCEEDED"
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = sfn.list_executions(stateMachineArn=arn, maxResults=3,
                                   **({"nextToken": token} if token else {}))
        assert len(page["executions"]) <= 3
        seen += [item["executionArn"] for item in page["executions"]]
        pages += 1
        token = page.get("nextToken")
        if token is None:
            break
    assert pages >= 3 and sorted(seen) == sorted(started)
    item = page["executions"][-1] if page["executions"] else sfn.list_executions(
        stateMachineArn=arn)["executions"][0]
    assert item["stateMachineArn"] == arn and item["status"] == "SUCCEEDED"
    assert item["startDate"] <= item["stopDate"]
    assert "redriveCount" not in item  # only when set
    paginated = [item["executionArn"]
                 for page in sfn.get_paginator("list_executions").paginate(
                     stateMachineArn=arn, PaginationConfig={"PageSize": 2})
                 for item in page["executions"]]
    assert paginated == [execution for execution in seen]  # newest first, both ways
    succeeded = sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED")
    assert len(succeeded["executions"]) == 7
    assert sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"] == []
    assert sfn.list_executions(stateMachineArn=arn, statusFilter="PENDING_REDRIVE")[
        "executions"] == []
    assert len(sfn.list_executions(stateMachineArn=arn,
                                   redriveFilter="NOT_REDRIVEN")["executions"]) == 7


def test_list_executions_refusals(aws_service: AwsService, sfn: Any) -> None:
    arn = define(aws_service, "lister2", pass_machine())
    for n in range(3):
        sfn.start_execution(stateMachineArn=arn, name=f"r{n}")
    first = sfn.list_executions(stateMachineArn=arn, maxResults=1)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"stateMachineArn": machine_arn("nothing-here")}, "StateMachineDoesNotExist"),
        ({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:activity:x"}, "InvalidArn"),
        ({"stateMachineArn": arn, "nextToken": "garbage!"}, "InvalidToken"),
        ({"stateMachineArn": arn, "nextToken": "e30="}, "InvalidToken"),  # "{}"
        # a token of another listing (the status filter changed)
        ({"stateMachineArn": arn, "statusFilter": "RUNNING",
          "nextToken": first["nextToken"]}, "InvalidToken"),
        ({}, "ValidationException"),
        ({"stateMachineArn": arn, "maxResults": 1001}, "ValidationException"),
        ({"stateMachineArn": arn, "statusFilter": "SLEEPING"}, "ValidationException"),
    ]
    for params, expected in cases:
        with pytest.raises(ClientError) as refused:
            sfn.list_executions(**params)
        assert code(refused) == expected, params


def test_history_order_paging_and_data(aws_service: AwsService, sfn: Any,
                                       wait_done: Wait) -> None:
    arn = define(aws_service, "historian", pass_machine({"out": 1}))
    execution = sfn.start_execution(stateMachineArn=arn, name="h",
                                    input='{"secret": 42}')["executionArn"]
    wait_done(execution)
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "PassStateEntered",
        "PassStateExited", "ExecutionSucceeded"]
    assert [e["id"] for e in events] == list(range(1, 7))
    assert [e["previousEventId"] for e in events] == list(range(6))
    assert json.loads(events[0]["executionStartedEventDetails"]["input"]) == {"secret": 42}
    assert events[0]["executionStartedEventDetails"]["roleArn"].startswith("arn:aws:iam::")
    assert events[1]["stateEnteredEventDetails"]["name"] == "One"
    assert json.loads(events[4]["stateExitedEventDetails"]["output"]) == {"out": 1}
    assert json.loads(events[5]["executionSucceededEventDetails"]["output"]) == {"out": 1}
    assert events[0]["timestamp"] <= events[-1]["timestamp"]  # datetimes, parsed by botocore
    backwards = sfn.get_execution_history(executionArn=execution, reverseOrder=True)["events"]
    assert backwards == list(reversed(events))
    for reverse in (False, True):
        paged = [event for page in sfn.get_paginator("get_execution_history").paginate(
                     executionArn=execution, reverseOrder=reverse,
                     PaginationConfig={"PageSize": 4})
                 for event in page["events"]]
        assert paged == (backwards if reverse else events)
        by_hand = sfn.get_execution_history(executionArn=execution, maxResults=5,
                                            reverseOrder=reverse)
        assert len(by_hand["events"]) == 5
        rest = sfn.get_execution_history(executionArn=execution, maxResults=5,
                                         reverseOrder=reverse, nextToken=by_hand["nextToken"])
        assert by_hand["events"] + rest["events"] == paged and "nextToken" not in rest
    bare = sfn.get_execution_history(executionArn=execution, includeExecutionData=False)
    assert [e["type"] for e in bare["events"]] == [e["type"] for e in events]
    for event in bare["events"]:
        for key, details in event.items():
            if key.endswith("EventDetails"):
                assert "input" not in details and "output" not in details, event
    assert bare["events"][1]["stateEnteredEventDetails"]["name"] == "One"
    # a token of the forward listing does not continue the reverse one
    with pytest.raises(ClientError) as mixed:
        sfn.get_execution_history(executionArn=execution, maxResults=2, reverseOrder=True,
                                  nextToken=sfn.get_execution_history(
                                      executionArn=execution, maxResults=2)["nextToken"])
    assert code(mixed) == "InvalidToken"


def test_history_refusals(aws_service: AwsService, sfn: Any) -> None:
    define(aws_service, "historian2", pass_machine())
    for arn, expected in [(execution_arn("historian2", "nobody"), "ExecutionDoesNotExist"),
                          (machine_arn("historian2"), "InvalidArn"),
                          ("arn:aws:states:eu-west-1:123456789012:execution:a:b", "InvalidArn")]:
        with pytest.raises(ClientError) as refused:
            sfn.get_execution_history(executionArn=arn)
        assert code(refused) == expected


def test_stop_execution(aws_service: AwsService, sfn: Any, wait_done: Wait) -> None:
    arn = define(aws_service, "sleeper", wait_machine())
    first = sfn.start_execution(stateMachineArn=arn, name="nap", input='{"z": 1}')
    execution = first["executionArn"]
    again = sfn.start_execution(stateMachineArn=arn, name="nap", input='{"z": 1}')
    assert again == {**again, "executionArn": execution, "startDate": first["startDate"]}
    running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert [item["executionArn"] for item in running] == [execution]
    assert "stopDate" not in running[0]
    stopped = sfn.stop_execution(executionArn=execution, error="Operator.Stop",
                                 cause="tired of waiting")
    described = wait_done(execution)
    assert described["status"] == "ABORTED"
    assert (described["error"], described["cause"]) == ("Operator.Stop", "tired of waiting")
    assert stopped["stopDate"] <= described["stopDate"]
    history = sfn.get_execution_history(executionArn=execution, reverseOrder=True)["events"]
    assert history[0]["type"] == "ExecutionAborted"
    assert history[0]["executionAbortedEventDetails"]["error"] == "Operator.Stop"
    again = sfn.stop_execution(executionArn=execution)  # stopping a finished one: its stop
    assert again["stopDate"] == described["stopDate"]
    with pytest.raises(ClientError) as missing:
        sfn.stop_execution(executionArn=execution_arn("sleeper", "nobody"))
    assert code(missing) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as long_error:
        sfn.stop_execution(executionArn=execution, error="e" * 257)
    assert code(long_error) == "ValidationException"


def test_trace_header_and_the_definition_an_execution_runs(aws_service: AwsService, sfn: Any,
                                                          wait_done: Wait) -> None:
    first = pass_machine("v1")
    arn = define(aws_service, "revised", first)
    old = sfn.start_execution(stateMachineArn=arn, name="old",
                              traceHeader="Root=1-5759e988-bd862e3fe1be46a994272793")
    wait_done(old["executionArn"])
    described = sfn.describe_execution(executionArn=old["executionArn"])
    assert described["traceHeader"] == "Root=1-5759e988-bd862e3fe1be46a994272793"
    define(aws_service, "revised", pass_machine("v2"))  # a new revision
    new = sfn.start_execution(stateMachineArn=arn, name="new")
    assert "traceHeader" not in wait_done(new["executionArn"])
    before = sfn.describe_state_machine_for_execution(executionArn=old["executionArn"])
    after = sfn.describe_state_machine_for_execution(executionArn=new["executionArn"])
    assert json.loads(before["definition"]) == first
    assert json.loads(after["definition"]) == pass_machine("v2")
    assert before["stateMachineArn"] == after["stateMachineArn"] == arn
    assert before["name"] == "revised" and before["roleArn"].startswith("arn:aws:iam::")
    assert before["revisionId"] != after["revisionId"]
    assert before["roleArn"] == "arn:aws:iam::123456789012:role/statemachine"
    assert before["tracingConfiguration"] == {"enabled": False}
    assert before["loggingConfiguration"]["level"] == "OFF"
    assert before["updateDate"] <= after["updateDate"]
    with pytest.raises(ClientError) as missing:
        sfn.describe_state_machine_for_execution(executionArn=execution_arn("revised", "x"))
    assert code(missing) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as bad:
        sfn.describe_state_machine_for_execution(executionArn=arn)
    assert code(bad) == "InvalidArn"


def test_validate_state_machine_definition(sfn: Any) -> None:
    good = sfn.validate_state_machine_definition(definition=json.dumps(pass_machine()))
    assert (good["result"], good["diagnostics"], good["truncated"]) == ("OK", [], False)
    broken = {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "Nowhere"},
        "B": {"Type": "Pass", "Next": "Elsewhere"}}}
    failed = sfn.validate_state_machine_definition(definition=json.dumps(broken))
    assert failed["result"] == "FAIL" and not failed["truncated"]
    codes = {d["code"] for d in failed["diagnostics"]}
    assert "MISSING_TRANSITION_TARGET" in codes
    assert all(d["severity"] == "ERROR" for d in failed["diagnostics"])
    target = next(d for d in failed["diagnostics"] if d["code"] == "MISSING_TRANSITION_TARGET")
    assert target["location"] == "/States/A/Next" and "Nowhere" in target["message"]
    one = sfn.validate_state_machine_definition(definition=json.dumps(broken), maxResults=1)
    assert len(one["diagnostics"]) == 1 and one["truncated"] is True
    warned = sfn.validate_state_machine_definition(definition=json.dumps(broken),
                                                   severity="WARNING")
    assert warned["diagnostics"] == failed["diagnostics"]  # WARNING shows errors too
    dubious = json.dumps({"StartAt": "A", "States": {"A": {
        "Type": "Pass", "Parameters": {"id": "$.id"}, "End": True}}})
    quiet = sfn.validate_state_machine_definition(definition=dubious)
    assert (quiet["result"], quiet["diagnostics"]) == ("OK", [])  # ERROR: errors only
    loud = sfn.validate_state_machine_definition(definition=dubious, severity="WARNING")
    assert loud["result"] == "OK"
    assert [(d["severity"], d["code"], d["location"]) for d in loud["diagnostics"]] == [
        ("WARNING", "NO_DOLLAR", "/States/A/Parameters/id")]
    no_end = sfn.validate_state_machine_definition(definition=json.dumps(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}))
    assert "MISSING_END_STATE" in {d["code"] for d in no_end["diagnostics"]}
    not_json = sfn.validate_state_machine_definition(definition='{"StartAt": ')
    assert not_json["result"] == "FAIL"
    assert not_json["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"
    activity = {"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:a",
        "End": True}}}
    assert sfn.validate_state_machine_definition(
        definition=json.dumps(activity), type="STANDARD")["result"] == "OK"
    express = sfn.validate_state_machine_definition(definition=json.dumps(activity),
                                                    type="EXPRESS")
    assert express["result"] == "FAIL"
    assert express["diagnostics"][0]["location"] == "/States/Work/Resource"
    with pytest.raises(ClientError) as bad_type:
        sfn.validate_state_machine_definition(definition="{}", type="SLOW")
    assert code(bad_type) == "ValidationException"


def test_list_executions_redrive_filter(aws_service: AwsService, sfn: Any,
                                        wait_done: Wait) -> None:
    # fails on its first run (index -1), succeeds once redriven (index 0)
    second_time = {"StartAt": "Pick", "States": {"Pick": {
        "Type": "Pass", "End": True, "Parameters": {
            "x.$": "States.ArrayGetItem(States.Array(1, 2), "
                   "States.MathAdd($$.Execution.RedriveCount, -1))"}}}}
    arn = define(aws_service, "second-time", second_time)
    redriven = sfn.start_execution(stateMachineArn=arn, name="redriven")["executionArn"]
    plain = sfn.start_execution(stateMachineArn=arn, name="plain")["executionArn"]
    assert wait_done(redriven)["status"] == wait_done(plain)["status"] == "FAILED"
    sfn.redrive_execution(executionArn=redriven)
    assert wait_done(redriven)["status"] == "SUCCEEDED"
    listed = sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"]
    assert [item["executionArn"] for item in listed] == [redriven]
    assert listed[0]["redriveCount"] == 1 and "redriveDate" in listed[0]
    others = sfn.list_executions(stateMachineArn=arn, redriveFilter="NOT_REDRIVEN")
    assert [item["executionArn"] for item in others["executions"]] == [plain]
    assert "redriveCount" not in others["executions"][0]


def test_list_executions_of_a_version(aws_service: AwsService, sfn: Any,
                                      wait_done: Wait) -> None:
    made = sfn.create_state_machine(name="versioned", definition=json.dumps(pass_machine()),
                                    roleArn="arn:aws:iam::123456789012:role/statemachine",
                                    publish=True)
    version = made["stateMachineVersionArn"]
    through_version = sfn.start_execution(stateMachineArn=version, name="v")["executionArn"]
    plain = sfn.start_execution(stateMachineArn=made["stateMachineArn"], name="p")["executionArn"]
    wait_done(through_version)
    wait_done(plain)
    listed = sfn.list_executions(stateMachineArn=version)["executions"]
    assert [item["executionArn"] for item in listed] == [through_version]
    assert listed[0]["stateMachineVersionArn"] == version
    everything = sfn.list_executions(stateMachineArn=made["stateMachineArn"])["executions"]
    assert {item["executionArn"] for item in everything} == {through_version, plain}
    assert "stateMachineVersionArn" not in next(
        item for item in everything if item["executionArn"] == plain)


def test_a_start_through_the_aws_api_is_counted_and_timed(aws_service: AwsService, sfn: Any,
                                                          wait_done: Wait) -> None:
    arn = define(aws_service, "counted", wait_machine(1))
    first = sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
    again = sfn.start_execution(stateMachineArn=arn, name="once", input="{}")  # a repeat
    assert again["executionArn"] == first["executionArn"]
    second = sfn.start_execution(stateMachineArn=arn)
    for execution in (first, second):
        assert wait_done(execution["executionArn"])["status"] == "SUCCEEDED"
    families = _families(aws_service)
    started = {sample.labels["state_machine"]: sample.value
               for sample in families["statemachine_executions_started"].samples}
    assert started["counted"] == 2, "each new execution once, the idempotent repeat not"
    # the API adds its latency observations to Redis once a second
    deadline = time.monotonic() + 10
    while _start_latencies(families) < 2:
        assert time.monotonic() < deadline, "the starts' latencies were not observed"
        time.sleep(0.2)
        families = _families(aws_service)


def _start_latencies(families: dict[str, Any]) -> float:
    return sum(s.value for s in families["statemachine_start_latency_seconds"].samples
               if s.name.endswith("_count"))


def _families(service: AwsService) -> dict[str, Any]:
    return {family.name: family
            for family in text_string_to_metric_families(_metrics(service))}


def _metrics(service: AwsService) -> str:
    request = urllib.request.Request(f"{service.endpoint}/metrics",
                                     headers={"Authorization": f"Bearer {service.secret}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())
