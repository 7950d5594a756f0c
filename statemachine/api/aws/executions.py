"""The AWS operations on executions: start, describe, list, history, stop, and the
definition an execution runs (DescribeStateMachineForExecution).

Each is a thin translation: ARNs in and out (:mod:`statemachine.language.arns`), JSON
payloads as strings, ``nextToken`` wrapping the service's cursor
(:mod:`~statemachine.api.aws.paging`), over the :class:`~statemachine.service.Service`
operation the REST API calls too.  Task callbacks are in :mod:`~statemachine.api.aws.tasks`,
ValidateStateMachineDefinition in :mod:`~statemachine.api.aws.validation`.
"""

from __future__ import annotations

from typing import Any

import orjson

from statemachine.api.appkeys import METRICS
from statemachine.api.audit import EXECUTION
from statemachine.api.aws.call import AwsError, Call, Operation
from statemachine.api.aws.paging import page_size, read_token, write_token
from statemachine.errors import InputError
from statemachine.interpreter.execution_log import EXECUTION_DATA
from statemachine.interpreter.records import Status
from statemachine.language.arns import ExecutionArn, InvalidArn, MachineArn, Place, parse
from statemachine.language.values import MAX_NESTING, nested_deeper_than
from statemachine.security.roles import Role

__all__ = ["OPERATIONS", "execution_id", "execution_view", "machine_and_case", "machine_of",
           "ours", "read_payload"]


def machine_and_case(call: Call, arn: str) -> tuple[MachineArn, str | None]:
    """The state machine a start's ARN names and the test case after its ``#``, if any:
    ``<stateMachineArn>#<TestCase>`` runs that case of the service's mock config, as Step
    Functions Local takes it (:mod:`statemachine.service.mocks`)."""
    arn, sharp, case = arn.partition("#")
    return machine_of(call, arn), case if sharp else None


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
    """InvalidArn unless ``named`` (an ARN's region and account) is this service's."""
    if named != place:
        raise InvalidArn(f"Invalid Arn: '{arn}': this service's ARNs are in region "
                         f"{place.region}, account {place.account}")


ours = _ours


def read_payload(text: Any, field: str, code: str = "InvalidExecutionInput") -> Any:
    """A JSON text field (``input``, ``output``, ``variables``) as its value; ``code`` when it
    is not JSON or nests deeper than the REST API allows (the same bound, at the edge)."""
    if text is None:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InputError(f"Invalid {field}: the {field} must be valid JSON text", code) from None
    if nested_deeper_than(value):
        raise InputError(f"Invalid {field}: the {field} nests deeper than {MAX_NESTING} levels",
                         code)
    return value


