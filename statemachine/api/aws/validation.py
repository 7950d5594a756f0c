"""ValidateStateMachineDefinition: a definition's diagnostics, as AWS words them.

AWS answers ``result`` OK or FAIL with ``diagnostics`` of ``severity`` ERROR or WARNING,
``code``, ``message`` and ``location`` (a JSON pointer: ``/States/Charge/Next``); the codes
are the validator's (:mod:`statemachine.language.validate`; ERROR: the definition would be
refused) and :mod:`statemachine.language.warnings`' (WARNING: shown with ``severity:
WARNING``), spelled as AWS spells the ones it documents.
"""

from __future__ import annotations

from typing import Any

from statemachine.api.aws.call import Call, Operation
from statemachine.api.aws.paging import page_size
from statemachine.errors import Diagnostic
from statemachine.security.roles import Role

__all__ = ["OPERATIONS"]

_AWS_CODES = {"MISSING_TERMINAL_STATE": "MISSING_END_STATE",
              "STATE_NAME_TOO_LONG": "INVALID_STATE_NAME"}
"""Our codes that AWS documents under another name."""


def _shown(severity: str, found: list[Diagnostic]) -> list[dict[str, Any]]:
    return [{"severity": severity, "code": _AWS_CODES.get(d.code, d.code),
             "message": d.message, "location": d.pointer or "/"} for d in found]


async def validate_definition(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    checked = call.service.validate_definition(body["definition"],
                                               body.get("type") or "STANDARD")
    # severity is the lowest level shown: ERROR (the default) or WARNING and ERROR alike
    diagnostics = _shown("ERROR", checked.errors)
    if body.get("severity") == "WARNING":
        diagnostics += _shown("WARNING", checked.warnings)
    limit = page_size(body.get("maxResults"))
    return {"result": "FAIL" if checked.errors else "OK", "diagnostics": diagnostics[:limit],
            "truncated": len(diagnostics) > limit}


OPERATIONS: dict[str, Operation] = {
    "ValidateStateMachineDefinition": Operation(validate_definition, Role.VIEWER),
}
