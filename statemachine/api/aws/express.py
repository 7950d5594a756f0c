"""The AWS operations that run in the API process: StartSyncExecution (an EXPRESS execution
start to end, :mod:`statemachine.service.express`; ``<arn>#<TestCase>`` with a mock config's
test case, as StartExecution) and TestState (one state,
:mod:`statemachine.service.probe`)."""

from __future__ import annotations

from typing import Any

from statemachine.api.aws.call import AwsError, Call, Operation
from statemachine.api.aws.executions import machine_and_case, read_payload
from statemachine.security.roles import Role
from statemachine.service.probe import InspectionLevel, Mock

__all__ = ["OPERATIONS"]


async def start_sync_execution(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    machine, test_case = machine_and_case(call, body["stateMachineArn"])
    reply: dict[str, Any] = await call.service.start_sync(
        machine.name, read_payload(body.get("input"), "input"), body.get("name"),
        qualifier=machine.version if machine.version is not None else machine.alias,
        trace_header=body.get("traceHeader"),
        include_data=body.get("includedData", "ALL_DATA") == "ALL_DATA", test_case=test_case)
    return reply


UNAPPLIED = ("context", "stateConfiguration.errorCausedByState",
             "stateConfiguration.mapIterationFailureCount", "stateConfiguration.mapItemReaderData")
"""TestState's fields this service does not apply yet: refused, not silently ignored (a test
that set them would pass for the wrong reason)."""


async def test_state(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    mock = None if body.get("mock") is None else Mock.from_request(body["mock"])
    configuration = body.get("stateConfiguration") or {}
    given = {**{k: v for k, v in body.items() if k == "context"},
             **{f"stateConfiguration.{k}": v for k, v in configuration.items()}}
    unapplied = [name for name in UNAPPLIED if given.get(name) is not None]
    if unapplied:
        raise AwsError("ValidationException", f"TestState's {', '.join(unapplied)} "
                       "is not supported by this service yet")
    reply: dict[str, Any] = await call.service.test_state(
        body["definition"], input=read_payload(body.get("input"), "input"),
        state_name=body.get("stateName"),
        inspection_level=InspectionLevel(body.get("inspectionLevel", InspectionLevel.INFO)),
        variables=read_payload(body.get("variables"), "variables", "ValidationException"),
        reveal_secrets=bool(body.get("revealSecrets")),
        admin=call.may(Role.ADMIN),
        retrier_retry_count=int(configuration.get("retrierRetryCount", 0)), mock=mock)
    return reply


OPERATIONS: dict[str, Operation] = {
    "StartSyncExecution": Operation(start_sync_execution, Role.OPERATOR),
    "TestState": Operation(test_state, Role.OPERATOR),
}
