"""The AWS operations on activities: create, describe, delete, list, GetActivityTask.

An activity is named by its ARN in this service's place (``…:activity:<name>``); each
operation is the service's (:class:`~statemachine.service.activities.ActivityBook`).
``GetActivityTask`` long-polls up to 60 s, as AWS does, and answers ``{}`` at once when the
service shuts down.
"""

from __future__ import annotations

from typing import Any

import orjson

from statemachine.api.aws.call import AwsError, Call, Operation
from statemachine.api.aws.executions import ours
from statemachine.api.aws.paging import page_size, read_token, write_token
from statemachine.api.polling import MAX_POLL_SECONDS
from statemachine.api.polling import poll_activity as long_poll
from statemachine.language.arns import ActivityArn, InvalidArn, parse
from statemachine.security.roles import Role

__all__ = ["OPERATIONS"]


def activity_name(call: Call, arn: str) -> str:
    """The name of the activity an ARN names, in this service's place."""
    parsed = parse(arn)
    if not isinstance(parsed, ActivityArn):
        raise InvalidArn(f"Invalid Arn: '{arn}' is not an activity ARN")
    ours(call.place, parsed.place, arn)
    return parsed.name


def _view(entry: dict[str, Any]) -> dict[str, Any]:
    return {"activityArn": entry["activityArn"], "name": entry["name"],
            "creationDate": entry["createdAt"]}


async def create_activity(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    created = await call.service.create_activity(body["name"], body.get("tags"))
    return {"activityArn": created["activityArn"], "creationDate": created["createdAt"]}


async def describe_activity(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return _view(await call.service.activities.describe(activity_name(call,
                                                                      body["activityArn"])))


async def delete_activity(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    await call.service.activities.delete(activity_name(call, body["activityArn"]))
    return {}


async def list_activities(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    cursor = read_token("activities", body.get("nextToken"))
    page = await call.service.activities.list(page_size(body.get("maxResults")), cursor)
    return {"activities": [_view(entry) for entry in page["activities"]],
            "nextToken": write_token("activities", page["nextCursor"])}


async def get_activity_task(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    name = activity_name(call, body["activityArn"])
    if call.request is None:  # a long poll needs an HTTP caller (see .local)
        raise AwsError("UnknownOperationException", "GetActivityTask needs an HTTP caller")
    task = await long_poll(call.request, name, MAX_POLL_SECONDS, body.get("workerName"))
    if task is None:
        return {}
    return {"taskToken": task["taskToken"], "input": orjson.dumps(task["input"]).decode()}


OPERATIONS: dict[str, Operation] = {
    "CreateActivity": Operation(create_activity, Role.ADMIN),
    "DescribeActivity": Operation(describe_activity, Role.VIEWER),
    "DeleteActivity": Operation(delete_activity, Role.ADMIN),
    "ListActivities": Operation(list_activities, Role.VIEWER),
    "GetActivityTask": Operation(get_activity_task, Role.OPERATOR),
}
