"""The AWS operations on Map Runs: DescribeMapRun, ListMapRuns, UpdateMapRun, and
ListExecutions of a Map Run's children (``mapRunArn``), over :mod:`statemachine.service.
map_runs`.  A Map Run's ARN is ``...:mapRun:<machine>/<label>:<id>``; its children's are
``...:execution:<machine>/<label>:<name>``."""

from __future__ import annotations

from typing import Any

from statemachine.api.aws.call import AwsError, Call, Operation
from statemachine.api.aws.executions import execution_id, list_executions, ours
from statemachine.api.aws.paging import page_size, read_token, write_token
from statemachine.errors import NotFound
from statemachine.language.arns import InvalidArn, MapRunArn, Place, parse
from statemachine.security.roles import Role

__all__ = ["OPERATIONS", "execution_arn", "list_run_executions"]


def execution_arn(place: Place, summary: dict[str, Any]) -> str:
    """An execution's ARN from the service's summary of it (a Map Run child's names its
    Map's label after the machine)."""
    machine = summary["stateMachine"]
    if summary.get("label"):
        machine = f"{machine}/{summary['label']}"
    return place.execution(machine, summary["name"])


def _run_id(call: Call, arn: Any) -> str:
    parsed = parse(arn)
    if not isinstance(parsed, MapRunArn):
        raise InvalidArn(f"Invalid Arn: '{arn}' is not a Map Run ARN")
    ours(call.place, parsed.place, arn)
    return parsed.id


async def _owner_arn(call: Call, execution: str) -> str:
    described = await call.service.describe(execution)
    return execution_arn(call.place, described)


async def _view(call: Call, run: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in run.items() if k not in ("mapRunId", "executionId")}
    view["executionArn"] = await _owner_arn(call, run["executionId"])
    return view


async def describe_map_run(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    try:
        run = await call.service.map_runs.describe(_run_id(call, body["mapRunArn"]))
    except NotFound as missing:
        raise AwsError("ResourceNotFound", str(missing)) from None
    return await _view(call, run)


async def list_map_runs(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["executionArn"]
    found = await execution_id(call, arn)
    runs = await call.service.map_runs.of_execution(found)
    kind = f"map-runs:{found}"
    at = int(read_token(kind, body.get("nextToken")) or 0)
    size = page_size(body.get("maxResults"))
    page = runs[at:at + size]
    items = [{"executionArn": arn, "mapRunArn": r["mapRunArn"],
              "stateMachineArn": call.place.machine(r["mapRunArn"].split(":")[6]),
              "startDate": r["startDate"], "stopDate": r["stopDate"]} for r in page]
    more = str(at + size) if at + size < len(runs) else None
    return {"mapRuns": items, "nextToken": write_token(kind, more)}


async def update_map_run(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    try:
        await call.service.map_runs.update(
            _run_id(call, body["mapRunArn"]), body.get("maxConcurrency"),
            body.get("toleratedFailureCount"), body.get("toleratedFailurePercentage"))
    except NotFound as missing:
        raise AwsError("ResourceNotFound", str(missing)) from None
    return {}


async def list_run_executions(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """ListExecutions with ``mapRunArn``: the run's child executions (EXPRESS ones are not
    listed, as AWS's)."""
    if body.get("stateMachineArn") is not None:
        raise AwsError("ValidationException", "Specify either a stateMachineArn or a "
                       "mapRunArn, not both")
    if body.get("redriveFilter") is not None:
        raise AwsError("ValidationException", "redriveFilter is not supported with mapRunArn")
    run_id = _run_id(call, body["mapRunArn"])
    status = body.get("statusFilter")
    kind = f"run-executions:{run_id}:{status}"
    cursor = read_token(kind, body.get("nextToken"))
    if status == "PENDING_REDRIVE":
        return {"executions": []}
    try:
        page = await call.service.map_runs.executions(run_id, status,
                                                      page_size(body.get("maxResults")), cursor)
    except NotFound as missing:
        raise AwsError("ResourceNotFound", str(missing)) from None
    items = []
    for summary in page["executions"]:
        if summary.get("executionType") == "EXPRESS":
            continue  # AWS lists no EXPRESS execution
        machine = f"{summary['stateMachine']}/{summary['label']}"
        items.append({"executionArn": execution_arn(call.place, summary),
                      "stateMachineArn": call.place.machine(machine), "name": summary["name"],
                      "status": summary["status"], "startDate": summary["startDate"],
                      "stopDate": summary.get("stopDate"), "mapRunArn": summary["mapRunArn"],
                      "itemCount": summary["itemCount"]})
    return {"executions": items, "nextToken": write_token(kind, page["nextCursor"])}


async def list_any_executions(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """ListExecutions: of a Map Run (``mapRunArn``) or of a state machine."""
    if body.get("mapRunArn") is not None:
        return await list_run_executions(call, body)
    return await list_executions(call, body)


OPERATIONS: dict[str, Operation] = {
    "ListExecutions": Operation(list_any_executions, Role.VIEWER),
    "DescribeMapRun": Operation(describe_map_run, Role.VIEWER),
    "ListMapRuns": Operation(list_map_runs, Role.VIEWER),
    "UpdateMapRun": Operation(update_map_run, Role.OPERATOR),
}
