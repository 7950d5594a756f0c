"""StartSyncExecution and TestState through boto3 and the ``aws`` CLI, against a real serve.

botocore sends both operations to ``sync-<endpoint host>`` (the service model's host
prefix), a name that does not resolve for ``127.0.0.1`` or ``localhost``: a client of a
self-hosted endpoint turns that off, as these tests do, with
``AWS_DISABLE_HOST_PREFIX_INJECTION=true`` (boto3 and the ``aws`` CLI) or
``botocore.config.Config(inject_host_prefix=False)``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from botocore.exceptions import ClientError

from tests.aws.conftest import AwsService
from tests.aws.helpers import code as _code
from tests.aws.helpers import define as _define
from tests.conftest import app_in_thread

PREFIX = "arn:aws:states:us-east-1:123456789012"
ROUTE = {"StartAt": "Look", "States": {
    "Look": {"Type": "Pass", "Parameters": {"execution.$": "$$.Execution", "in.$": "$"},
             "Next": "Which"},
    "Which": {"Type": "Choice", "Choices": [
        {"Variable": "$.in.go", "BooleanEquals": True, "Next": "Done"}], "Default": "Stop"},
    "Done": {"Type": "Succeed"},
    "Stop": {"Type": "Fail", "Error": "NoGo", "Cause": "go was not true"}}}


@pytest.fixture(autouse=True)
def no_host_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")






@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    """A real HTTP service for the tasks: POST /echo answers what it was sent."""
    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"got": await request.json(),
                                  "auth": request.headers.get("Authorization")})

    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"oops": True}, status=500)

    app = web.Application()
    app.router.add_post("/echo", answer)
    app.router.add_post("/broken", broken)
    with app_in_thread(app, "echo") as base:
        yield base


def _express_machine(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    """An EXPRESS machine made with CreateStateMachine."""
    made = sfn.create_state_machine(name=name, definition=json.dumps(definition),
                                    roleArn="arn:aws:iam::123456789012:role/x", type="EXPRESS")
    return str(made["stateMachineArn"])


def test_a_standard_machine_is_refused(aws_service: AwsService, sfn: Any) -> None:
    _define(aws_service, "standard", ROUTE)
    with pytest.raises(ClientError) as refused:
        sfn.start_sync_execution(stateMachineArn=f"{PREFIX}:stateMachine:standard")
    assert _code(refused) == "StateMachineTypeNotSupported"
    with pytest.raises(ClientError) as missing:
        sfn.start_sync_execution(stateMachineArn=f"{PREFIX}:stateMachine:nothing")
    assert _code(missing) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as bad:
        sfn.start_sync_execution(stateMachineArn=f"{PREFIX}:stateMachine:standard",
                                 input="{not json")
    assert _code(bad) == "InvalidExecutionInput"
    with pytest.raises(ClientError) as arn:
        sfn.start_sync_execution(stateMachineArn=f"{PREFIX}:activity:standard")
    assert _code(arn) == "InvalidArn"


def test_start_sync_execution(sfn: Any) -> None:
    arn = _express_machine(sfn, "quick", ROUTE)
    done = sfn.start_sync_execution(stateMachineArn=arn, name="first", input='{"go": true}',
                                    traceHeader="Root=1-5759e988-bd862e3fe1be46a994272793")
    assert done["status"] == "SUCCEEDED"
    assert done["executionArn"].startswith(f"{PREFIX}:express:quick:first:")
    output = json.loads(done["output"])
    assert output["execution"]["Id"] == done["executionArn"]
    assert "RedriveCount" not in output["execution"]
    assert done["billingDetails"]["billedMemoryUsedInMB"] == 64
    assert done["startDate"] <= done["stopDate"]
    failed = sfn.start_sync_execution(stateMachineArn=arn, input='{"go": false}',
                                      includedData="METADATA_ONLY")
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "NoGo",
                                                                    "go was not true")
    assert "output" not in failed and failed["inputDetails"] == {"included": False}


def test_start_sync_execution_of_a_version_and_an_alias(sfn: Any) -> None:
    arn = _express_machine(sfn, "versioned", {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": "one", "End": True}}})
    first = sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": "two", "End": True}}}))
    alias = sfn.create_state_machine_alias(
        name="live", routingConfiguration=[{"stateMachineVersionArn": first, "weight": 100}])
    assert json.loads(sfn.start_sync_execution(stateMachineArn=arn)["output"]) == "two"
    by_version = sfn.start_sync_execution(stateMachineArn=first)
    assert json.loads(by_version["output"]) == "one"
    assert by_version["stateMachineArn"] == first
    by_alias = sfn.start_sync_execution(stateMachineArn=alias["stateMachineAliasArn"])
    assert json.loads(by_alias["output"]) == "one"
    with pytest.raises(ClientError) as missing:
        sfn.start_sync_execution(stateMachineArn=f"{arn}:7")
    assert _code(missing) == "StateMachineDoesNotExist"


def test_test_state_of_a_pass_state(sfn: Any) -> None:
    state = {"Type": "Pass", "InputPath": "$.in", "Parameters": {"x.$": "$.x"},
             "ResultPath": "$.out", "Next": "After"}
    done = sfn.test_state(definition=json.dumps(state), input='{"in": {"x": 2}}',
                          inspectionLevel="DEBUG",
                          roleArn="arn:aws:iam::123456789012:role/tester")
    assert (done["status"], done["nextState"]) == ("SUCCEEDED", "After")
    assert json.loads(done["output"]) == {"in": {"x": 2}, "out": {"x": 2}}
    data = done["inspectionData"]
    assert json.loads(data["afterInputPath"]) == {"x": 2}
    assert json.loads(data["afterParameters"]) == {"x": 2}
    info = sfn.test_state(definition=json.dumps(state), input='{"in": {"x": 2}}')
    assert "inspectionData" not in info
    with pytest.raises(ClientError) as invalid:
        sfn.test_state(definition=json.dumps({"Type": "Pass", "Next": 3}))
    assert _code(invalid) == "InvalidDefinition"
    machine = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
                                          "B": {"Type": "Fail", "Error": "E", "Cause": "C"}}}
    failed = sfn.test_state(definition=json.dumps(machine), stateName="B")
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "E", "C")


def test_test_state_calls_an_http_task(aws_service: AwsService, sfn: Any, echo: str) -> None:
    state = {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
             "Parameters": {"ApiEndpoint": f"{echo}/echo", "Method": "POST",
                            "Headers": {"Authorization": "Bearer hidden"},
                            "RequestBody": {"n.$": "$.n"}},
             "ResultSelector": {"body.$": "$.ResponseBody"}, "End": True}
    done = sfn.test_state(definition=json.dumps(state), input='{"n": 3}', inspectionLevel="TRACE")
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"body": {"got": {"n": 3}, "auth": "Bearer hidden"}}
    request = done["inspectionData"]["request"]
    assert json.loads(request["headers"])["Authorization"] == "***"
    assert done["inspectionData"]["response"]["statusCode"] == "200"
    revealed = sfn.test_state(definition=json.dumps(state), input='{"n": 3}',
                              inspectionLevel="TRACE", revealSecrets=True)
    assert json.loads(revealed["inspectionData"]["request"]["headers"])["Authorization"] \
        == "Bearer hidden"
    operator = aws_service.client(*aws_service.create_key("operator"))
    with pytest.raises(ClientError) as secrets:
        operator.test_state(definition=json.dumps(state), input='{"n": 3}', revealSecrets=True)
    assert _code(secrets) == "AccessDeniedException"
    viewer = aws_service.client(*aws_service.create_key("viewer"))
    with pytest.raises(ClientError) as small:
        viewer.test_state(definition=json.dumps(state), input='{"n": 3}')
    assert _code(small) == "AccessDeniedException"
    retried = {**state, "Parameters": {**state["Parameters"], "ApiEndpoint": f"{echo}/broken"},
               "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
               "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}]}
    retriable = sfn.test_state(definition=json.dumps(retried), input='{"n": 3}')
    assert (retriable["status"], retriable["error"]) == ("RETRIABLE", "States.Http.StatusCode.500")
    assert retriable["inspectionData"]["errorDetails"]["retryIndex"] == 0
    caught = sfn.test_state(definition=json.dumps(retried), input='{"n": 3}',
                            stateConfiguration={"retrierRetryCount": 1})
    assert (caught["status"], caught["nextState"]) == ("CAUGHT_ERROR", "Handle")
    mocked = sfn.test_state(definition=json.dumps(retried), input='{"n": 3}',
                            mock={"result": '{"ResponseBody": {"mocked": true}}'})
    assert json.loads(mocked["output"]) == {"body": {"mocked": True}}


@pytest.mark.parametrize("extra", [
    {"context": "{}", "mock": {"result": "{}"}},
    {"stateConfiguration": {"errorCausedByState": "Other"}},
    {"stateConfiguration": {"mapIterationFailureCount": 1}},
])
def test_test_state_refuses_what_it_does_not_apply(sfn: Any, extra: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as refused:
        sfn.test_state(definition=json.dumps({"Type": "Pass", "End": True}), **extra)
    assert _code(refused) == "ValidationException"
    assert "not supported by this service yet" in str(refused.value)


def test_test_state_refuses_a_mock_nested_too_deep(sfn: Any) -> None:
    deep = "[" * 150 + "]" * 150
    with pytest.raises(ClientError) as refused:
        sfn.test_state(definition=json.dumps({"Type": "Task", "Resource": "http://x/y",
                                              "End": True}), mock={"result": deep})
    assert _code(refused) == "ValidationException" and "100 levels" in str(refused.value)


def test_test_state_through_the_aws_cli(aws_service: AwsService) -> None:
    aws = Path(sys.executable).parent / "aws"  # installed with the test extras
    done = subprocess.run(
        [str(aws), "stepfunctions", "test-state", "--endpoint-url", aws_service.endpoint,
         "--definition", json.dumps({"Type": "Pass", "Result": {"ok": True}, "End": True}),
         "--inspection-level", "DEBUG"],
        env={**aws_service.cli_env(), "AWS_DISABLE_HOST_PREFIX_INJECTION": "true"},
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == {"ok": True}
    assert json.loads(answer["inspectionData"]["result"]) == {"ok": True}


def test_an_async_start_of_an_express_machine_runs_durably(sfn: Any, wait_done: Any) -> None:
    arn = _express_machine(sfn, "later", ROUTE)
    started = sfn.start_execution(stateMachineArn=arn, name="async", input='{"go": true}')
    assert started["executionArn"].startswith(f"{PREFIX}:express:later:async:")
    described = wait_done(started["executionArn"])
    assert described["status"] == "SUCCEEDED"
    execution = json.loads(described["output"])["execution"]
    assert execution["Id"] == started["executionArn"] and "RedriveCount" not in execution


async def test_test_state_through_aiobotocore(aws_service: AwsService) -> None:
    from aiobotocore.session import get_session

    session = get_session()
    async with session.create_client(
            "stepfunctions", endpoint_url=aws_service.endpoint, region_name="us-east-1",
            aws_access_key_id=aws_service.key_id,
            aws_secret_access_key=aws_service.secret) as client:
        done = await client.test_state(
            definition=json.dumps({"Type": "Pass", "Parameters": {"twice.$": "States.MathAdd($.n, $.n)"},
                                   "Next": "Then"}),
            input='{"n": 21}', inspectionLevel="DEBUG")
        with pytest.raises(ClientError) as standard:
            await client.start_sync_execution(stateMachineArn=f"{PREFIX}:stateMachine:nothing")
    assert (done["status"], done["nextState"]) == ("SUCCEEDED", "Then")
    assert json.loads(done["output"]) == {"twice": 42}
    assert _code(standard) == "StateMachineDoesNotExist"
