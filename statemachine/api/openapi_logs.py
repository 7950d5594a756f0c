"""The OpenAPI description of execution logs (merged into :mod:`.openapi`'s document): a
state machine's ``loggingConfiguration`` and ``GET /v1/executions/{id}/logs``.

Plain data, so that :mod:`.openapi` can import it without a circle.
"""

from __future__ import annotations

from statemachine.api.openapi_parts import Schema, errors, obj, ok, pattern, query, ref
from statemachine.interpreter.execution_log import LogLevel
from statemachine.service.execution_logs import LOG_CURSOR
from statemachine.service.resources import LOG_GROUP

__all__ = ["SCHEMAS", "paths"]

_NUMBER_TEXT: Schema = {"type": "string", "pattern": "^[0-9]+$"}

SCHEMAS: dict[str, Schema] = {
    "LoggingConfiguration": obj([], {
        "level": {"enum": [level.value for level in LogLevel],
                  "description": "Which events an execution's log holds: ALL every event, "
                  "ERROR the failures, FATAL only the execution's failed, timed-out or "
                  "aborted end, OFF none (the default)"},
        "includeExecutionData": {"type": "boolean", "description": "Keep the events' "
                                 "input, output and parameters (default false)"},
        "destinations": {"type": "array", "maxItems": 1, "items": obj(
            ["cloudWatchLogsLogGroup"], {"cloudWatchLogsLogGroup": obj(["logGroupArn"], {
                "logGroupArn": {"type": "string", "pattern": pattern(LOG_GROUP)}})}),
            "description": "AWS's CloudWatch Logs log group: accepted and returned (the AWS "
            "API needs one for a level other than OFF); the log is this service's own"},
    }),
    "LogEvent": obj(["id", "type", "previous_event_id", "event_timestamp", "execution_arn"], {
        "id": {**_NUMBER_TEXT, "description": "The history event's id"},
        "type": {"type": "string", "description": "A Step Functions event type"},
        "details": {"type": "object", "description": "The history event's details (without "
                    "input, output and parameters unless includeExecutionData)"},
        "previous_event_id": _NUMBER_TEXT,
        "event_timestamp": {**_NUMBER_TEXT, "description": "Milliseconds since the epoch"},
        "execution_arn": {"type": "string"},
    }),
    "ExecutionLog": obj(["executionId", "executionArn", "loggingConfiguration", "events",
                         "nextCursor"], {
        "executionId": {"type": "string"},
        "executionArn": {"type": "string"},
        "loggingConfiguration": ref("LoggingConfiguration"),
        "events": {"type": "array", "items": ref("LogEvent")},
        "nextCursor": {"type": ["string", "null"], "description": "Pass as ?cursor= for "
                       "the next page; null once an execution that has ended was read to its "
                       "end (a RUNNING one's last page gives where to read again)"},
    }),
}


def paths(execution_id: Schema, limit: Schema) -> dict[str, Schema]:
    """The log operation, with the document's execution id and page size parameters."""
    return {
        "/v1/executions/{id}/logs": {"get": {
            "operationId": "getExecutionLogs", "tags": ["executions"],
            "summary": "An execution's log: the events its state machine's "
                       "loggingConfiguration logs, as Step Functions writes them to CloudWatch "
                       "Logs, oldest first (derived from its history)",
            "parameters": [execution_id, limit,
                           query("cursor", {"type": "string", "pattern": pattern(LOG_CURSOR)},
                                 "nextCursor of the previous page")],
            "responses": {"200": ok(ref("ExecutionLog"), "A page of the log"),
                          **errors(400, 404)}}},
    }
