"""Other AWS clients than boto3: aiobotocore (async) and the ``aws`` CLI, unchanged, against
the service."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.aws.conftest import REGION, AwsService
from tests.aws.helpers import activity_arn, define, execution_arn, pass_machine

Wait = Callable[[str], dict[str, Any]]
AWS_CLI = Path(sys.executable).parent / "aws"


async def test_aiobotocore_start_and_describe(aws_service: AwsService) -> None:
    from aiobotocore.session import get_session

    machine = define(aws_service, "async-hello", pass_machine({"async": True}))
    session = get_session()
    async with session.create_client(
            "stepfunctions", endpoint_url=aws_service.endpoint, region_name=REGION,
            aws_access_key_id=aws_service.key_id,
            aws_secret_access_key=aws_service.secret) as client:
        started = await client.start_execution(stateMachineArn=machine, name="a1",
                                               input='{"from": "aiobotocore"}')
        assert started["executionArn"] == execution_arn("async-hello", "a1")
        deadline = time.monotonic() + 30
        while True:
            described = await client.describe_execution(executionArn=started["executionArn"])
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert described["status"] == "SUCCEEDED"
        assert json.loads(described["output"]) == {"async": True}
        assert json.loads(described["input"]) == {"from": "aiobotocore"}
        listed = await client.list_executions(stateMachineArn=machine)
        assert [e["name"] for e in listed["executions"]] == ["a1"]


def aws(service: AwsService, *args: str) -> Any:
    """``aws stepfunctions <args>`` against the service; its JSON output."""
    done = subprocess.run(
        [str(AWS_CLI), "stepfunctions", *args, "--endpoint-url", service.endpoint,
         "--output", "json"],
        env=service.cli_env(), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_the_aws_cli(aws_service: AwsService, wait_done: Wait) -> None:
    created = aws(aws_service, "create-activity", "--name", "from-the-cli")
    assert created["activityArn"] == activity_arn("from-the-cli")
    listed = aws(aws_service, "list-activities")
    assert "from-the-cli" in [a["name"] for a in listed["activities"]]
    machine = define(aws_service, "cli-hello", pass_machine({"cli": 1}))
    started = aws(aws_service, "start-execution", "--state-machine-arn", machine,
                  "--name", "c1", "--input", '{"x": 1}')
    assert started["executionArn"] == execution_arn("cli-hello", "c1")
    wait_done(started["executionArn"])
    described = aws(aws_service, "describe-execution", "--execution-arn",
                    started["executionArn"])
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"cli": 1}
    history = aws(aws_service, "get-execution-history", "--execution-arn",
                  started["executionArn"], "--reverse-order")
    assert history["events"][0]["type"] == "ExecutionSucceeded"
    assert [e["id"] for e in history["events"]] == list(range(len(history["events"]), 0, -1))
    # the CLI pages by itself: a page size of 2 still gives every event
    paged = aws(aws_service, "get-execution-history", "--execution-arn",
                started["executionArn"], "--page-size", "2")
    assert [e["id"] for e in paged["events"]] == list(range(1, len(history["events"]) + 1))
