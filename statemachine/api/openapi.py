"""The OpenAPI 3.1 document served at ``GET /openapi.json``.

Written as data, built once per process.  A test checks that every route of the
application appears here with its method, so the document cannot silently fall behind.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from statemachine.api import openapi_connections
from statemachine.api.problems import (
    MAX_CAUSE_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_QUERY_LENGTH,
    MAX_TOKEN_LENGTH,
    MAX_VERSION,
)
from statemachine.interpreter.records import Status
from statemachine.service import DEAD_ID, EXECUTIONS_CURSOR, HISTORY_CURSOR
from statemachine.web import ASSETS

__all__ = ["document"]

JSON = "application/json"
Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], props: dict[str, Schema], *, closed: bool = True) -> Schema:
    schema: Schema = {"type": "object", "properties": props, "required": required}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _json_body(schema: Schema, description: str, *, required: bool = True) -> Schema:
    return {"description": description, "required": required,
            "content": {JSON: {"schema": schema}}}


def _ok(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


ERROR_TEXTS = {
    400: "Bad request: malformed JSON, a field of the wrong type, an unknown field, a bad name, "
         "a query parameter out of range or given empty",
    404: "No such state machine, execution, activity or dead letter",
    409: "Conflict: an execution of that name exists with another input",
    413: "Body or payload too large (payloads are limited to 256 KiB)",
    415: "The body was not sent as application/json",
    500: "Internal error (details are in the server log only)",
    503: "Redis is not reachable",
}


def _errors(*statuses: int) -> dict[str, Schema]:
    return {str(s): _ok(_ref("Error"), ERROR_TEXTS[s]) for s in statuses}


NAME: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH,
                "pattern": "^[^\\s<>{}\\[\\]?*\"#%\\\\^|~`$&,;:/\\x00-\\x1f\\x7f-\\x9f]+$"}
DATE: Schema = {"type": "string", "format": "date-time"}
ANY: Schema = {"description": "Any JSON value"}
NULLABLE_STR: Schema = {"type": ["string", "null"]}
STATUS: Schema = {"enum": [status.value for status in Status]}


def _schemas() -> dict[str, Schema]:
    return {
        "Error": _obj(["error", "message"], {
            "error": {"type": "string", "description": "A stable error code, e.g. NotFound"},
            "message": {"type": "string"},
        }, closed=False),
        "Diagnostic": _obj(["pointer", "code", "message", "line"], {
            "pointer": {"type": "string", "description": "JSON pointer into the definition"},
            "code": {"type": "string"},
            "message": {"type": "string"},
            "line": {"type": ["integer", "null"]},
            "file": {"type": "string"},
        }),
        "InvalidDefinition": _obj(["error", "message", "diagnostics"], {
            "error": {"const": "InvalidDefinition"},
            "message": {"type": "string"},
            "diagnostics": {"type": "array", "items": _ref("Diagnostic")},
        }),
        "CreateStateMachine": _obj(["name", "definition"], {
            "name": NAME,
            "definition": {"oneOf": [{"type": "object"}, {"type": "string"}],
                           "description": "An ASL definition: an object, or JSON/YAML text"},
            "substitutions": {"type": "object", "additionalProperties": {"type": "string"},
                              "description": "Values for ${NAME} placeholders"},
        }),
        "StateMachine": _obj(["name", "version", "createdAt"], {
            "name": NAME,
            "version": {"type": "integer", "minimum": 1},
            "createdAt": DATE,
            "definition": {"type": "object"},
        }, closed=False),
        "StateMachineList": _obj(["stateMachines"], {
            "stateMachines": {"type": "array", "items": _ref("StateMachine")},
        }),
        "StartExecution": _obj([], {
            "input": {**ANY, "description": "The execution input (default {}); at most 256 KiB"},
            "name": {**NAME, "description": "Execution name; starting again with the same "
                     "name and input returns the same execution"},
        }),
        "ExecutionStarted": _obj(["executionId", "name", "stateMachine", "status"], {
            "executionId": {"type": "string"},
            "name": {"type": "string"},
            "stateMachine": {"type": "string"},
            "version": {"type": "integer"},
            "startDate": DATE,
            "status": STATUS,
            "created": {"type": "boolean",
                        "description": "false when an idempotent start found the execution"},
        }, closed=False),
        "Execution": _obj(["executionId", "stateMachine", "status", "input", "output", "error",
                           "cause", "startDate", "stopDate", "stalled"], {
            "executionId": {"type": "string"},
            "name": {"type": "string"},
            "stateMachine": {"type": "string"},
            "version": {"type": "integer"},
            "status": STATUS,
            "input": ANY,
            "output": ANY,
            "error": NULLABLE_STR,
            "cause": NULLABLE_STR,
            "startDate": DATE,
            "stopDate": {"type": ["string", "null"], "format": "date-time"},
            "stalled": {"type": "boolean", "description": "true while a dead letter holds "
                        "work of this RUNNING execution (or of its Map/Parallel children): it "
                        "will not move on until the dead letter is requeued"},
            "stalledBy": {"type": "array", "items": _ref("Stall"),
                          "description": "The dead letters holding it up, newest first "
                          "(only when stalled)"},
        }, closed=False),
        "Stall": _obj(["id", "kind", "executionId", "error", "at"], {
            "id": {"type": "string", "pattern": "^[0-9]+-[0-9]+-[0-9]+$",
                   "description": "The dead letter: pass it to requeue"},
            "kind": {"enum": ["ready", "tasks", None]},
            "executionId": {**NULLABLE_STR, "description": "The execution or child the "
                            "message names"},
            "error": {"type": "string", "description": "The exception of its last delivery"},
            "at": {"type": ["integer", "null"],
                   "description": "When it was moved, in milliseconds since the epoch"},
        }, closed=False),
        "ExecutionSummary": _obj(["executionId", "name", "stateMachine", "status",
                                  "startDate", "stopDate"], {
            "executionId": {"type": "string"},
            "name": {"type": "string"},
            "stateMachine": {"type": "string"},
            "version": {"type": "integer"},
            "status": STATUS,
            "startDate": DATE,
            "stopDate": {"type": ["string", "null"], "format": "date-time"},
        }, closed=False),
        "ExecutionList": _obj(["executions", "nextCursor"], {
            "executions": {"type": "array", "items": _ref("ExecutionSummary")},
            "nextCursor": {**NULLABLE_STR, "description": "Pass as ?cursor= for the next page"},
        }),
        "HistoryEvent": _obj(["id", "type", "timestamp"], {
            "id": {"type": "integer"},
            "previousEventId": {"type": "integer"},
            "type": {"type": "string", "description": "A Step Functions event type, e.g. "
                     "ExecutionStarted, TaskStateEntered, TaskSucceeded"},
            "timestamp": {"type": "integer", "description": "Milliseconds since the epoch"},
        }, closed=False),
        "History": _obj(["events", "nextCursor"], {
            "events": {"type": "array", "items": _ref("HistoryEvent")},
            "nextCursor": NULLABLE_STR,
        }),
        "StopExecution": _obj([], {
            "error": {"type": "string", "maxLength": MAX_ERROR_LENGTH},
            "cause": {"type": "string", "maxLength": MAX_CAUSE_LENGTH},
        }),
        "StopResult": _obj(["executionId", "status", "stopDate"], {
            "executionId": {"type": "string"},
            "status": {**STATUS, "description": f"{Status.RUNNING} while the stop is being "
                       "applied, else the final status (stopping a finished execution changes "
                       "nothing)"},
            "stopDate": {"type": ["string", "null"], "format": "date-time"},
        }, closed=False),
        "TaskSuccess": _obj(["taskToken", "output"], {
            "taskToken": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_LENGTH},
            "output": {**ANY, "description": "The task's result; at most 256 KiB"},
        }),
        "TaskFailure": _obj(["taskToken"], {
            "taskToken": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_LENGTH},
            "error": {"type": "string", "maxLength": MAX_ERROR_LENGTH},
            "cause": {"type": "string", "maxLength": MAX_CAUSE_LENGTH},
        }),
        "TaskHeartbeat": _obj(["taskToken"], {
            "taskToken": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_LENGTH},
        }),
        "Empty": {"type": "object", "maxProperties": 0},
        "CreateActivity": _obj(["name"], {"name": NAME}),
        "Activity": _obj(["name", "activityArn", "createdAt"], {
            "name": NAME, "activityArn": {"type": "string"}, "createdAt": DATE,
        }, closed=False),
        "PollActivity": _obj([], {"workerName": {"type": "string", "maxLength": 80}}),
        "ActivityTask": _obj(["taskToken", "input"], {
            "taskToken": {"type": "string"}, "input": ANY,
        }, closed=False),
        "Health": _obj(["status"], {"status": {"const": "ok"}}),
        "DeadLetter": _obj(["id", "shard", "stream", "kind", "group", "entryId", "executionId",
                            "message", "error", "consumer", "at"], {
            "id": {"type": "string", "pattern": "^[0-9]+-[0-9]+-[0-9]+$",
                   "description": "<shard>-<dead-letter stream id>: pass it to requeue"},
            "shard": {"type": "integer", "minimum": 0},
            "stream": {"type": "string", "description": "The Redis stream it came from"},
            "kind": {"enum": ["ready", "tasks", None],
                     "description": "ready: a transition's work item; tasks: a task dispatch"},
            "group": {"type": "string", "description": "The stream's consumer group"},
            "entryId": {"type": "string", "description": "Its id in the stream it came from"},
            "executionId": {**NULLABLE_STR, "description": "The execution the message names"},
            "message": {"type": "string", "description": "The work item as stored (JSON text, "
                        "unless it is what was corrupt)"},
            "error": {"type": "string", "description": "The exception of the last delivery "
                      "(type: message, at most 2 KB)"},
            "consumer": {"type": "string", "description": "The worker that gave up on it"},
            "at": {"type": ["integer", "null"],
                   "description": "When it was moved, in milliseconds since the epoch"},
        }, closed=False),
        "DeadLetterList": _obj(["deadLetters", "nextCursor"], {
            "deadLetters": {"type": "array", "items": _ref("DeadLetter")},
            "nextCursor": {**NULLABLE_STR, "description": "Pass as ?cursor= for the next page"},
        }),
        "Requeued": _obj(["id", "stream", "kind", "entryId"], {
            "id": {"type": "string", "description": "The dead letter, now deleted"},
            "stream": {"type": "string", "description": "The stream the message was put back on"},
            "kind": {"enum": ["ready", "tasks", None]},
            "entryId": {"type": "string", "description": "Its new id in that stream"},
        }),
    }


def _path_param(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string"}}


def _pattern(regex: re.Pattern[str]) -> str:
    """A whole-value JSON Schema pattern of one of the service's regular expressions."""
    return f"^(?:{regex.pattern})$"


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


