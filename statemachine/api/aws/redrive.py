"""The AWS operation RedriveExecution, over :meth:`Service.redrive` (the REST API's
``POST /v1/executions/{id}/redrive`` calls the same).

``clientToken`` (which AWS's SDKs fill in themselves) makes a repeated request answer as
the first did; the errors are AWS's: ``ExecutionDoesNotExist``, ``ExecutionNotRedrivable``,
``InvalidArn``, ``ValidationException``.
"""

from __future__ import annotations

from typing import Any

from statemachine.api.aws.call import Call, Operation
from statemachine.api.aws.executions import execution_id
from statemachine.security.roles import Role

__all__ = ["OPERATIONS"]


async def redrive_execution(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    redriven = await call.service.redrive(await execution_id(call, body["executionArn"]),
                                          body.get("clientToken"))
    return {"redriveDate": redriven["redriveDate"]}


OPERATIONS: dict[str, Operation] = {
    "RedriveExecution": Operation(redrive_execution, Role.OPERATOR),
}
