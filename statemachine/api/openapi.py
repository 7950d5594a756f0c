"""The OpenAPI 3.1 document served at ``GET /openapi.json``.

Written as data, built once per process.  A test checks that every route of the
application appears here with its method, so the document cannot silently fall behind.
"""

from __future__ import annotations

import functools
from typing import Any

import statemachine.api.openapi_queues as queues_doc
import statemachine.api.openapi_redrive as redrive_doc
from statemachine.api.openapi_activities import SCHEMAS as ACTIVITY_SCHEMAS
from statemachine.api.openapi_activities import paths as activity_paths
from statemachine.api.openapi_catalog import PATHS as CATALOG_PATHS
from statemachine.api.openapi_catalog import SCHEMAS as CATALOG_SCHEMAS
from statemachine.api.openapi_connections import PATHS as CONNECTION_PATHS
from statemachine.api.openapi_connections import SCHEMAS as CONNECTION_SCHEMAS
from statemachine.api.openapi_express import SCHEMAS as EXPRESS_SCHEMAS
from statemachine.api.openapi_express import paths as express_paths
from statemachine.api.openapi_logs import SCHEMAS as LOG_SCHEMAS
from statemachine.api.openapi_logs import paths as log_paths
from statemachine.api.openapi_map_runs import SCHEMAS as MAP_RUN_SCHEMAS
from statemachine.api.openapi_map_runs import paths as map_run_paths
from statemachine.api.openapi_parts import (
    NAME,
    TRACEPARENT,
    Schema,
    cursor,
    errors,
    json_body,
    obj,
    ok,
    path_param,
    pattern,
    query,
    ref,
    text,
    with_error_responses,
)
from statemachine.api.problems import (
    MAX_CAUSE_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_ID_LENGTH,
    MAX_TOKEN_LENGTH,
    MAX_VERSION,
)
from statemachine.api.versions import MAX_VERSION as MAX_PUBLISHED
from statemachine.interpreter.records import Status
from statemachine.service import DEAD_ID, EXECUTIONS_CURSOR, HISTORY_CURSOR
from statemachine.service.mocks import MAX_TEST_CASE
from statemachine.web import ASSETS

__all__ = ["document"]

DATE: Schema = {"type": "string", "format": "date-time"}
ANY: Schema = {"description": "Any JSON value"}
NULLABLE_STR: Schema = {"type": ["string", "null"]}
NESTED_LINK: Schema = {
    "type": "object", "required": ["executionId", "pattern"],
    "properties": {"executionId": {"type": "string"},
                   "pattern": {"enum": ["request", "sync", "sync2", "token"],
                               "description": "How the parent's task waits for the child"}}}
STATUS: Schema = {"enum": [status.value for status in Status]}


