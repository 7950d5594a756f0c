"""The AWS operations on executions: start, describe, list, history, stop, callbacks.

Each is a thin translation: ARNs in and out (:mod:`statemachine.language.arns`), JSON
payloads as strings, over the :class:`~statemachine.service.Service` operation the REST
API calls too.
"""

from __future__ import annotations

from typing import Any

import orjson

from statemachine.api.aws.call import Call, Operation
from statemachine.errors import InputError
from statemachine.language.arns import ExecutionArn, InvalidArn, MachineArn, Place, parse
from statemachine.security.roles import Role

__all__ = ["OPERATIONS", "execution_id", "execution_view", "machine_of", "read_payload"]


def machine_of(call: Call, arn: str) -> MachineArn:
    """The state machine (version, alias) an ARN names, in this service's place."""
    parsed = parse(arn)
    if not isinstance(parsed, MachineArn):
        raise InvalidArn(f"Invalid Arn: '{arn}' is not a state machine ARN")
    _ours(call.place, parsed.place, arn)
    return parsed


async def execution_id(call: Call, arn: str) -> str:
    """The id of the execution an ARN names (ExecutionDoesNotExist when none)."""
    parsed = parse(arn)
    if not isinstance(parsed, ExecutionArn):
        raise InvalidArn(f"Invalid Arn: '{arn}' is not an execution ARN")
    _ours(call.place, parsed.place, arn)
    found: str = await call.service.find_execution(parsed.machine, parsed.name)
    return found


def _ours(place: Place, named: Place, arn: str) -> None:
    if named != place:
        raise InvalidArn(f"Invalid Arn: '{arn}': this service's ARNs are in region "
                         f"{place.region}, account {place.account}")


def read_payload(text: Any, field: str, code: str = "InvalidExecutionInput") -> Any:
    """A JSON text field (``input``, ``output``) as its value."""
    if text is None:
        return {}
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InputError(f"Invalid {field}: the {field} must be valid JSON text", code) from None


def execution_view(place: Place, described: dict[str, Any]) -> dict[str, Any]:
    """A described execution (``Service.describe``) as DescribeExecution's output."""
    machine, name = described["stateMachine"], described["name"]
    view = {
        "executionArn": place.execution(machine, name),
        "stateMachineArn": place.machine(machine),
        "name": name,
        "status": described["status"],
        "startDate": described["startDate"],
        "stopDate": described.get("stopDate"),
        "error": described.get("error"),
        "cause": described.get("cause"),
    }
    for field in ("stateMachineVersionArn", "stateMachineAliasArn", "redriveCount",
                  "redriveDate", "redriveStatus", "redriveStatusReason", "traceHeader"):
        view[field] = described.get(field)
    if "input" in described:
        view["input"] = orjson.dumps(described["input"]).decode()
        view["inputDetails"] = {"included": True}
    if described.get("status") == "SUCCEEDED":
        view["output"] = orjson.dumps(described.get("output")).decode()
        view["outputDetails"] = {"included": True}
    return view


async def start_execution(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    machine = machine_of(call, body["stateMachineArn"])
    qualifier = machine.version if machine.version is not None else machine.alias
    started = await call.service.start(machine.name, read_payload(body.get("input"), "input"),
                                       body.get("name"), qualifier=qualifier)
    # An EXPRESS machine's start runs durably too, its ARN an express one (service/express.py).
    express_id = started["executionId"] if started.get("express") else None
    return {"executionArn": call.place.execution(machine.name, started["name"],
                                                 express_id=express_id),
            "startDate": started["startDate"]}


async def describe_execution(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    described = await call.service.describe(await execution_id(call, body["executionArn"]))
    return execution_view(call.place, described)


OPERATIONS: dict[str, Operation] = {
    "StartExecution": Operation(start_execution, Role.OPERATOR),
    "DescribeExecution": Operation(describe_execution, Role.VIEWER),
}
