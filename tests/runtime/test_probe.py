"""TestState through the Service: one state run once, its outcome and its inspection data;
HTTP tasks call a real aiohttp server."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp import web

from statemachine.errors import DefinitionError, InputError
from statemachine.service.probe import InspectionLevel

DEBUG, TRACE = InspectionLevel.DEBUG, InspectionLevel.TRACE


def http_task(url: str, **extra: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": url, "Method": "POST",
                           "Headers": {"Authorization": "Bearer s3cret", "X-Trace": "t"},
                           "QueryParameters": {"q": "1"}, "RequestBody": {"n.$": "$.n"}},
            **extra}


async def test_a_pass_state_shows_each_step_of_its_data_flow(runtime: Any) -> None:
    state = {"Type": "Pass", "InputPath": "$.in", "Parameters": {"doubled.$": "$.x"},
             "ResultPath": "$.out", "Next": "After"}
    async with runtime() as rt:
        info = await rt.service.test_state(orjson.dumps(state).decode(), input={"in": {"x": 2}})
        assert info == {"status": "SUCCEEDED", "output": '{"in":{"x":2},"out":{"doubled":2}}',
                        "error": None, "cause": None, "nextState": "After"}
        debug = await rt.service.test_state(state, input={"in": {"x": 2}}, inspection_level=DEBUG)
        data = debug["inspectionData"]
        assert data["input"] == '{"in":{"x":2}}'
        assert data["afterInputPath"] == '{"x":2}'
        assert data["afterParameters"] == data["result"] == '{"doubled":2}'
        assert data["afterResultPath"] == debug["output"] and data["variables"] == "{}"


async def test_choice_fail_and_wait_states(runtime: Any) -> None:
    choice = {"Type": "Choice", "Default": "Other", "Choices": [
        {"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Big"},
        {"Variable": "$.n", "NumericLessThan": 0, "Next": "TestState"}]}
    async with runtime() as rt:
        service = rt.service
        assert (await service.test_state(choice, input={"n": 9}))["nextState"] == "Big"
        assert (await service.test_state(choice, input={"n": 1}))["nextState"] == "Other"
        # A state that goes to itself: the test stops there instead of looping.
        assert (await service.test_state(choice, input={"n": -1}))["nextState"] == "TestState"
        failed = await service.test_state({"Type": "Fail", "Error": "Nope", "Cause": "because"})
        assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Nope", "because")
        assert failed["output"] is None and failed["nextState"] is None
        waited = await service.test_state({"Type": "Wait", "Seconds": 86400, "End": True},
                                          input={"a": 1})
        assert (waited["status"], waited["output"], waited["nextState"]) == ("SUCCEEDED", '{"a":1}', None)


async def test_a_state_of_a_whole_machine_and_variables_in_jsonata(runtime: Any) -> None:
    machine = {"QueryLanguage": "JSONata", "StartAt": "First", "States": {
        "First": {"Type": "Pass", "Next": "Count"},
        "Count": {"Type": "Pass", "Assign": {"total": "{% $total + $states.input.n %}"},
                  "Output": "{% {'total': $total + $states.input.n} %}", "End": True}}}
    async with runtime() as rt:
        done = await rt.service.test_state(machine, state_name="Count", input={"n": 2},
                                           variables={"total": 40}, inspection_level=DEBUG)
        assert done["status"] == "SUCCEEDED" and orjson.loads(done["output"]) == {"total": 42}
        assert orjson.loads(done["inspectionData"]["variables"]) == {"total": 42}
        with pytest.raises(InputError) as unnamed:
            await rt.service.test_state(machine)
        assert unnamed.value.code == "InvalidDefinition"
        with pytest.raises(InputError):
            await rt.service.test_state(machine, state_name="Missing")


async def test_bad_requests_are_refused(runtime: Any) -> None:
    async with runtime() as rt:
        with pytest.raises(DefinitionError):
            await rt.service.test_state({"Type": "Pass", "Next": 3})
        with pytest.raises(InputError) as text:
            await rt.service.test_state("{not json")
        assert text.value.code == "InvalidDefinition"
        with pytest.raises(InputError) as parallel:
            await rt.service.test_state({"Type": "Parallel", "Branches": [], "End": True})
        assert parallel.value.code == "InvalidDefinition"
        with pytest.raises(InputError) as callback:
            await rt.service.test_state({"Type": "Task", "End": True,
                                         "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken"})
        assert callback.value.code == "InvalidDefinition"
        with pytest.raises(InputError) as bad_variables:
            await rt.service.test_state({"Type": "Pass", "End": True}, variables=[1])
        assert bad_variables.value.code == "ValidationException"
        with pytest.raises(InputError) as secrets:
            await rt.service.test_state({"Type": "Pass", "End": True}, reveal_secrets=True)
        assert secrets.value.code == "AccessDeniedException"


async def test_an_http_task_is_really_called_and_traced(runtime: Any, serve_app: Any) -> None:
    calls: list[dict[str, Any]] = []

    async def echo(request: web.Request) -> web.Response:
        calls.append({"query": dict(request.query), "auth": request.headers.get("Authorization"),
                      "body": await request.json()})
        return web.json_response({"seen": calls[-1]["body"]}, headers={"X-Answer": "yes"})

    app = web.Application()
    app.router.add_post("/echo", echo)
    async with serve_app(app) as base, runtime() as rt:
        state = http_task(f"{base}/echo", ResultSelector={"body.$": "$.ResponseBody"},
                          ResultPath="$.result", End=True)
        done = await rt.service.test_state(state, input={"n": 7}, inspection_level=TRACE)
        assert done["status"] == "SUCCEEDED", done
        assert calls == [{"query": {"q": "1"}, "auth": "Bearer s3cret", "body": {"n": 7}}]
        data = done["inspectionData"]
        assert orjson.loads(data["afterResultSelector"]) == {"body": {"seen": {"n": 7}}}
        assert orjson.loads(done["output"]) == {"n": 7, "result": {"body": {"seen": {"n": 7}}}}
        request, response = data["request"], data["response"]
        assert (request["method"], request["url"]) == ("POST", f"{base}/echo?q=1")
        assert orjson.loads(request["headers"]) == {"Authorization": "***", "X-Trace": "t"}
        assert orjson.loads(request["body"]) == {"n": 7}
        assert (response["statusCode"], response["statusMessage"]) == ("200", "OK")
        assert orjson.loads(response["body"]) == {"seen": {"n": 7}}
        assert orjson.loads(response["headers"])["x-answer"] == ["yes"]
        revealed = await rt.service.test_state(state, input={"n": 7}, inspection_level=TRACE,
                                               reveal_secrets=True, admin=True)
        assert orjson.loads(revealed["inspectionData"]["request"]["headers"])["Authorization"] \
            == "Bearer s3cret"


async def test_retry_and_catch_decide_a_failed_tasks_outcome(runtime: Any, serve_app: Any) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"oops": True}, status=503)

    app = web.Application()
    app.router.add_post("/broken", broken)
    async with serve_app(app) as base, runtime() as rt:
        state = http_task(f"{base}/broken", Retry=[
            {"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1},
            {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 2}],
            Catch=[{"ErrorEquals": ["States.Timeout"], "Next": "Never"},
                   {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}],
            End=True)
        retriable = await rt.service.test_state(state, input={"n": 1}, inspection_level=TRACE)
        assert (retriable["status"], retriable["error"]) == ("RETRIABLE", "States.Http.StatusCode.503")
        assert retriable["inspectionData"]["errorDetails"] == {
            "retryIndex": 1, "retryBackoffIntervalSeconds": 3}
        assert retriable["inspectionData"]["response"]["statusCode"] == "503"
        caught = await rt.service.test_state(state, input={"n": 1}, retrier_retry_count=2)
        assert (caught["status"], caught["nextState"]) == ("CAUGHT_ERROR", "Recover")
        assert caught["inspectionData"] == {"errorDetails": {"catchIndex": 1}}
        output = orjson.loads(caught["output"])
        assert output["n"] == 1 and output["error"]["Error"] == "States.Http.StatusCode.503"
        bare = await rt.service.test_state({**state, "Retry": [], "Catch": []}, input={"n": 1})
        assert (bare["status"], bare["error"]) == ("FAILED", "States.Http.StatusCode.503")


async def test_a_mock_stands_for_the_tasks_call(runtime: Any) -> None:
    from statemachine.service.probe import Mock

    waiting = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
               "Parameters": {"QueueUrl": "https://nowhere.invalid/q", "MessageBody.$": "$"},
               "ResultSelector": {"answer.$": "$.a"}, "ResultPath": "$.r", "Next": "After",
               "Catch": [{"ErrorEquals": ["Boom"], "Next": "Mend"}]}
    async with runtime() as rt:
        done = await rt.service.test_state(waiting, input={"n": 1}, inspection_level=DEBUG,
                                           mock=Mock.from_request({"result": '{"a": 5}'}))
        assert (done["status"], done["nextState"]) == ("SUCCEEDED", "After")
        assert orjson.loads(done["output"]) == {"n": 1, "r": {"answer": 5}}
        assert done["inspectionData"]["result"] == '{"a":5}'
        caught = await rt.service.test_state(waiting, input={"n": 1}, mock=Mock.from_request(
            {"errorOutput": {"error": "Boom", "cause": "mocked"}}))
        assert (caught["status"], caught["nextState"], caught["error"]) == (
            "CAUGHT_ERROR", "Mend", "Boom")
        with pytest.raises(InputError) as not_a_task:
            await rt.service.test_state({"Type": "Pass", "End": True},
                                        mock=Mock.from_request({"result": "{}"}))
        assert not_a_task.value.code == "InvalidDefinition"
        for bad in ({}, {"result": "{", }, {"result": "1", "errorOutput": {"error": "E"}}):
            with pytest.raises(InputError) as refused:
                Mock.from_request(bad)
            assert refused.value.code == "ValidationException"