def _schemas() -> dict[str, Schema]:
    return {
        "Error": obj(["error", "message"], {
            "error": {"type": "string", "description": "A stable error code, e.g. NotFound"},
            "message": {"type": "string"},
        }, closed=False),
        "Diagnostic": obj(["pointer", "code", "message", "line"], {
            "pointer": {"type": "string", "description": "JSON pointer into the definition"},
            "code": {"type": "string"},
            "message": {"type": "string"},
            "line": {"type": ["integer", "null"]},
            "file": {"type": "string"},
        }),
        "InvalidDefinition": obj(["error", "message", "diagnostics"], {
            "error": {"const": "InvalidDefinition"},
            "message": {"type": "string"},
            "diagnostics": {"type": "array", "items": ref("Diagnostic")},
        }),
        "CreateStateMachine": obj(["name", "definition"], {
            "name": NAME,
            "definition": {"oneOf": [{"type": "object"}, {"type": "string"}],
                           "description": "An ASL definition: an object, or JSON/YAML text"},
            "substitutions": {"type": "object", "additionalProperties": {"type": "string"},
                              "description": "Values for ${NAME} placeholders"},
            **queues_doc.DEFINED,
            "loggingConfiguration": ref("LoggingConfiguration"),  # absent: the version before's
        }),
        "StateMachine": obj(["name", "version", "createdAt"], {
            "name": NAME,
            "version": {"type": "integer", "minimum": 1},
            "createdAt": DATE,
            "definition": {"type": "object"},
            **queues_doc.MACHINE,
            "loggingConfiguration": ref("LoggingConfiguration"),
        }, closed=False),
        "StateMachineList": obj(["stateMachines"], {
            "stateMachines": {"type": "array", "items": ref("StateMachine")},
        }),
        "StartExecution": {**obj([], {
            "input": {**ANY, "description": "The execution input (default {}); at most 256 KiB"},
            "name": {**NAME, "description": "Execution name; starting again with the same "
                     "name and input returns the same execution"},
            "version": {"type": "integer", "minimum": 1, "maximum": MAX_PUBLISHED,
                        "description": "Run this published version (not the latest)"},
            "alias": {"type": "string", "minLength": 1, "maxLength": 80,
                      "description": "Run a version this alias picks by its weights"},
            "testCase": {"type": "string", "minLength": 1, "maxLength": MAX_TEST_CASE,
                         "description": "Run with this test case of the mock config the "
                         "service was started with (serve --mock-config): its mocked states "
                         "answer from the file, the others run for real"},
        }), "not": {"required": ["version", "alias"]}},
        "ExecutionStarted": obj(["executionId", "name", "stateMachine", "status"], {
            "executionId": {"type": "string"},
            "name": {"type": "string"},
            "stateMachine": {"type": "string"},
            "version": {"type": "integer"},
            "startDate": DATE,
            "status": STATUS,
            "created": {"type": "boolean",
                        "description": "false when an idempotent start found the execution"},
            "express": {"const": True,
                        "description": "present for an EXPRESS machine's execution"},
        }, closed=False),
        "Execution": obj(["executionId", "stateMachine", "status", "input", "output", "error",
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
            "stalledBy": {"type": "array", "items": ref("Stall"),
                          "description": "The dead letters holding it up, newest first "
                          "(only when stalled)"},
            "testCase": {"type": "string",
                         "description": "The mock config's test case it runs (only then)"},
            "traceHeader": {"type": "string", "description": "The trace its start continued "
                            "(traceparent or traceHeader; only then): see Tracing"},
            "startedBy": {**NESTED_LINK, "description": "A nested execution's parent: the "
                          "execution whose states:startExecution task started it (only then)"},
            "nestedExecutions": {"type": "array", "items": NESTED_LINK,
                                 "description": "The nested executions this one's "
                                 "states:startExecution tasks started (only when any)"},
            **redrive_doc.DESCRIBED, **queues_doc.DESCRIBED,
        }, closed=False),
        "Stall": obj(["id", "kind", "executionId", "error", "at"], {
            "id": {"type": "string", "pattern": "^[0-9]+-[0-9]+-[0-9]+$",
                   "description": "The dead letter: pass it to requeue"},
            "kind": {"enum": ["ready", "tasks", None]},
            "executionId": {**NULLABLE_STR, "description": "The execution or child the "
                            "message names"},
            "error": {"type": "string", "description": "The exception of its last delivery"},
            "at": {"type": ["integer", "null"],
                   "description": "When it was moved, in milliseconds since the epoch"},
        }, closed=False),
        "ExecutionSummary": obj(["executionId", "name", "stateMachine", "status",
                                  "startDate", "stopDate"], {
            "executionId": {"type": "string"},
            "name": {"type": "string"},
            "stateMachine": {"type": "string"},
            "version": {"type": "integer"},
            "status": STATUS,
            "startDate": DATE,
            "stopDate": {"type": ["string", "null"], "format": "date-time"},
            **redrive_doc.LISTED,
        }, closed=False),
        "ExecutionList": obj(["executions", "nextCursor"], {
            "executions": {"type": "array", "items": ref("ExecutionSummary")},
            "nextCursor": {**NULLABLE_STR, "description": "Pass as ?cursor= for the next page"},
        }),
        "HistoryEvent": obj(["id", "type", "timestamp"], {
            "id": {"type": "integer"},
            "previousEventId": {"type": "integer"},
            "type": {"type": "string", "description": "A Step Functions event type, e.g. "
                     "ExecutionStarted, TaskStateEntered, TaskSucceeded"},
            "timestamp": {"type": "integer", "description": "Milliseconds since the epoch"},
        }, closed=False),
        "History": obj(["events", "nextCursor"], {
            "events": {"type": "array", "items": ref("HistoryEvent")},
            "nextCursor": NULLABLE_STR,
        }),
        "StopExecution": obj([], {
            "error": {"type": "string", "maxLength": MAX_ERROR_LENGTH},
            "cause": {"type": "string", "maxLength": MAX_CAUSE_LENGTH},
        }),
        "StopResult": obj(["executionId", "status", "stopDate"], {
            "executionId": {"type": "string"},
            "status": {**STATUS, "description": f"{Status.RUNNING} while the stop is being "
                       "applied, else the final status (stopping a finished execution changes "
                       "nothing)"},
            "stopDate": {"type": ["string", "null"], "format": "date-time"},
        }, closed=False),
        "TaskSuccess": obj(["taskToken", "output"], {
            "taskToken": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_LENGTH},
            "output": {**ANY, "description": "The task's result; at most 256 KiB"},
        }),
        "TaskFailure": obj(["taskToken"], {
            "taskToken": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_LENGTH},
            "error": {"type": "string", "maxLength": MAX_ERROR_LENGTH},
            "cause": {"type": "string", "maxLength": MAX_CAUSE_LENGTH},
        }),
        "TaskHeartbeat": obj(["taskToken"], {
            "taskToken": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_LENGTH},
        }),
        "Empty": {"type": "object", "maxProperties": 0},
        "CreateActivity": obj(["name"], {"name": NAME}),
        "Activity": obj(["name", "activityArn", "createdAt"], {
            "name": NAME, "activityArn": {"type": "string"}, "createdAt": DATE,
        }, closed=False),
        "PollActivity": obj([], {"workerName": {"type": "string", "maxLength": 80}}),
        "ActivityTask": obj(["taskToken", "input"], {
            "taskToken": {"type": "string"}, "input": ANY,
        }, closed=False),
        "Health": obj(["status"], {"status": {"const": "ok"}}),
        "DeadLetter": obj(["id", "shard", "stream", "kind", "group", "entryId", "executionId",
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
        "DeadLetterList": obj(["deadLetters", "nextCursor"], {
            "deadLetters": {"type": "array", "items": ref("DeadLetter")},
            "nextCursor": {**NULLABLE_STR, "description": "Pass as ?cursor= for the next page"},
        }),
        "Requeued": obj(["id", "stream", "kind", "entryId"], {
            "id": {"type": "string", "description": "The dead letter, now deleted"},
            "stream": {"type": "string", "description": "The stream the message was put back on"},
            "kind": {"enum": ["ready", "tasks", None]},
            "entryId": {"type": "string", "description": "Its new id in that stream"},
        }),
    }


MACHINE_NAME = path_param("name", "State machine name", NAME)
EXECUTION_ID = path_param("id", "Execution id (executionId)",
                           {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH})
LIMIT = query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size")


def _paths() -> dict[str, Schema]:
    return {
        "/v1/state-machines": {
            "post": {
                "operationId": "createStateMachine", "tags": ["state machines"],
                "summary": "Register a definition (each POST of a name makes a new version)",
                "requestBody": json_body(ref("CreateStateMachine"), "Name and definition"),
                "responses": {
                    "201": ok(ref("StateMachine"), "The new version"),
                    # anyOf: an InvalidDefinition answer is an Error too
                    "400": ok({"anyOf": [ref("InvalidDefinition"), ref("Error")]},
                               "Invalid definition (with diagnostics) or bad request"),
                    **errors(413),
                },
            },
            "get": {
                "operationId": "listStateMachines", "tags": ["state machines"],
                "summary": "List state machines (latest version of each)",
                "responses": {"200": ok(ref("StateMachineList"), "State machines"),
                              **errors()},
            },
        },
        "/v1/state-machines/{name}": {
            "get": {
                "operationId": "getStateMachine", "tags": ["state machines"],
                "summary": "Describe a state machine",
                "parameters": [MACHINE_NAME, query(
                    "version", {"type": "integer", "minimum": 1, "maximum": MAX_VERSION},
                    "Version (default: latest)")],
                "responses": {"200": ok(ref("StateMachine"), "The state machine"),
                              **errors(400, 404)},
            },
        },
        "/v1/state-machines/{name}/executions": {
            "post": {
                "operationId": "startExecution", "tags": ["executions"],
                "summary": "Start an execution (idempotent by execution name)",
                "parameters": [MACHINE_NAME, TRACEPARENT],
                "requestBody": json_body(ref("StartExecution"), "Input and name",
                                          required=False),
                "responses": {
                    "201": ok(ref("ExecutionStarted"), "Started"),
                    "200": ok(ref("ExecutionStarted"),
                               "An execution with this name and input already existed"),
                    **errors(400, 404, 409, 413),
                },
            },
        },
        "/v1/executions": {
            "get": {
                "operationId": "listExecutions", "tags": ["executions"],
                "summary": "List executions, newest first",
                "parameters": [
                    query("stateMachine", NAME, "Only this state machine's executions"),
                    query("status", STATUS, "Only executions in this status"),
                    redrive_doc.FILTER,
                    LIMIT, cursor(EXECUTIONS_CURSOR),
                ],
                "responses": {"200": ok(ref("ExecutionList"), "A page of executions"),
                              **errors(400)},
            },
        },
        "/v1/executions/{id}": {
            "get": {
                "operationId": "describeExecution", "tags": ["executions"],
                "summary": "Describe an execution",
                "parameters": [EXECUTION_ID],
                "responses": {"200": ok(ref("Execution"), "The execution"),
                              **errors(404)},
            },
        },
        "/v1/executions/{id}/history": {
            "get": {
                "operationId": "getExecutionHistory", "tags": ["executions"],
                "summary": "An execution's event history (Step Functions event types)",
                "parameters": [EXECUTION_ID, LIMIT, cursor(HISTORY_CURSOR),
                               query("reverse", {"type": "boolean"},
                                     "Newest first (the cursor then counts back)")],
                "responses": {"200": ok(ref("History"), "A page of events"),
                              **errors(400, 404)},
            },
        },
        "/v1/executions/{id}/stop": {
            "post": {
                "operationId": "stopExecution", "tags": ["executions"],
                "summary": f"Stop a running execution (it ends {Status.ABORTED})",
                "parameters": [EXECUTION_ID],
                "requestBody": json_body(ref("StopExecution"), "Error and cause",
                                          required=False),
                "responses": {"200": ok(ref("StopResult"), "The stop was requested"),
                              **errors(400, 404)},
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
                "requestBody": json_body(ref("CreateActivity"), "Activity name"),
                "responses": {"201": ok(ref("Activity"), "The activity"), **errors(400)},
            },
        },
        "/v1/activities/{name}/poll": {
            "post": {
                "operationId": "pollActivity", "tags": ["activities"],
                "summary": "Long-poll for an activity task (up to 60 s)",
                "parameters": [
                    path_param("name", "Activity name", NAME),
                    query("timeout", {"type": "number", "minimum": 0, "maximum": 60},
                           "Seconds to wait for a task (default 60)"),
                ],
                "requestBody": json_body(ref("PollActivity"), "Optional worker name",
                                          required=False),
                "responses": {
                    "200": ok(ref("ActivityTask"), "A task to perform"),
                    "204": {"description": "No task arrived before the timeout"},
                    **errors(400, 404),
                },
            },
        },
        "/v1/dead-letters": {
            "get": {
                "operationId": "listDeadLetters", "tags": ["operations"],
                "summary": "Work items the workers gave up on after max_deliveries failed "
                           f"deliveries, newest first (their executions stay {Status.RUNNING})",
                "parameters": [LIMIT, cursor(DEAD_ID)],
                "responses": {"200": ok(ref("DeadLetterList"), "A page of dead letters"),
                              **errors(400)},
            },
        },
        "/v1/dead-letters/{id}/requeue": {
            "post": {
                "operationId": "requeueDeadLetter", "tags": ["operations"],
                "summary": "Put a dead letter's message back on its stream (after fixing "
                           "the cause) and delete the dead letter",
                "parameters": [path_param("id", "Dead letter id (<shard>-<stream id>)",
                                           {"type": "string", "pattern": pattern(DEAD_ID)})],
                "responses": {"200": ok(ref("Requeued"), "Requeued"), **errors(400, 404)},
            },
        },
        "/healthz": {
            "get": {
                "operationId": "health", "tags": ["operations"],
                "summary": "Liveness and Redis reachability",
                "responses": {"200": ok(ref("Health"), "Redis answers"), **errors(503)},
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
                "responses": {"200": ok({"type": "object"}, "OpenAPI 3.1 document")},
            },
        },
        "/": {"get": {"operationId": "home", "tags": ["dashboard"],
                      "summary": "Redirect to the dashboard",
                      "responses": {"302": {"description": "Location: /ui/"}}}},
        "/ui/": {"get": {"operationId": "dashboard", "tags": ["dashboard"],
                         "summary": "The dashboard page (HTML)",
                         "responses": {"200": text("The dashboard", "text/html")}}},
        "/ui/{file}": {"get": {
            "operationId": "dashboardAsset", "tags": ["dashboard"],
            "summary": "A file of the dashboard (index.html, style.css, app.js and the ES "
                       "modules it imports, statuses.js among them)",
            "parameters": [{**path_param("file", "File path under /ui/, e.g. pages/execution.js"),
                            "schema": {"type": "string", "enum": sorted(ASSETS)}}],
            "responses": {"200": text("The file", "text/html", "text/javascript", "text/css"),
                          **errors(404)},
        }},
    }


def _callback(operation_id: str, schema: str, summary: str) -> dict[str, Schema]:
    return {
        "post": {
            "operationId": operation_id, "tags": ["tasks"], "summary": summary,
            **({} if schema == "TaskHeartbeat" else {"parameters": [TRACEPARENT]}),
            "requestBody": json_body(ref(schema), "Task token and result"),
            "responses": {
                "200": ok(ref("Empty"), "Accepted"),
                "400": ok(ref("Error"), "Bad request, InvalidToken, or TaskTimedOut (the "
                           "task already finished, timed out or the token was used)"),
                **errors(413),
            },
        },
    }


def _merged(*parts: dict[str, Schema]) -> dict[str, Schema]:
    """Path items of several parts, their operations merged when two parts share a path."""
    paths: dict[str, Schema] = {}
    for part in parts:
        for path, operations in part.items():
            paths.setdefault(path, {}).update(operations)
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
        "paths": with_error_responses(_merged(_paths(), redrive_doc.paths(EXECUTION_ID),
                                              CONNECTION_PATHS, CATALOG_PATHS,
                                              express_paths(MACHINE_NAME),
                                              activity_paths(NAME, LIMIT),
                                              map_run_paths(EXECUTION_ID, LIMIT),
                                              log_paths(EXECUTION_ID, LIMIT))),
        "components": {"schemas": {**_schemas(), **redrive_doc.SCHEMAS, **CONNECTION_SCHEMAS,
                                   **CATALOG_SCHEMAS, **EXPRESS_SCHEMAS, **ACTIVITY_SCHEMAS,
                                   **MAP_RUN_SCHEMAS, **LOG_SCHEMAS}},
    }
