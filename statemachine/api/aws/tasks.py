"""The AWS operations of task callbacks: SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat.

The service tells a token never issued (``InvalidToken``) from one whose task is closed
(``TaskTimedOut``); a well-formed token of an execution that does not exist (any more) is
AWS's ``TaskDoesNotExist``.  The messages are AWS's.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from statemachine.api.aws.call import AwsError, Call, Operation
from statemachine.api.aws.executions import read_payload
from statemachine.errors import InvalidToken, NotFound, TaskTimedOut
from statemachine.interpreter.tokens import token_execution
from statemachine.security.roles import Role

__all__ = ["OPERATIONS"]


async def _answer(call: Call, token: str, sent: Awaitable[None]) -> dict[str, Any]:
    try:
        await sent
    except TaskTimedOut:
        raise AwsError("TaskTimedOut",
                       "Task Timed Out: 'Provided task does not exist anymore'") from None
    except InvalidToken:
        if await _execution_gone(call, token):
            raise AwsError("TaskDoesNotExist",
                           "Task Does Not Exist: the execution of this task token does not "
                           "exist (any more)") from None
        raise AwsError("InvalidToken", "Invalid Token: 'Invalid token'") from None
    return {}


async def _execution_gone(call: Call, token: str) -> bool:
    execution = token_execution(token)
    if not execution:
        return False
    try:
        await call.service.describe(execution)
    except NotFound:
        return True
    return False


async def send_task_success(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    token = body["taskToken"]
    if not token_execution(token):  # AWS judges the token before the output
        raise AwsError("InvalidToken", "Invalid Token: 'Invalid token'")
    output = read_payload(body["output"], "output", "InvalidOutput")
    return await _answer(call, token, call.service.send_task_success(token, output))


async def send_task_failure(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    token = body["taskToken"]
    return await _answer(call, token, call.service.send_task_failure(
        token, body.get("error"), body.get("cause")))


async def send_task_heartbeat(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    token = body["taskToken"]
    return await _answer(call, token, call.service.send_task_heartbeat(token))


OPERATIONS: dict[str, Operation] = {
    "SendTaskSuccess": Operation(send_task_success, Role.OPERATOR),
    "SendTaskFailure": Operation(send_task_failure, Role.OPERATOR),
    "SendTaskHeartbeat": Operation(send_task_heartbeat, Role.OPERATOR),
}
