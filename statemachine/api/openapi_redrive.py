"""The OpenAPI description of redrive (merged into :mod:`.openapi`'s document): the
``/v1/executions/{id}/redrive`` operation, the redrive fields of a described or listed
execution, and the listing's ``redriveFilter``.

Plain data, so that :mod:`.openapi` can import it without a circle.
"""

from __future__ import annotations

from statemachine.api.openapi_parts import Schema, errors, json_body, obj, ok, query, ref
from statemachine.interpreter.redrive import RedriveStatus
from statemachine.service.redrive import MAX_CLIENT_TOKEN, RedriveFilter

__all__ = ["DESCRIBED", "FILTER", "LISTED", "SCHEMAS", "paths"]

_DATE: Schema = {"type": ["string", "null"], "format": "date-time",
                 "description": "When it was last redriven (null: never)"}
_COUNT: Schema = {"type": "integer", "minimum": 0,
                  "description": "How many times it was redriven"}

LISTED: dict[str, Schema] = {"redriveCount": _COUNT, "redriveDate": _DATE}
"""The redrive fields of a listed execution (AWS's ExecutionListItem)."""

DESCRIBED: dict[str, Schema] = {
    **LISTED,
    "redriveStatus": {"enum": [s.value for s in RedriveStatus],
                      "description": "Whether POST .../redrive would resume it now"},
    "redriveStatusReason": {"type": ["string", "null"],
                            "description": "Why it cannot be redriven (AWS's wording), else null"},
}
"""The redrive fields of a described execution (AWS's DescribeExecution)."""

FILTER = query("redriveFilter", {"enum": [f.value for f in RedriveFilter]},
               "Only executions redriven at least once (REDRIVEN) or never (NOT_REDRIVEN)")

SCHEMAS: dict[str, Schema] = {
    "RedriveExecution": obj([], {
        "clientToken": {"type": "string", "minLength": 1, "maxLength": MAX_CLIENT_TOKEN,
                        "description": "Repeating the last redrive's token answers as it did "
                                       "and redrives nothing more"},
    }),
    "RedriveResult": obj(["executionId", "redriveCount", "redriveDate"], {
        "executionId": {"type": "string"},
        "redriveCount": {**_COUNT, "minimum": 1},
        "redriveDate": {"type": "string", "format": "date-time"},
    }),
}


def paths(execution_id: Schema) -> dict[str, Schema]:
    """The redrive operation, with the document's execution id parameter."""
    return {
        "/v1/executions/{id}/redrive": {
            "post": {
                "operationId": "redriveExecution", "tags": ["executions"],
                "summary": "Resume a FAILED, TIMED_OUT or ABORTED execution (ended less than "
                           "14 days ago) in the state that did not succeed, with the same id; "
                           "Map/Parallel iterations and branches that succeeded are not run "
                           "again",
                "parameters": [execution_id],
                "requestBody": json_body(ref("RedriveExecution"), "Client token",
                                         required=False),
                "responses": {
                    "200": ok(ref("RedriveResult"), "It resumes"),
                    "409": ok(ref("Error"), "ExecutionNotRedrivable: running, succeeded, "
                                            "ended over 14 days ago, or past the history limit"),
                    **errors(400, 404),
                },
            },
        },
    }
