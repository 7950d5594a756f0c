"""Activities and task callbacks through boto3: an activity worker (GetActivityTask +
SendTask*) driving a machine, waitForTaskToken callbacks, and every refusal."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.aws.conftest import AwsService
from tests.aws.helpers import activity_arn, code, define

Wait = Callable[[str], dict[str, Any]]


def activity_machine(arn: str) -> dict[str, Any]:
    return {"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": arn, "HeartbeatSeconds": 30,
                 "TimeoutSeconds": 60, "End": True}}}


def test_activity_lifecycle_and_listing(sfn: Any) -> None:
    created = sfn.create_activity(name="lifecycle", tags=[{"key": "team", "value": "a"}])
    arn = created["activityArn"]
    assert arn == activity_arn("lifecycle")
    again = sfn.create_activity(name="lifecycle")  # idempotent by name
    assert again == {**again, "activityArn": arn, "creationDate": created["creationDate"]}
    described = sfn.describe_activity(activityArn=arn)
    assert (described["name"], described["creationDate"]) == ("lifecycle", created["creationDate"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "a"}]
    names = [f"listed-{n}" for n in range(5)]
    for name in names:
        sfn.create_activity(name=name)
    listed: list[str] = []
    token = None
    pages = 0
    while True:
        page = sfn.list_activities(maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["activities"]) <= 2
        listed += [item["name"] for item in page["activities"]]
        pages += 1
        if "nextToken" not in page:
            break
        token = page["nextToken"]
    assert pages >= 3 and set(names + ["lifecycle"]) <= set(listed)
    assert listed == sorted(listed)
    paginated = [item["activityArn"] for page in sfn.get_paginator("list_activities").paginate(
        PaginationConfig={"PageSize": 4}) for item in page["activities"]]
    assert paginated == [activity_arn(name) for name in listed]
    sfn.delete_activity(activityArn=arn)
    sfn.delete_activity(activityArn=arn)  # deleting it again is no error, as on AWS
    with pytest.raises(ClientError) as gone:
        sfn.describe_activity(activityArn=arn)
    assert code(gone) == "ActivityDoesNotExist"
    with pytest.raises(ClientError) as no_poll:
        sfn.get_activity_task(activityArn=arn)
    assert code(no_poll) == "ActivityDoesNotExist"
    again = sfn.create_activity(name="lifecycle")  # a new one: the old one's tags went with it
    assert sfn.list_tags_for_resource(resourceArn=again["activityArn"])["tags"] == []


@pytest.mark.parametrize(("call", "params", "expected"), [
    ("describe_activity", {"activityArn": "arn:aws:states:us-east-1:123456789012:"
                           "stateMachine:x"}, "InvalidArn"),
    ("describe_activity", {"activityArn": "arn:aws:states:eu-west-1:123456789012:"
                           "activity:x"}, "InvalidArn"),
    ("delete_activity", {"activityArn": "nonsense"}, "InvalidArn"),
    ("get_activity_task", {"activityArn": "arn:aws:states:us-east-1:999999999999:"
                           "activity:x"}, "InvalidArn"),
    ("get_activity_task", {"activityArn": activity_arn("x"), "workerName": "w" * 81},
     "ValidationException"),
    ("create_activity", {"name": "has space"}, "InvalidName"),
    ("create_activity", {"name": "x" * 81}, "ValidationException"),
    ("create_activity", {"name": "tagged", "tags": [{"value": "no key"}]}, "ValidationException"),
    ("create_activity", {"name": "tagged", "tags": [{"key": f"k{n}"} for n in range(51)]},
     "TooManyTags"),
    ("list_activities", {"nextToken": "not-ours"}, "InvalidToken"),
])
def test_activity_refusals(sfn: Any, call: str, params: dict[str, Any], expected: str) -> None:
    with pytest.raises(ClientError) as refused:
        getattr(sfn, call)(**params)
    assert code(refused) == expected


def test_an_activity_worker_drives_executions(aws_service: AwsService, sfn: Any,
                                              wait_done: Wait) -> None:
    arn = sfn.create_activity(name="double")["activityArn"]
    machine = define(aws_service, "doubler", activity_machine(arn))
    stop = threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        client = aws_service.client()
        try:
            while not stop.is_set():
                task = client.get_activity_task(activityArn=arn, workerName="w1")
                if "taskToken" not in task:
                    continue
                value = json.loads(task["input"])
                client.send_task_heartbeat(taskToken=task["taskToken"])
                if value.get("fail"):
                    client.send_task_failure(taskToken=task["taskToken"], error="Odd.Input",
                                             cause="asked to fail")
                else:
                    client.send_task_success(taskToken=task["taskToken"],
                                             output=json.dumps({"n": value["n"] * 2}))
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        runs = [sfn.start_execution(stateMachineArn=machine, input=json.dumps({"n": n}))
                for n in range(4)]
        failing = sfn.start_execution(stateMachineArn=machine, input='{"fail": true}')
        for n, run in enumerate(runs):
            done = wait_done(run["executionArn"])
            assert done["status"] == "SUCCEEDED", done
            assert json.loads(done["output"]) == {"n": n * 2}
        failed = wait_done(failing["executionArn"])
        assert (failed["status"], failed["error"], failed["cause"]) == (
            "FAILED", "Odd.Input", "asked to fail")
        events = sfn.get_execution_history(executionArn=runs[3]["executionArn"])["events"]
        # ActivityStarted (the worker took it) is written when a service worker applies it:
        # before the answer, unless the two were applied at once (then it is left out)
        kinds = [e["type"] for e in events if e["type"] != "ActivityStarted"]
        assert kinds == ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled",
                         "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded"]
        scheduled = events[2]["activityScheduledEventDetails"]
        assert (scheduled["resource"], json.loads(scheduled["input"])) == (arn, {"n": 3})
        assert (scheduled["timeoutInSeconds"], scheduled["heartbeatInSeconds"]) == (60, 30)
        succeeded = next(e for e in events if e["type"] == "ActivitySucceeded")
        assert json.loads(succeeded["activitySucceededEventDetails"]["output"]) == {"n": 6}
        failures = sfn.get_execution_history(executionArn=failing["executionArn"],
                                             reverseOrder=True)["events"]
        assert failures[1]["type"] == "ActivityFailed"
        assert failures[1]["activityFailedEventDetails"] == {"error": "Odd.Input",
                                                              "cause": "asked to fail"}
    finally:
        stop.set()
        # the worker's last poll ends with the next task or after 60 s: unblock it with one
        sfn.start_execution(stateMachineArn=machine, input='{"n": 0}')
        thread.join(70)
    assert not errors, errors


def test_a_poller_that_left_takes_no_task(aws_service: AwsService, sfn: Any,
                                          wait_done: Wait) -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ReadTimeoutError

    arn = sfn.create_activity(name="patient")["activityArn"]
    machine = define(aws_service, "patience", activity_machine(arn))
    impatient = boto3.client(
        "stepfunctions", endpoint_url=aws_service.endpoint, region_name="us-east-1",
        aws_access_key_id=aws_service.key_id, aws_secret_access_key=aws_service.secret,
        config=Config(retries={"max_attempts": 1}, read_timeout=1))
    with pytest.raises(ReadTimeoutError):
        impatient.get_activity_task(activityArn=arn)  # leaves after a second
    started = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')
    time.sleep(1.5)  # the task waits in its queue; the poll that was left would have taken it
    task = sfn.get_activity_task(activityArn=arn)
    assert json.loads(task["input"]) == {"n": 1}
    sfn.send_task_success(taskToken=task["taskToken"], output='{"n": 2}')
    assert wait_done(started["executionArn"])["status"] == "SUCCEEDED"


@pytest.fixture
def token_catcher() -> Iterator[tuple[str, queue.Queue[str]]]:
    """An HTTP endpoint that ``.waitForTaskToken`` tasks post their token to (``/ask``)."""
    tokens: queue.Queue[str] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"] or 0))
            tokens.put(json.loads(body)["token"])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tokens
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def callback_machine(base: str) -> dict[str, Any]:
    return {"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": f"{base}/ask.waitForTaskToken",
                "TimeoutSeconds": 60, "Parameters": {"token.$": "$$.Task.Token"},
                "End": True}}}


def test_wait_for_task_token_callbacks(aws_service: AwsService, sfn: Any, wait_done: Wait,
                                       token_catcher: tuple[str, queue.Queue[str]]) -> None:
    base, tokens = token_catcher
    machine = define(aws_service, "asker", callback_machine(base))
    answered = sfn.start_execution(stateMachineArn=machine, name="answered")
    token = tokens.get(timeout=30)
    sfn.send_task_heartbeat(taskToken=token)
    with pytest.raises(ClientError) as bad_output:
        sfn.send_task_success(taskToken=token, output="{not json")
    assert code(bad_output) == "InvalidOutput"
    sfn.send_task_success(taskToken=token, output='{"answer": 42}')
    done = wait_done(answered["executionArn"])
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"answer": 42}
    for late in (lambda: sfn.send_task_success(taskToken=token, output="{}"),
                 lambda: sfn.send_task_failure(taskToken=token, error="Late"),
                 lambda: sfn.send_task_heartbeat(taskToken=token)):
        with pytest.raises(ClientError) as closed:
            late()
        assert code(closed) == "TaskTimedOut"
        assert "Provided task does not exist anymore" in str(closed.value)

    refused = sfn.start_execution(stateMachineArn=machine, name="refused")
    other = tokens.get(timeout=30)
    sfn.send_task_failure(taskToken=other, error="Nope", cause="said no")
    failed = wait_done(refused["executionArn"])
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Nope", "said no")

    forged = token.rsplit(".", 1)[0] + "." + "0" * 32  # its execution, a secret never issued
    gone = "bm8tc3VjaC1leGVjdXRpb24." + "0" * 32  # "no-such-execution"
    for bad, expected in (("not-a-token", "InvalidToken"), (forged, "InvalidToken"),
                          (gone, "TaskDoesNotExist")):
        with pytest.raises(ClientError) as refusal:
            sfn.send_task_heartbeat(taskToken=bad)
        assert code(refusal) == expected, bad
    with pytest.raises(ClientError) as too_long:
        sfn.send_task_success(taskToken="t" * 2049, output="{}")
    assert code(too_long) == "ValidationException"


def test_an_activity_task_without_heartbeats_times_out(aws_service: AwsService, sfn: Any,
                                                       wait_done: Wait) -> None:
    arn = sfn.create_activity(name="forgetful")["activityArn"]
    machine = define(aws_service, "forgotten", {"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": arn, "HeartbeatSeconds": 1, "End": True}}})
    started = sfn.start_execution(stateMachineArn=machine, input='{"job": 1}')
    task = sfn.get_activity_task(activityArn=arn, workerName="sleepy")
    assert json.loads(task["input"]) == {"job": 1}
    failed = wait_done(started["executionArn"])  # no heartbeat within a second
    assert (failed["status"], failed["error"]) == ("FAILED", "States.HeartbeatTimeout")
    events = sfn.get_execution_history(executionArn=started["executionArn"],
                                       reverseOrder=True)["events"]
    assert [e["type"] for e in events[:4]] == ["ExecutionFailed", "ActivityTimedOut",
                                               "ActivityStarted", "ActivityScheduled"]
    assert events[1]["activityTimedOutEventDetails"]["error"] == "States.HeartbeatTimeout"
    assert events[2]["activityStartedEventDetails"] == {"workerName": "sleepy"}
    with pytest.raises(ClientError) as late:
        sfn.send_task_success(taskToken=task["taskToken"], output='{"too": "late"}')
    assert code(late) == "TaskTimedOut"
