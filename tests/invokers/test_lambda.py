"""The Lambda invoker against tests/lambda_service.py, checked with the corpus's AWS results."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import lambda_service
import pytest

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers import Invokers, InvokerSettings

CASES = Path(__file__).resolve().parent.parent / "conformance" / "cases" / "lambda"
DIRECT = "arn:aws:lambda:us-east-1:111111111111:function:"
INVOKE = "arn:aws:states:::lambda:invoke"


def load(name: str) -> dict[str, Any]:
    return json.loads((CASES / f"{name}.json").read_text())


def command(resource: str, input_: Any, **extra: Any) -> InvokeTask:
    fields: dict[str, Any] = {
        "token": "tok", "resource": resource, "input": input_, "state": "step1", "entered": 2,
        "idempotency_key": "x:2", "attempt": 0, "timeout_s": None, "heartbeat_s": None,
        "credentials": None, "execution": "e1", **extra}
    return InvokeTask(**fields)


@pytest.fixture
async def lambda_url(start_app) -> str:
    return await start_app(lambda_service.make_app())


@pytest.fixture
def invokers_for(lambda_url: str):
    """Invokers (use ``async with``) whose Lambda endpoint serves one case's functions."""

    def make(case: str | None = None) -> Invokers:
        endpoint = f"{lambda_url}/{case}" if case else lambda_url
        return Invokers(InvokerSettings(lambda_endpoint=endpoint))

    return make


DIRECT_IDENTITY = sorted(p.stem for p in CASES.glob("lambda_task__invoke_*.json"))
SERVICE_VALUES = sorted(p.stem for p in CASES.glob("lambda_task_service__invoke_*.json"))


@pytest.mark.parametrize("name", DIRECT_IDENTITY)
async def test_direct_arn_results_match_aws(name: str, invokers_for) -> None:
    case = load(name)
    resource = case["definition"]["States"]["step1"]["Resource"]
    async with invokers_for(name) as invokers:
        result = await invokers.invoke(command(resource, case["input"]))
    assert result == {"type": "TaskSucceeded", "token": "tok", "output": case["expected"]["output"]}


@pytest.mark.parametrize("name", SERVICE_VALUES)
async def test_lambda_invoke_results_match_aws(name: str, invokers_for) -> None:
    case = load(name)
    params = {"FunctionName": case["input"]["FunctionName"], "Payload": case["input"]["Payload"]}
    async with invokers_for(name) as invokers:
        result = await invokers.invoke(command(INVOKE, params))
    assert result is not None and result["type"] == "TaskSucceeded"
    output, expected = result["output"], case["expected"]["output"]
    assert list(output) == ["ExecutedVersion", "Payload", "SdkHttpMetadata",
                            "SdkResponseMetadata", "StatusCode"]
    assert output["Payload"] == expected["Payload"]
    assert (output["ExecutedVersion"], output["StatusCode"]) == ("$LATEST", 200)
    http = output["SdkHttpMetadata"]
    assert http["HttpStatusCode"] == 200
    aws_headers = expected["SdkHttpMetadata"]["HttpHeaders"]
    assert http["HttpHeaders"]["Content-Length"] == aws_headers["Content-Length"]
    assert http["AllHttpHeaders"]["X-Amz-Executed-Version"] == ["$LATEST"]
    assert output["SdkResponseMetadata"]["RequestId"] == http["HttpHeaders"]["x-amzn-RequestId"]


async def test_null_payload_reaches_the_function_as_empty_event(invokers_for) -> None:
    async with invokers_for("invoke") as invokers:
        params = {"FunctionName": "lambda_func", "Payload": None}
        result = await invokers.invoke(command(INVOKE, params))
    assert result is not None and result["output"]["Payload"] == {}


async def test_direct_arn_function_error_has_spaced_cause(invokers_for) -> None:
    expected = load("task_lambda__raise_exception")["expected"]
    async with invokers_for("task_lambda__raise_exception") as invokers:
        result = await invokers.invoke(command(f"{DIRECT}lambda_func", {}))
    assert result is not None and result["error"] == expected["error"] == "Exception"
    spaced = '{"errorMessage": "Some exception was raised.", "errorType": '
    assert result["cause"].startswith(spaced)
    cause = json.loads(result["cause"])
    assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert cause["stackTrace"] == expected["cause_json"]["stackTrace"]


