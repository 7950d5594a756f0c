"""The OpenAPI description of the activity operations beyond create and poll (merged into
:mod:`.openapi`'s document): list, describe and delete, as AWS's ListActivities,
DescribeActivity and DeleteActivity.

Plain data, so that :mod:`.openapi` can import it without a circle.
"""

from __future__ import annotations

from statemachine.api.openapi_parts import Schema, cursor, errors, obj, ok, path_param, ref
from statemachine.service.activities import ACTIVITIES_CURSOR

__all__ = ["SCHEMAS", "paths"]

SCHEMAS: dict[str, Schema] = {
    "ActivityPage": obj(["activities", "nextCursor"], {
        "activities": {"type": "array", "items": ref("Activity")},
        "nextCursor": {"type": ["string", "null"],
                       "description": "Pass as cursor= for the next page (null: the last)"},
    }),
}


def paths(name: Schema, limit: Schema) -> dict[str, Schema]:
    """The operations, with the document's name schema and page size parameter."""
    activity = path_param("name", "Activity name", name)
    return {
        "/v1/activities": {
            "get": {
                "operationId": "listActivities", "tags": ["activities"],
                "summary": "Activities, by name",
                "parameters": [limit, cursor(ACTIVITIES_CURSOR)],
                "responses": {"200": ok(ref("ActivityPage"), "A page of activities"),
                              **errors(400)},
            },
        },
        "/v1/activities/{name}": {
            "get": {
                "operationId": "describeActivity", "tags": ["activities"],
                "summary": "Describe an activity",
                "parameters": [activity],
                "responses": {"200": ok(ref("Activity"), "The activity"),
                              **errors(400, 404)},
            },
            "delete": {
                "operationId": "deleteActivity", "tags": ["activities"],
                "summary": "Delete an activity (no error when there is none: AWS's "
                           "DeleteActivity); tasks already waiting for it stay",
                "parameters": [activity],
                "responses": {"204": {"description": "Deleted (or there was none)"},
                              **errors(400)},
            },
        },
    }