MACHINE_NAME = _path_param("name", "State machine name", NAME)
EXECUTION_ID = _path_param("id", "Execution id (executionId)",
                           {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH})
LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size")


def _cursor(regex: re.Pattern[str]) -> Schema:
    return _query("cursor", {"type": "string", "maxLength": MAX_QUERY_LENGTH, "pattern":
                             _pattern(regex)}, "nextCursor of the previous page (of this form)")


def _paths() -> dict[str, Schema]:
    return {
        "/v1/state-machines": {
            "post": {
                "operationId": "createStateMachine", "tags": ["state machines"],
                "summary": "Register a definition (each POST of a name makes a new version)",
                "requestBody": _json_body(_ref("CreateStateMachine"), "Name and definition"),
                "responses": {
                    "201": _ok(_ref("StateMachine"), "The new version"),
                    # anyOf: an InvalidDefinition answer is an Error too
                    "400": _ok({"anyOf": [_ref("InvalidDefinition"), _ref("Error")]},
                               "Invalid definition (with diagnostics) or bad request"),
                    **_errors(413),
                },
            },
            "get": {
                "operationId": "listStateMachines", "tags": ["state machines"],
                "summary": "List state machines (latest version of each)",
                "responses": {"200": _ok(_ref("StateMachineList"), "State machines"),
                              **_errors()},
            },
        },
        "/v1/state-machines/{name}": {
            "get": {
                "operationId": "getStateMachine", "tags": ["state machines"],
                "summary": "Describe a state machine",
                "parameters": [MACHINE_NAME, _query(
                    "version", {"type": "integer", "minimum": 1, "maximum": MAX_VERSION},
                    "Version (default: latest)")],
                "responses": {"200": _ok(_ref("StateMachine"), "The state machine"),
                              **_errors(400, 404)},
            },
        },
        "/v1/state-machines/{name}/executions": {
            "post": {
                "operationId": "startExecution", "tags": ["executions"],
                "summary": "Start an execution (idempotent by execution name)",
                "parameters": [MACHINE_NAME],
                "requestBody": _json_body(_ref("StartExecution"), "Input and name",
                                          required=False),
                "responses": {
                    "201": _ok(_ref("ExecutionStarted"), "Started"),
                    "200": _ok(_ref("ExecutionStarted"),
                               "An execution with this name and input already existed"),
                    **_errors(400, 404, 409, 413),
                },
            },
        },
        "/v1/executions": {
            "get": {
                "operationId": "listExecutions", "tags": ["executions"],
                "summary": "List executions, newest first",
                "parameters": [
                    _query("stateMachine", NAME, "Only this state machine's executions"),
                    _query("status", STATUS, "Only executions in this status"),
                    LIMIT, _cursor(EXECUTIONS_CURSOR),
                ],
                "responses": {"200": _ok(_ref("ExecutionList"), "A page of executions"),
                              **_errors(400)},
            },
        },
        "/v1/executions/{id}": {
            "get": {
                "operationId": "describeExecution", "tags": ["executions"],
                "summary": "Describe an execution",
                "parameters": [EXECUTION_ID],
                "responses": {"200": _ok(_ref("Execution"), "The execution"),
                              **_errors(404)},
            },
        },
        "/v1/executions/{id}/history": {
            "get": {
                "operationId": "getExecutionHistory", "tags": ["executions"],
                "summary": "An execution's event history (Step Functions event types)",
                "parameters": [EXECUTION_ID, LIMIT, _cursor(HISTORY_CURSOR)],
                "responses": {"200": _ok(_ref("History"), "A page of events"),
                              **_errors(400, 404)},
            },
        },
        "/v1/executions/{id}/stop": {
            "post": {
                "operationId": "stopExecution", "tags": ["executions"],
                "summary": f"Stop a running execution (it ends {Status.ABORTED})",
                "parameters": [EXECUTION_ID],
                "requestBody": _json_body(_ref("StopExecution"), "Error and cause",
                                          required=False),
                "responses": {"200": _ok(_ref("StopResult"), "The stop was requested"),
                              **_errors(400, 404)},
            },
        },
        "/v1/tasks/success": _callback("sendTaskSuccess", "TaskSuccess",
                                       "Complete a waiting task with its output"),
        "/v1/tasks/failure": _callback("sendTaskFailure", "TaskFailure",
                                       "Fail a waiting task with an error and cause"),
        "/v1/tasks/heartbeat": _callback("sendTaskHeartbeat", "TaskHeartbeat",
                                         "Report that a waiting task is still being worked on"),
        "/v1/activities": {
            "post": {
                "operationId": "createActivity", "tags": ["activities"],
                "summary": "Create an activity (repeating the call returns the same activity)",
                "requestBody": _json_body(_ref("CreateActivity"), "Activity name"),
                "responses": {"201": _ok(_ref("Activity"), "The activity"), **_errors(400)},
            },
        },
        "/v1/activities/{name}/poll": {
            "post": {
                "operationId": "pollActivity", "tags": ["activities"],
                "summary": "Long-poll for an activity task (up to 60 s)",
                "parameters": [
                    _path_param("name", "Activity name", NAME),
                    _query("timeout", {"type": "number", "minimum": 0, "maximum": 60},
                           "Seconds to wait for a task (default 60)"),
                ],
                "requestBody": _json_body(_ref("PollActivity"), "Optional worker name",
                                          required=False),
                "responses": {
                    "200": _ok(_ref("ActivityTask"), "A task to perform"),
                    "204": {"description": "No task arrived before the timeout"},
                    **_errors(400, 404),
                },
            },
        },
        "/v1/dead-letters": {
            "get": {
                "operationId": "listDeadLetters", "tags": ["operations"],
                "summary": "Work items the workers gave up on after max_deliveries failed "
                           f"deliveries, newest first (their executions stay {Status.RUNNING})",
                "parameters": [LIMIT, _cursor(DEAD_ID)],
                "responses": {"200": _ok(_ref("DeadLetterList"), "A page of dead letters"),
                              **_errors(400)},
            },
        },
        "/v1/dead-letters/{id}/requeue": {
            "post": {
                "operationId": "requeueDeadLetter", "tags": ["operations"],
                "summary": "Put a dead letter's message back on its stream (after fixing "
                           "the cause) and delete the dead letter",
                "parameters": [_path_param("id", "Dead letter id (<shard>-<stream id>)",
                                           {"type": "string", "pattern": _pattern(DEAD_ID)})],
                "responses": {"200": _ok(_ref("Requeued"), "Requeued"), **_errors(400, 404)},
            },
        },
        "/healthz": {
            "get": {
                "operationId": "health", "tags": ["operations"],
                "summary": "Liveness and Redis reachability",
                "responses": {"200": _ok(_ref("Health"), "Redis answers"), **_errors(503)},
            },
        },
        "/metrics": {
            "get": {
                "operationId": "metrics", "tags": ["operations"],
                "summary": "Prometheus metrics (text exposition format 0.0.4)",
                "responses": {"200": {"description": "Metrics", "content": {
                    "text/plain": {"schema": {"type": "string"}}}}},
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi", "tags": ["operations"],
                "summary": "This document",
                "responses": {"200": _ok({"type": "object"}, "OpenAPI 3.1 document")},
            },
        },
        "/": {"get": {"operationId": "home", "tags": ["dashboard"],
                      "summary": "Redirect to the dashboard",
                      "responses": {"302": {"description": "Location: /ui/"}}}},
        "/ui/": {"get": {"operationId": "dashboard", "tags": ["dashboard"],
                         "summary": "The dashboard page (HTML)",
                         "responses": {"200": _text("The dashboard", "text/html")}}},
        "/ui/{file}": {"get": {
            "operationId": "dashboardAsset", "tags": ["dashboard"],
            "summary": "A file of the dashboard (index.html, style.css, app.js and the ES "
                       "modules it imports, statuses.js among them)",
            "parameters": [{**_path_param("file", "File path under /ui/, e.g. pages/execution.js"),
                            "schema": {"type": "string", "enum": sorted(ASSETS)}}],
            "responses": {"200": _text("The file", "text/html", "text/javascript", "text/css"),
                          **_errors(404)},
        }},
    }


