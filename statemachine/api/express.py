"""The REST routes of the operations that run in the API process: an EXPRESS execution
start to end (``POST /v1/state-machines/{name}/executions/sync``, AWS's StartSyncExecution)
and one state run once (``POST /v1/test-state``, AWS's TestState).

The same Service operations the AWS API calls; the REST answers carry JSON values where the
AWS ones carry JSON text (``input``, ``output``).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from statemachine.api.appkeys import SERVICE
from statemachine.api.auth import AUTH, principal
from statemachine.api.problems import (
    bad_request,
    check_payload_size,
    json_response,
    read_body,
)
from statemachine.api.versions import read_start
from statemachine.security.roles import Role
from statemachine.service.probe import InspectionLevel, Mock

__all__ = ["start_sync_execution", "test_state"]

TEST_STATE_FIELDS = ("definition", "input", "stateName", "inspectionLevel", "variables",
                     "revealSecrets", "retrierRetryCount", "mock")


def _value(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


async def start_sync_execution(request: web.Request) -> web.Response:
    """``POST /v1/state-machines/{name}/executions/sync`` ``{"input"?, "name"?, "version"?,
    "alias"?, "testCase"?}``: run an EXPRESS execution to its end; 200 with its outcome (400
    StateMachineTypeNotSupported for a STANDARD machine)."""
    start = await read_start(request)
    machine = start.machine
    done = await request.app[SERVICE].start_sync(machine, start.input, start.name,
                                                 qualifier=start.qualifier,
                                                 test_case=start.test_case)
    return json_response({
        "executionArn": done["executionArn"], "name": done["name"], "stateMachine": machine,
        "status": done["status"], "startDate": done["startDate"], "stopDate": done["stopDate"],
        "input": _value(done["input"]), "output": _value(done["output"]),
        "error": done["error"], "cause": done["cause"],
        "billingDetails": done["billingDetails"],
    })


async def test_state(request: web.Request) -> web.Response:
    """``POST /v1/test-state`` ``{"definition", "input"?, "stateName"?, "inspectionLevel"?,
    "variables"?, "revealSecrets"?, "retrierRetryCount"?, "mock"?}``: run one state once (AWS's
    TestState); ``revealSecrets`` needs an admin key; ``mock`` is ``{"result": value}`` or
    ``{"errorOutput": {"error", "cause"?}}``."""
    body = (await read_body(request)).only(TEST_STATE_FIELDS)
    if not body.has("definition"):
        bad_request("field 'definition' is required (a state, or a machine with stateName)",
                    "MissingField")
    level = body.string("inspectionLevel") or InspectionLevel.INFO
    if level not in InspectionLevel.__members__:
        bad_request(f"field 'inspectionLevel' must be one of {', '.join(InspectionLevel)}",
                    "InvalidValue")
    reveal = body.value("revealSecrets", False)
    retries = body.value("retrierRetryCount", 0)
    if isinstance(retries, float) and retries.is_integer():  # JSON's 53.0 is an integer
        retries = int(retries)
    if not isinstance(reveal, bool):
        bad_request("field 'revealSecrets' must be a boolean", "InvalidValue")
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100:
        bad_request("field 'retrierRetryCount' must be an integer from 0 to 100", "InvalidValue")
    check_payload_size(body.value("input"), "input")
    given = body.value("mock")
    if given is None:
        mock = None
    elif isinstance(given, dict) and set(given) == {"result"}:  # REST: a value, not JSON text
        mock = Mock(result=given["result"])
    else:
        mock = Mock.from_request(given)
    key = principal(request).key
    admin = not request.app[AUTH].enforce or (key is not None and key.role.allows(Role.ADMIN))
    done = await request.app[SERVICE].test_state(
        body.value("definition"), input=body.value("input"),
        state_name=body.string("stateName", max_length=80),
        inspection_level=InspectionLevel(level), variables=body.value("variables"),
        reveal_secrets=reveal, admin=admin, retrier_retry_count=retries, mock=mock)
    done["output"] = _value(done["output"])
    return json_response(done)
