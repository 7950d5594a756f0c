"""Archiving behind the APIs: a real ``cli.py serve`` (its private Redis, its workers
archiving) with moto's S3 server.  The REST API (the dashboard's data), and AWS's own
client through the AWS API, answer with the same bytes before and after an execution
is archived; ``/metrics`` counts it.  A bad ``--archive-url``, or a bucket that does not
answer, is a one-line error at start."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aws.conftest import ROOT, AwsService, start_service, stop_service

ARCHIVE_AFTER_S = 3  # long enough to read everything once before it is archived


@pytest.fixture(scope="module")
def archiving_service(tmp_path_factory: pytest.TempPathFactory,
                      moto_url: str) -> Iterator[AwsService]:
    from tests.archive.conftest import s3_client

    s3_client(moto_url).create_bucket(Bucket="api-archive")
    service = start_service(
        tmp_path_factory.mktemp("archive"), "--archive-url", "s3://api-archive/sm",
        "--archive-endpoint", moto_url, "--archive-after", f"{ARCHIVE_AFTER_S}s",
        env={"STATEMACHINE_ARCHIVE_INTERVAL_MS": "200"})
    try:
        yield service
    finally:
        stop_service(service)


def rest(service: AwsService, path: str) -> bytes:
    request = urllib.request.Request(f"{service.endpoint}{path}",
                                     headers={"Authorization": f"Bearer {service.secret}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


def archived_total(service: AwsService) -> int:
    for line in rest(service, "/metrics").decode().splitlines():
        if line.startswith("statemachine_archived_total "):
            return int(float(line.split()[1]))
    raise AssertionError("no statemachine_archived_total in /metrics")


def aws_view(sfn: Any, arn: str, machine_arn: str) -> dict[str, Any]:
    """DescribeExecution, GetExecutionHistory paged by 2 both ways, ListExecutions by 1."""
    def pages(call: Any, key: str, **kwargs: Any) -> list[Any]:
        found, token = [], None
        while True:
            page = call(**kwargs, **({"nextToken": token} if token else {}))
            page.pop("ResponseMetadata", None)
            found.append(page[key])
            if not (token := page.get("nextToken")):
                return found
    described = sfn.describe_execution(executionArn=arn)
    described.pop("ResponseMetadata")
    described.pop("redriveStatusReason", None)
    return {"describe": described,
            "history": pages(sfn.get_execution_history, "events", executionArn=arn,
                             maxResults=2),
            "reverse": pages(sfn.get_execution_history, "events", executionArn=arn,
                             maxResults=2, reverseOrder=True),
            "list": pages(sfn.list_executions, "executions", stateMachineArn=machine_arn,
                          maxResults=1)}


def rest_view(service: AwsService, xid: str) -> dict[str, Any]:
    described = json.loads(rest(service, f"/v1/executions/{xid}"))
    described.pop("redriveStatusReason", None)
    return {"describe": described,
            "history": rest(service, f"/v1/executions/{xid}/history?limit=3"),
            "history_rest": rest(service, f"/v1/executions/{xid}/history?limit=3&cursor=3"),
            "reverse": rest(service, f"/v1/executions/{xid}/history?reverse=true&limit=2"),
            "list": rest(service, "/v1/executions?stateMachine=archived&limit=10")}


def test_archived_executions_answer_as_before_on_both_apis(
        archiving_service: AwsService) -> None:
    service = archiving_service
    sfn = service.client()
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"b": 2, "a": [1, 2.5, "x"]}, "ResultPath": "$.r",
              "Next": "B"},
        "B": {"Type": "Fail", "Error": "Nope", "Cause": "on purpose"}}}
    machine_arn = sfn.create_state_machine(
        name="archived", definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
    arns = [sfn.start_execution(stateMachineArn=machine_arn, name=f"e{n}",
                                input=json.dumps({"n": n, "z": {"y": 1, "x": 2}}))["executionArn"]
            for n in range(3)]
    deadline = time.monotonic() + 30
    while any(sfn.describe_execution(executionArn=a)["status"] == "RUNNING" for a in arns):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    xids = [json.loads(rest(service, "/v1/executions?stateMachine=archived&limit=10"))
            ["executions"][i]["executionId"] for i in range(3)]
    start = archived_total(service)
    before_aws = {a: aws_view(sfn, a, machine_arn) for a in arns}
    before_rest = {x: rest_view(service, x) for x in xids}

    deadline = time.monotonic() + 60
    while archived_total(service) < start + 3:  # the workers archive them after 3 s
        assert time.monotonic() < deadline, "not archived within a minute"
        time.sleep(0.2)

    for a in arns:
        assert aws_view(sfn, a, machine_arn) == before_aws[a]
    for x in xids:
        assert rest_view(service, x) == before_rest[x]
    error = sfn.exceptions.ExecutionDoesNotExist
    with pytest.raises(error):
        sfn.describe_execution(executionArn=arns[0].replace(":e0", ":e9"))


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=cwd, text=True,
                          capture_output=True, timeout=60, check=False)


def test_a_bad_archive_url_is_a_one_line_error(tmp_path: Path, redis_url: str) -> None:
    for url, says in (("http://bucket/x", "s3://bucket/prefix"),
                      ("s3://No_Such/x", "not a valid S3 bucket name")):
        done = run_cli("worker", "--redis-url", redis_url, "--archive-url", url, cwd=tmp_path)
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and says in lines[0], done.stderr
    done = run_cli("worker", "--redis-url", redis_url, "--archive-after", "soon", cwd=tmp_path)
    assert done.returncode == 2 and "no duration" in done.stderr


def test_a_missing_bucket_stops_the_worker_at_start(tmp_path: Path, redis_url: str,
                                                    moto_url: str) -> None:
    done = run_cli("worker", "--redis-url", redis_url, "--archive-url", "s3://not-made-here/x",
                   "--archive-endpoint", moto_url, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not usable: no such bucket" in lines[0] and "s3://not-made-here/x" in lines[0], \
        done.stderr
