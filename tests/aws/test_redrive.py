"""RedriveExecution through boto3 against a real ``serve``: a failed HTTP task is redriven
after its service recovers; DescribeExecution's redrive fields; AWS's error codes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from botocore.exceptions import ClientError

from tests.aws.conftest import AwsService
from tests.aws.helpers import code as _code
from tests.aws.helpers import define as _define
from tests.conftest import app_in_thread

ARN = "arn:aws:states:us-east-1:123456789012"






def test_redrive_a_failed_http_task_after_its_service_recovers(
        aws_service: AwsService, sfn: Any, wait_done: Any) -> None:
    state = {"up": False, "calls": 0}

    async def handle(request: web.Request) -> web.Response:
        state["calls"] += 1
        if not state["up"]:
            return web.json_response({"message": "down"}, status=503)
        return web.json_response({"paid": True})

    app = web.Application()
    app.router.add_post("/pay", handle)
    with app_in_thread(app, "payments") as url:
        _define(aws_service, "pay", {"StartAt": "Prepare", "States": {
            "Prepare": {"Type": "Pass", "Result": {"amount": 5}, "Next": "Pay"},
            "Pay": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                    "Parameters": {"ApiEndpoint": f"{url}/pay", "Method": "POST",
                                   "RequestBody.$": "$"},
                    "ResultSelector": {"paid.$": "$.ResponseBody.paid",
                                       "redrives.$": "$$.Execution.RedriveCount"},
                    "End": True}}})
        arn = sfn.start_execution(stateMachineArn=f"{ARN}:stateMachine:pay",
                                  name="order-1")["executionArn"]
        failed = wait_done(arn)
        assert failed["status"] == "FAILED" and failed["error"] == "States.Http.StatusCode.503"
        assert failed["redriveStatus"] == "REDRIVABLE" and failed["redriveCount"] == 0
        assert state["calls"] == 1

        state["up"] = True
        redriven = sfn.redrive_execution(executionArn=arn, clientToken="first-try")
        again = sfn.redrive_execution(executionArn=arn, clientToken="first-try")
        assert again["redriveDate"] == redriven["redriveDate"]  # datetimes, parsed by botocore
        done = wait_done(arn)
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"]) == {"paid": True, "redrives": 1}
        assert done["redriveCount"] == 1 and done["redriveDate"] == redriven["redriveDate"]
        assert done["redriveStatus"] == "NOT_REDRIVABLE"
        assert done["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
        assert state["calls"] == 2

        with pytest.raises(ClientError) as succeeded:
            sfn.redrive_execution(executionArn=arn)
        assert _code(succeeded) == "ExecutionNotRedrivable"


def test_redrive_refusals(aws_service: AwsService, sfn: Any) -> None:
    _define(aws_service, "sleepy", {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 600, "End": True}}})
    arn = sfn.start_execution(stateMachineArn=f"{ARN}:stateMachine:sleepy")["executionArn"]
    with pytest.raises(ClientError) as running:
        sfn.redrive_execution(executionArn=arn)
    assert _code(running) == "ExecutionNotRedrivable"
    with pytest.raises(ClientError) as missing:
        sfn.redrive_execution(executionArn=f"{ARN}:execution:sleepy:nobody")
    assert _code(missing) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as bad:
        sfn.redrive_execution(executionArn=f"{ARN}:stateMachine:sleepy")
    assert _code(bad) == "InvalidArn"
    viewer = aws_service.client(*aws_service.create_key("viewer"))
    with pytest.raises(ClientError) as denied:
        viewer.redrive_execution(executionArn=arn)
    assert _code(denied) == "AccessDeniedException"


def test_redrive_with_the_aws_cli(aws_service: AwsService, sfn: Any, wait_done: Any) -> None:
    import subprocess
    import sys
    from pathlib import Path

    _define(aws_service, "boom", {"StartAt": "F", "States": {
        "F": {"Type": "Fail", "Error": "Boom", "Cause": "always"}}})
    arn = sfn.start_execution(stateMachineArn=f"{ARN}:stateMachine:boom")["executionArn"]
    assert wait_done(arn)["status"] == "FAILED"
    aws = [str(Path(sys.executable).parent / "aws"), "stepfunctions", "--endpoint-url",
           aws_service.endpoint, "--output", "json"]
    result = subprocess.run([*aws, "redrive-execution", "--execution-arn", arn],
                            env=aws_service.cli_env(), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "redriveDate" in json.loads(result.stdout)
    failed_again = wait_done(arn)
    assert failed_again["status"] == "FAILED" and failed_again["redriveCount"] == 1
