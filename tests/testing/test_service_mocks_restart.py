"""A test case survives a crash: the execution record keeps it, so a mocked state stays mocked
after ``serve`` is killed and started again with the mock config; started again without it,
the mocked state fails with ``States.Runtime`` instead of calling the real service.

One ``serve`` after another on the same data folder (its private redis-server keeps the
executions, AOF): each execution waits on an unmocked callback task while ``serve`` is killed,
and is answered after the restart; the mocked task comes next.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.aws.conftest import AwsService, describe_when_done, stop_service
from tests.aws.helpers import code, machine_arn
from tests.testing.service_mocks import Recorder, recording_service, serve, write_files


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with recording_service() as found:
        yield found


def _tokens(recorder: Recorder, count: int, timeout: float = 30) -> dict[str, str]:
    """The task tokens the Gate states sent, by execution input ``id``."""
    deadline = time.monotonic() + timeout
    while len(recorder.bodies("/gate")) < count:
        assert time.monotonic() < deadline, recorder.calls
        time.sleep(0.05)
    return {body["id"]: body["token"] for body in recorder.bodies("/gate")}


def _crash(service: AwsService) -> None:
    service.process.kill()  # no graceful stop: what a crash leaves behind
    service.process.wait(15)


def _answer(service: AwsService, token: str, arn: str) -> dict[str, Any]:
    sfn = service.client()
    sfn.send_task_success(taskToken=token, output=json.dumps({"opened": True}))
    return describe_when_done(sfn, arn)


def test_a_case_outlives_a_crash_and_fails_clearly_without_its_mock_config(
        tmp_path: Path, recorder: Recorder) -> None:
    definitions, mocks = write_files(tmp_path, recorder.base)
    arn = f"{machine_arn('gated')}#AfterGate"
    first = serve(tmp_path, definitions, mocks)
    try:
        sfn = first.client()
        started = {key: sfn.start_execution(stateMachineArn=arn, name=key,
                                            input=json.dumps({"id": key}))["executionArn"]
                   for key in ("kept", "lost")}
        tokens = _tokens(recorder, 2)
    finally:
        _crash(first)

    again = serve(tmp_path, definitions, mocks)  # the same mock config: still mocked
    try:
        done = _answer(again, tokens["kept"], started["kept"])
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"]) == {"id": "kept", "gate": {"opened": True},
                                              "after": {"after": "mocked"}}
    finally:
        stop_service(again)

    bare = serve(tmp_path, definitions, None)  # no mock config any more
    try:
        done = _answer(bare, tokens["lost"], started["lost"])
        assert done["status"] == "FAILED", done
        assert done["error"] == "States.Runtime"
        assert "test case 'AfterGate' of state machine 'gated'" in done["cause"]
        assert "without a mock config" in done["cause"]
        with pytest.raises(ClientError) as error:  # nor can a new one start
            bare.client().start_execution(stateMachineArn=arn, input="{}")
        assert code(error) == "ValidationException"
        assert "runs without a mock config" in error.value.response["Error"]["Message"]
    finally:
        stop_service(bare)
    assert recorder.bodies("/never") == []  # the mocked state never ran for real
