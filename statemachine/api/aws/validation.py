"""ValidateStateMachineDefinition: a definition's diagnostics, as AWS words them.

AWS answers ``result`` OK or FAIL with ``diagnostics`` of ``severity`` ERROR or WARNING,
``code``, ``message`` and ``location`` (a JSON pointer: ``/States/Charge/Next``); the codes
are the validator's (:mod:`statemachine.language.validate`), spelled as AWS spells the ones
it documents.  Every diagnostic of ours is an ERROR (the definition would be refused).
"""

from __future__ import annotations

from typing import Any

from statemachine.api.aws.call import Call, Operation
from statemachine.api.aws.paging import page_size
from statemachine.security.roles import Role

__all__ = ["OPERATIONS"]

_AWS_CODES = {"MISSING_TERMINAL_STATE": "MISSING_END_STATE"}
"""Our codes that AWS documents under another name."""


async def validate_definition(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    found = call.service.validate_definition(body["definition"], body.get("type") or "STANDARD")
    # severity is the lowest level to show: ERROR alone, or WARNING and ERROR alike; ours
    # are all errors, which either filter shows
    diagnostics = [{"severity": "ERROR", "code": _AWS_CODES.get(d.code, d.code),
                    "message": d.message, "location": d.pointer or "/"} for d in found]
    limit = page_size(body.get("maxResults"))
    return {"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics[:limit],
            "truncated": len(diagnostics) > limit}


OPERATIONS: dict[str, Operation] = {
    "ValidateStateMachineDefinition": Operation(validate_definition, Role.VIEWER),
}