def execution_view(place: Place, described: dict[str, Any]) -> dict[str, Any]:
    """A described execution (``Service.describe``) as DescribeExecution's output."""
    machine, name = described["stateMachine"], described["name"]
    if described.get("label"):  # a Map Run's child: <machine>/<label> (AWS's labelled ARNs)
        machine = f"{machine}/{described['label']}"
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
    for field in ("mapRunArn", "stateMachineVersionArn", "stateMachineAliasArn", "redriveCount",
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
    machine, test_case = machine_and_case(call, body["stateMachineArn"])
    qualifier = machine.version if machine.version is not None else machine.alias
    started = await call.service.start(machine.name, read_payload(body.get("input"), "input"),
                                       body.get("name"), qualifier=qualifier,
                                       trace_header=body.get("traceHeader"),
                                       test_case=test_case)
    if call.request is not None:  # not an in-process call (an aws-sdk:sfn task)
        call.request[EXECUTION] = started["executionId"]  # for the audit line
        if started.get("created", True):
            call.request.app[METRICS].start_stored(machine.name, call.request,
                                                   call.service.timings)
    # An EXPRESS machine's start runs durably too, its ARN an express one (service/express.py).
    express_id = started["executionId"] if started.get("express") else None
    arn = call.place.execution(machine.name, started["name"], express_id=express_id)
    if not started.get("created", True) and started["status"] != Status.RUNNING:
        # AWS repeats a start only while the execution runs; a closed one's name is taken
        raise AwsError("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
    return {"executionArn": arn, "startDate": started["startDate"]}


async def describe_execution(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    described = await call.service.describe(await execution_id(call, body["executionArn"]))
    return execution_view(call.place, described)


_SUMMARY_EXTRAS = ("stateMachineVersionArn", "stateMachineAliasArn", "redriveCount",
                   "redriveDate")
"""What a listed execution shows only when set (a redriveCount of 0 is not shown)."""


async def list_executions(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """ListExecutions of a state machine (with ``mapRunArn``: api/aws/map_runs.py's)."""
    if body.get("stateMachineArn") is None:
        raise AwsError("ValidationException", "Must specify either a stateMachineArn or a "
                       "mapRunArn")
    machine = machine_of(call, body["stateMachineArn"])
    await call.service.get_machine(machine.name)  # StateMachineDoesNotExist
    status, redrive = body.get("statusFilter"), body.get("redriveFilter")
    kind = f"executions:{machine.name}:{status}:{redrive}"
    cursor = read_token(kind, body.get("nextToken"))
    if status == "PENDING_REDRIVE":
        return {"executions": []}  # a redrive starts at once here: none is ever pending
    page = await call.service.list_executions(machine.name, status,
                                              page_size(body.get("maxResults")), cursor,
                                              redrive_filter=redrive)
    items = []
    for summary in page["executions"]:
        item = {"executionArn": call.place.execution(summary["stateMachine"], summary["name"]),
                "stateMachineArn": call.place.machine(summary["stateMachine"]),
                "name": summary["name"], "status": summary["status"],
                "startDate": summary["startDate"], "stopDate": summary.get("stopDate")}
        item.update({field: summary.get(field) or None for field in _SUMMARY_EXTRAS})
        if _started_through(item, machine, call.place):
            items.append(item)
    return {"executions": items, "nextToken": write_token(kind, page["nextCursor"])}


def _started_through(item: dict[str, Any], machine: MachineArn, place: Place) -> bool:
    """Whether a listed execution was started through the version or alias the listing's
    ARN names (any execution of the machine, for an unqualified ARN)."""
    if machine.version is not None:
        return bool(item["stateMachineVersionArn"] == place.machine(machine.name,
                                                                    machine.version))
    if machine.alias is not None:
        return bool(item["stateMachineAliasArn"] == place.machine(machine.name, machine.alias))
    return True


async def get_execution_history(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    found = await execution_id(call, body["executionArn"])
    reverse = bool(body.get("reverseOrder"))
    kind = f"history:{found}:{'reverse' if reverse else 'forward'}"
    cursor = read_token(kind, body.get("nextToken"))
    page = await call.service.history(found, page_size(body.get("maxResults")), cursor,
                                      reverse=reverse)
    events = page["events"]
    if body.get("includeExecutionData") is False:
        events = [_without_data(event) for event in events]
    return {"events": events, "nextToken": write_token(kind, page["nextCursor"])}


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    return {key: ({k: v for k, v in value.items() if k not in EXECUTION_DATA}
                  if key.endswith("EventDetails") and isinstance(value, dict) else value)
            for key, value in event.items()}


async def stop_execution(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    stopped = await call.service.stop(await execution_id(call, body["executionArn"]),
                                      body.get("error"), body.get("cause"))
    return {"stopDate": stopped["stopDate"]}


async def describe_state_machine_for_execution(call: Call,
                                               body: dict[str, Any]) -> dict[str, Any]:
    described = await call.service.describe(await execution_id(call, body["executionArn"]))
    found: dict[str, Any] = await call.service.catalog.revision(described["stateMachine"],
                                                               described["version"])
    if described.get("mapRunArn"):  # a Map Run's child: the run and its Map's label
        found = {**found, "mapRunArn": described["mapRunArn"], "label": described["label"]}
    return found


OPERATIONS: dict[str, Operation] = {
    "StartExecution": Operation(start_execution, Role.OPERATOR),
    "DescribeExecution": Operation(describe_execution, Role.VIEWER),
    "ListExecutions": Operation(list_executions, Role.VIEWER),
    "GetExecutionHistory": Operation(get_execution_history, Role.VIEWER),
    "StopExecution": Operation(stop_execution, Role.OPERATOR),
    "DescribeStateMachineForExecution": Operation(describe_state_machine_for_execution,
                                                  Role.VIEWER),
}