async def test_lambda_invoke_function_error_has_compact_cause(invokers_for) -> None:
    name = "task_service_lambda__raise_exception_catch"
    pattern = re.escape('{"errorMessage":"Some exception was raised.","errorType":"Exception",')
    async with invokers_for(name) as invokers:
        params = {"FunctionName": "lambda_func", "Payload": {}}
        result = await invokers.invoke(command(INVOKE, params))
    assert result is not None and result["error"] == "Exception"
    assert re.match(pattern, result["cause"])
    assert json.loads(result["cause"])["errorMessage"] == "Some exception was raised."


async def test_custom_exception_with_empty_message(invokers_for) -> None:
    async with invokers_for("task_lambda__raise_custom_exception") as invokers:
        result = await invokers.invoke(command(f"{DIRECT}lambda_func", {}))
    assert result is not None and result["error"] == "CustomException"
    assert json.loads(result["cause"])["errorMessage"] == ""


@pytest.mark.parametrize("resource", [f"{DIRECT}no_such_lambda_func", INVOKE])
async def test_unknown_function_is_resource_not_found(resource: str, invokers_for) -> None:
    case = load("task_service_lambda__no_such_function")
    async with invokers_for("task_service_lambda__no_such_function") as invokers:
        result = await invokers.invoke(command(resource, {"FunctionName": "no_such_lambda_func"}))
    assert result is not None and result["error"] == case["expected"]["error"]
    assert re.fullmatch(case["volatile_patterns"]["cause"], result["cause"])


async def test_timeout_of_the_state(invokers_for) -> None:
    async with invokers_for("fixed_timeout_lambda") as invokers:
        result = await invokers.invoke(command(f"{DIRECT}lambda_1_func", {}, timeout_s=0.3))
    assert result == {"type": "TaskFailed", "token": "tok", "error": "States.Timeout", "cause": ""}


async def test_large_body_is_returned_whole_for_the_interpreter_to_judge(invokers_for) -> None:
    async with invokers_for("task_lambda_data_limit_exceeded_on_large_utf8_response") as invokers:
        result = await invokers.invoke(command(f"{DIRECT}lambda_func", {}))
    assert result is not None and result["output"] == "a" * lambda_service.LARGE_BODY_CHARS


async def test_functions_by_name_without_a_case(invokers_for) -> None:
    async with invokers_for() as invokers:
        hello = await invokers.invoke(command(f"{DIRECT}return_hello_world", {}))
        params = {"FunctionName": "fn-eval", "Payload": {"a": 1}}
        ident = await invokers.invoke(command(INVOKE, params))
    assert hello is not None and hello["output"] == {"Return": "HelloWorld"}
    assert ident is not None and ident["output"]["Payload"] == {"a": 1}


async def test_callback_variant_returns_none_after_a_successful_invoke(invokers_for) -> None:
    async with invokers_for() as invokers:
        params = {"FunctionName": "identity", "Payload": {"t": "tok"}}
        result = await invokers.invoke(command(f"{INVOKE}.waitForTaskToken", params))
    assert result is None


async def test_unreachable_endpoint_is_an_sdk_client_error(closed_port_url) -> None:
    async with Invokers(InvokerSettings(lambda_endpoint=closed_port_url)) as invokers:
        result = await invokers.invoke(command(f"{DIRECT}f", {}))
    assert result is not None and result["error"] == "Lambda.SdkClientException"
    assert result["cause"].startswith("Unable to execute HTTP request: ")


async def test_no_endpoint_configured_is_a_runtime_error() -> None:
    async with Invokers(InvokerSettings(lambda_endpoint=None)) as invokers:
        result = await invokers.invoke(command(f"{DIRECT}f", {}))
    assert result is not None and result["error"] == "States.Runtime"
    assert "STATEMACHINE_LAMBDA_ENDPOINT" in result["cause"]
