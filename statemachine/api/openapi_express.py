"""The OpenAPI description of the operations that run in the API process (merged into
:mod:`.openapi`'s document): ``POST /v1/state-machines/{name}/executions/sync`` (an EXPRESS
execution, AWS's StartSyncExecution) and ``POST /v1/test-state`` (AWS's TestState).

Plain data, so that :mod:`.openapi` can import it without a circle.
"""

from __future__ import annotations

from statemachine.api.openapi_parts import Schema, errors, json_body, obj, ok, ref
from statemachine.interpreter.one_state import TestStatus
from statemachine.service.probe import InspectionLevel

__all__ = ["SCHEMAS", "paths"]

_ANY: Schema = {"description": "Any JSON value"}
_TEXT_OR_NULL: Schema = {"type": ["string", "null"]}
_DATE: Schema = {"type": "string", "format": "date-time"}
_INSPECTION_STEPS = ("input", "afterInputPath", "afterParameters", "afterArguments", "result",
                     "afterResultSelector", "afterResultPath", "variables")
_HTTP = {"protocol": {"type": "string"}, "method": {"type": "string"},
         "url": {"type": "string"}, "headers": {"type": "string"}, "body": {"type": "string"},
         "statusCode": {"type": "string"}, "statusMessage": {"type": "string"}}

SCHEMAS: dict[str, Schema] = {
    "SyncExecution": obj(["executionArn", "name", "stateMachine", "status", "startDate",
                          "stopDate", "input", "output", "error", "cause", "billingDetails"], {
        "executionArn": {"type": "string", "description": "An EXPRESS execution's ARN"},
        "name": {"type": "string"},
        "stateMachine": {"type": "string"},
        "status": {"enum": ["SUCCEEDED", "FAILED", "TIMED_OUT"]},
        "startDate": _DATE,
        "stopDate": _DATE,
        "input": _ANY,
        "output": {**_ANY, "description": "The output (null unless SUCCEEDED)"},
        "error": _TEXT_OR_NULL,
        "cause": _TEXT_OR_NULL,
        "billingDetails": obj(["billedMemoryUsedInMB", "billedDurationInMilliseconds"], {
            "billedMemoryUsedInMB": {"type": "integer"},
            "billedDurationInMilliseconds": {"type": "integer"},
        }),
    }),
    "TestState": obj(["definition"], {
        "definition": {"type": ["object", "string"],
                       "description": "One state (an object, or its JSON text), or a whole "
                                      "state machine with stateName"},
        "input": {**_ANY, "description": "The state's input (default {})"},
        "stateName": {"type": "string", "minLength": 1, "maxLength": 80},
        "inspectionLevel": {"enum": [level.value for level in InspectionLevel]},
        "variables": {"type": "object", "description": "Variables the state sees"},
        "revealSecrets": {"type": "boolean",
                          "description": "Show credential headers in the traced request "
                                         "(admin keys only)"},
        "retrierRetryCount": {"type": "integer", "minimum": 0, "maximum": 100,
                              "description": "Retries already made by the matching retrier"},
        "mock": {"oneOf": [
            obj(["result"], {"result": {**_ANY, "description": "The Task's result"}}),
            obj(["errorOutput"], {"errorOutput": obj(["error"], {
                "error": {"type": "string", "minLength": 1, "maxLength": 256},
                "cause": {"type": "string", "maxLength": 32768}})}),
        ], "description": "A Task's result or error, instead of calling its resource"},
    }),
    "TestStateResult": obj(["status", "output", "error", "cause", "nextState"], {
        "status": {"enum": [status.value for status in TestStatus]},
        "output": {**_ANY, "description": "The state's output (null when it failed)"},
        "error": _TEXT_OR_NULL,
        "cause": _TEXT_OR_NULL,
        "nextState": _TEXT_OR_NULL,
        "inspectionData": obj([], {
            **{step: {"type": "string", "description": "JSON text"} for step in _INSPECTION_STEPS},
            "request": obj([], _HTTP),
            "response": obj([], _HTTP),
            "errorDetails": obj([], {"catchIndex": {"type": "integer"},
                                     "retryIndex": {"type": "integer"},
                                     "retryBackoffIntervalSeconds": {"type": "integer"}}),
        }),
    }),
}


def paths(machine_name: Schema) -> dict[str, Schema]:
    """The two operations, with the document's state machine name parameter."""
    return {
        "/v1/state-machines/{name}/executions/sync": {
            "post": {
                "operationId": "startSyncExecution", "tags": ["executions"],
                "summary": "Run an execution of an EXPRESS state machine to its end in the API "
                           "process (nothing is stored) and answer its outcome; at most 5 "
                           "minutes",
                "parameters": [machine_name],
                "requestBody": json_body(ref("StartExecution"), "Input and name",
                                         required=False),
                "responses": {
                    "200": ok(ref("SyncExecution"), "The execution ended"),
                    **errors(400, 404, 413, 429),
                },
            },
        },
        "/v1/test-state": {
            "post": {
                "operationId": "testState", "tags": ["state machines"],
                "summary": "Run one state once with an input (a Task really calls its "
                           "resource) and show what happened inside it",
                "requestBody": json_body(ref("TestState"), "The state and its input"),
                "responses": {
                    "200": ok(ref("TestStateResult"), "The state ran"),
                    "403": ok(ref("Error"), "revealSecrets without an admin key"),
                    **errors(400, 413),
                },
            },
        },
    }