def _text(description: str, *media_types: str) -> Schema:
    return {"description": description,
            "content": {media: {"schema": {"type": "string"}} for media in media_types}}


def _callback(operation_id: str, schema: str, summary: str) -> dict[str, Schema]:
    return {
        "post": {
            "operationId": operation_id, "tags": ["tasks"], "summary": summary,
            "requestBody": _json_body(_ref(schema), "Task token and result"),
            "responses": {
                "200": _ok(_ref("Empty"), "Accepted"),
                "400": _ok(_ref("Error"), "Bad request, InvalidToken, or TaskTimedOut (the "
                           "task already finished, timed out or the token was used)"),
                **_errors(413),
            },
        },
    }


def _with_error_responses(paths: dict[str, Schema]) -> dict[str, Schema]:
    """Add the errors any operation of a kind can answer to those it states itself: a body
    can be malformed (400), too large (413) or not JSON (415), a query parameter bad (400);
    what reads Redis can find it away (503); anything can fail (500)."""
    for path, operations in paths.items():
        for operation in operations.values():
            statuses = [500]
            if "requestBody" in operation:
                statuses += [400, 413, 415]
            if any(p["in"] == "query" for p in operation.get("parameters", [])):
                statuses.append(400)
            if path.startswith("/v1/"):
                statuses.append(503)
            for status, response in _errors(*statuses).items():
                operation["responses"].setdefault(status, response)
            if operation.get("parameters"):  # aiohttp's HTTP parser refuses a long URL itself
                bad = operation["responses"].setdefault(
                    "400", {"description": "Bad request", "content": {}})
                bad["description"] += "; in text/plain: a request line or header over 8190 bytes"
                bad["content"]["text/plain"] = {"schema": {"type": "string"}}
    return paths


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "statemachine",
            "version": "1",
            "description": "Run Amazon States Language state machines durably on Redis. "
                           "Errors are {\"error\": code, \"message\": text} with a 4xx/5xx.",
        },
        "paths": _with_error_responses({**_paths(), **openapi_connections.PATHS}),
        "components": {"schemas": {**_schemas(), **openapi_connections.SCHEMAS}},
    }
