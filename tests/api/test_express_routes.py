"""The REST routes of StartSyncExecution and TestState, answers checked against the OpenAPI
document."""

from __future__ import annotations

from statemachine.security.roles import Role
from tests.api.client import Api
from tests.api.contract import conforms

PASS = {"Type": "Pass", "InputPath": "$.in", "Parameters": {"x.$": "$.x"},
        "ResultPath": "$.out", "Next": "After"}


async def test_a_sync_start_of_a_standard_machine_is_refused(api_alone: Api) -> None:
    api = api_alone
    await api.define("standard", {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    status, body = await api.call("POST", "/v1/state-machines/standard/executions/sync",
                                  json={"input": {}})
    assert status == 400 and body["error"] == "StateMachineTypeNotSupported", body
    status, body = await api.call("POST", "/v1/state-machines/nothing/executions/sync")
    assert status == 404 and body["error"] == "StateMachineDoesNotExist", body
    status, body = await api.call("POST", "/v1/state-machines/standard/executions/sync",
                                  json={"other": 1})
    assert status == 400, body


async def test_a_sync_start_of_an_express_machine(api_alone: Api) -> None:
    api = api_alone
    await api.service.catalog.create("quick", {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": {"got.$": "$"}, "End": True}}}, type="EXPRESS")
    status, body = await api.call("POST", "/v1/state-machines/quick/executions/sync",
                                  json={"input": {"n": 1}, "name": "one"})
    assert status == 200, body
    conforms("SyncExecution", body)
    assert (body["status"], body["output"], body["input"]) == ("SUCCEEDED", {"got": {"n": 1}}, {"n": 1})
    assert body["executionArn"].startswith(
        "arn:aws:states:us-east-1:123456789012:express:quick:one:")
    status, started = await api.call("POST", "/v1/state-machines/quick/executions",
                                     json={"input": {"n": 2}})
    assert status == 201 and started["express"] is True, started  # runs durably, as EXPRESS
    status, body = await api.call("POST", "/v1/state-machines/quick/executions/sync",
                                  json={"version": 1})
    assert status == 404 and body["error"] == "StateMachineDoesNotExist", body


async def test_test_state(api_alone: Api) -> None:
    api = api_alone
    status, body = await api.call("POST", "/v1/test-state", json={
        "definition": PASS, "input": {"in": {"x": 2}}, "inspectionLevel": "DEBUG"})
    assert status == 200, body
    conforms("TestStateResult", body)
    assert (body["status"], body["nextState"]) == ("SUCCEEDED", "After")
    assert body["output"] == {"in": {"x": 2}, "out": {"x": 2}}
    assert body["inspectionData"]["afterInputPath"] == '{"x":2}'
    status, failed = await api.call("POST", "/v1/test-state", json={
        "definition": {"Type": "Fail", "Error": "E"}, "variables": {"v": 1}})
    assert status == 200 and (failed["status"], failed["error"], failed["output"]) == (
        "FAILED", "E", None)
    conforms("TestStateResult", failed)
    operator = await api.key(Role.OPERATOR)
    status, refused = await api.call("POST", "/v1/test-state", auth=operator,
                                     json={"definition": PASS, "revealSecrets": True})
    assert status == 403 and refused["error"] == "AccessDeniedException", refused
    status, admin = await api.call("POST", "/v1/test-state",
                                   json={"definition": PASS, "revealSecrets": True})
    assert status == 200, admin
    task = {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
            "Parameters": {"ApiEndpoint": "https://nowhere.invalid", "Method": "GET"}}
    status, mocked = await api.call("POST", "/v1/test-state", json={
        "definition": task, "mock": {"result": "plain text"}})
    assert status == 200 and mocked["output"] == "plain text", mocked
    status, mocked = await api.call("POST", "/v1/test-state", json={
        "definition": task, "mock": {"errorOutput": {"error": "E", "cause": "C"}}})
    assert status == 200 and (mocked["status"], mocked["error"]) == ("FAILED", "E"), mocked
    viewer = await api.key(Role.VIEWER)
    status, _ = await api.call("POST", "/v1/test-state", auth=viewer, json={"definition": PASS})
    assert status == 403
    for bad in ({}, {"definition": PASS, "inspectionLevel": "LOUD"},
                {"definition": PASS, "revealSecrets": "yes"},
                {"definition": PASS, "retrierRetryCount": -1},
                {"definition": {"Type": "Pass", "Next": 3}},
                {"definition": PASS, "extra": 1}):
        status, body = await api.call("POST", "/v1/test-state", json=bad)
        assert status == 400, (bad, body)
