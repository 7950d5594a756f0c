"""The OpenAPI description of Map Runs (merged into :mod:`.openapi`'s document): a
Distributed Map's runs by execution, one run described and updated, its child executions.

Plain data, so that :mod:`.openapi` can import it without a circle.
"""

from __future__ import annotations

from statemachine.api.openapi_parts import (
    Schema,
    errors,
    json_body,
    obj,
    ok,
    path_param,
    query,
    ref,
)
from statemachine.interpreter.records import Status
from statemachine.service.map_runs import MAX_CONCURRENCY, MAX_COUNT

__all__ = ["SCHEMAS", "paths"]

_COUNT: Schema = {"type": "integer", "minimum": 0}
_COUNTS = obj(["pending", "running", "succeeded", "failed", "timedOut", "aborted", "total",
               "resultsWritten", "failuresNotRedrivable", "pendingRedrive"],
              {k: _COUNT for k in ("pending", "running", "succeeded", "failed", "timedOut",
                                   "aborted", "total", "resultsWritten",
                                   "failuresNotRedrivable", "pendingRedrive")})
_DATE: Schema = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS: dict[str, Schema] = {
    "MapRunCounts": _COUNTS,
    "MapRun": obj(["mapRunId", "mapRunArn", "executionId", "status", "startDate", "stopDate",
                   "maxConcurrency", "toleratedFailurePercentage", "toleratedFailureCount",
                   "itemCounts", "executionCounts", "redriveCount", "redriveDate"], {
        "mapRunId": {"type": "string", "description": "The id its ARN ends with"},
        "mapRunArn": {"type": "string"},
        "executionId": {"type": "string", "description": "The execution it began in"},
        "status": {"enum": ["RUNNING", "SUCCEEDED", "FAILED", "ABORTED"]},
        "startDate": {"type": "string", "format": "date-time"},
        "stopDate": _DATE,
        "maxConcurrency": {**_COUNT, "description": "Children at most at once (0: no limit)"},
        "toleratedFailurePercentage": {"type": "number", "minimum": 0, "maximum": 100},
        "toleratedFailureCount": _COUNT,
        "itemCounts": ref("MapRunCounts"),
        "executionCounts": ref("MapRunCounts"),
        "redriveCount": _COUNT,
        "redriveDate": _DATE,
    }),
    "MapRunList": obj(["mapRuns"], {"mapRuns": {"type": "array", "items": ref("MapRun")}}),
    "UpdateMapRun": {**obj([], {
        "maxConcurrency": {**_COUNT, "maximum": MAX_CONCURRENCY,
                           "description": "Raised: more children start at once"},
        "toleratedFailureCount": {**_COUNT, "maximum": MAX_COUNT},
        "toleratedFailurePercentage": {"type": "number", "minimum": 0, "maximum": 100},
    }), "minProperties": 1},
    "MapRunExecutionList": obj(["executions", "nextCursor"], {
        "executions": {"type": "array", "items": {"type": "object"}},
        "nextCursor": {"type": ["string", "null"]},
    }, closed=False),
}

_RUN_ID = path_param("id", "Map Run id (mapRunId: what its ARN ends with)")


def paths(execution_id: Schema, limit: Schema) -> dict[str, Schema]:
    """The Map Run operations, with the document's execution id and page size parameters."""
    return {
        "/v1/executions/{id}/map-runs": {"get": {
            "operationId": "listMapRuns", "tags": ["map runs"],
            "summary": "The Map Runs of an execution's Distributed Maps, oldest first",
            "parameters": [execution_id],
            "responses": {"200": ok(ref("MapRunList"), "Its Map Runs"), **errors(404)}}},
        "/v1/map-runs/{id}": {
            "get": {"operationId": "describeMapRun", "tags": ["map runs"],
                    "summary": "A Map Run: status, settings, counts of items and children",
                    "parameters": [_RUN_ID],
                    "responses": {"200": ok(ref("MapRun"), "The Map Run"), **errors(404)}},
            "patch": {"operationId": "updateMapRun", "tags": ["map runs"],
                      "summary": "Change a running Map Run's maxConcurrency and tolerated "
                                 "failures; applies at once (400 ValidationException once it "
                                 "has ended)",
                      "parameters": [_RUN_ID],
                      "requestBody": json_body(ref("UpdateMapRun"), "At least one field"),
                      "responses": {"200": ok(ref("MapRun"), "The Map Run after the change"),
                                    **errors(400, 404)}}},
        "/v1/map-runs/{id}/executions": {"get": {
            "operationId": "listMapRunExecutions", "tags": ["map runs"],
            "summary": "The Map Run's child executions, in item order",
            "parameters": [_RUN_ID,
                           query("status", {"enum": [s.value for s in Status]},
                                 "Only executions with this status"),
                           limit,
                           query("cursor", {"type": "string", "pattern": "^[0-9]{1,12}$"},
                                 "nextCursor of the previous page")],
            "responses": {"200": ok(ref("MapRunExecutionList"), "A page of children"),
                          **errors(404)}}},
    }
