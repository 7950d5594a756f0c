"""SigV4 as AWS checks it, through hand-signed requests and boto3: a good signature, a wrong
secret, an unknown key, a role too small, a replay with another body, an old signature, and
``--insecure-no-auth``, which takes any signature."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.aws.conftest import AwsService, start_service, stop_service
from tests.aws.helpers import activity_arn, code, define, execution_arn, pass_machine
from tests.aws.signing import send, signed


def test_a_signed_request_and_its_forgeries(aws_service: AwsService) -> None:
    define(aws_service, "signed", pass_machine())
    body = json.dumps({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:"
                       "stateMachine:signed", "name": "by-hand"}).encode()
    good = signed(aws_service.endpoint, "StartExecution", body, aws_service.key_id,
                  aws_service.secret)
    answer = send(good)
    assert answer.status == 200, answer.data
    assert answer.json()["executionArn"] == execution_arn("signed", "by-hand")
    assert answer.headers["Content-Type"] == "application/x-amz-json-1.0"
    # the same signature over another body (an attacker's replay with a changed name)
    replayed = send(good, body.replace(b"by-hand", b"by-hack"))
    assert replayed.status == 400
    assert replayed.json()["__type"] == "InvalidSignatureException"
    wrong = send(signed(aws_service.endpoint, "StartExecution", body, aws_service.key_id,
                        "x" * 43))
    assert wrong.status == 400 and wrong.json()["__type"] == "InvalidSignatureException"
    stranger = send(signed(aws_service.endpoint, "StartExecution", body, "SMK" + "Q" * 17,
                           aws_service.secret))
    assert stranger.status == 400 and stranger.json()["__type"] == "UnrecognizedClientException"
    old = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=20)
    stale = send(signed(aws_service.endpoint, "StartExecution", body, aws_service.key_id,
                        aws_service.secret, at=old))
    assert stale.status == 400 and stale.json()["__type"] == "InvalidSignatureException"
    assert "Signature expired" in stale.json()["message"]


def test_roles_per_operation(aws_service: AwsService) -> None:
    define(aws_service, "roles", pass_machine())
    viewer = aws_service.client(*aws_service.create_key("viewer"))
    operator = aws_service.client(*aws_service.create_key("operator"))
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:roles"
    with pytest.raises(ClientError) as viewer_starts:
        viewer.start_execution(stateMachineArn=machine)
    assert code(viewer_starts) == "AccessDeniedException"
    assert viewer.list_executions(stateMachineArn=machine)["executions"] == []  # viewers read
    with pytest.raises(ClientError) as operator_creates:
        operator.create_activity(name="not-yours")
    assert code(operator_creates) == "AccessDeniedException"
    with pytest.raises(ClientError) as operator_deletes:
        operator.delete_activity(activityArn=activity_arn("not-yours"))
    assert code(operator_deletes) == "AccessDeniedException"
    started = operator.start_execution(stateMachineArn=machine, name="op")
    assert started["executionArn"] == execution_arn("roles", "op")
    with pytest.raises(ClientError) as viewer_stops:
        viewer.stop_execution(executionArn=started["executionArn"])
    assert code(viewer_stops) == "AccessDeniedException"


@pytest.fixture(scope="module")
def open_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsService]:
    service = start_service(Path(tmp_path_factory.mktemp("aws-open")), "--insecure-no-auth")
    try:
        yield service
    finally:
        stop_service(service)


def test_insecure_no_auth_takes_any_signature_and_shutdown_ends_polls(
        open_service: AwsService) -> None:
    anyone = open_service.client("SMK" + "Z" * 17, "not-the-secret")
    created = anyone.create_activity(name="open")
    assert created["activityArn"] == activity_arn("open")
    assert [a["name"] for a in anyone.list_activities()["activities"]] == ["open"]
    unsigned = send(signed(open_service.endpoint, "DescribeActivity",
                           json.dumps({"activityArn": created["activityArn"]}).encode(),
                           "nobody", "nothing"))
    assert unsigned.status == 200 and unsigned.json()["name"] == "open"
    # a long poll in flight ends at once, empty, when the service shuts down
    polled: list[dict[str, Any]] = []
    poller = threading.Thread(target=lambda: polled.append(
        anyone.get_activity_task(activityArn=created["activityArn"], workerName="last")))
    poller.start()
    poller.join(1.0)
    assert poller.is_alive()  # waiting for a task
    stop_service(open_service)
    poller.join(20)
    assert not poller.is_alive() and len(polled) == 1  # an answer, not a broken connection
    assert "taskToken" not in polled[0] and "input" not in polled[0]
