"""What an AWS operation handler is given and may raise: :class:`Call`, :class:`Operation`,
:class:`AwsError`, and the mapping of the service's own errors to AWS's codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from aiohttp import web

from statemachine.errors import DefinitionError, InputError, InvalidToken, TaskTimedOut
from statemachine.language.arns import InvalidArn, Place
from statemachine.security.keys import ApiKey
from statemachine.security.roles import Role

__all__ = ["AwsError", "Call", "Handler", "Operation", "aws_error"]


class AwsError(Exception):
    """An error as the AWS API answers it: HTTP ``status`` with ``{"__type", "message"}``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Call:
    """One AWS API request as a handler sees it."""

    service: Any  # statemachine.service.Service (not imported: it would be a circle)
    place: Place
    key: ApiKey | None
    """The signing key; None when the service runs with --insecure-no-auth."""
    request: web.Request | None
    """None for a call made in process (:mod:`.local`: an ``aws-sdk:sfn`` task's)."""
    operation: str

    def may(self, role: Role) -> bool:
        """Whether the caller holds ``role`` (anyone may, without authentication)."""
        return self.key is None or self.key.role.allows(role)


Handler = Callable[[Call, dict[str, Any]], Awaitable[dict[str, Any]]]


class Operation(NamedTuple):
    """An operation of the service model: its handler and the role its caller needs."""

    handler: Handler
    role: Role


_CODES = {
    # our InputError codes that AWS spells otherwise
    "InvalidRequest": "ValidationException",
    "NotFound": "ResourceNotFound",
    "Conflict": "ConflictException",
    "InvalidStatus": "ValidationException",
    "InvalidCursor": "InvalidToken",
    "InvalidTestCase": "ValidationException",
}


def aws_error(error: Exception) -> AwsError:
    """The AWS error for an exception the service raised on purpose."""
    match error:
        case AwsError():
            return error
        case InvalidArn():
            return AwsError("InvalidArn", str(error))
        case DefinitionError():
            return AwsError("InvalidDefinition", _definition_message(error))
        case InvalidToken() | TaskTimedOut():
            return AwsError(error.code, error.message)
        case InputError():
            return AwsError(_CODES.get(error.code, error.code), error.message)
        case _:
            raise TypeError(f"not an error of the service: {error!r}")


def _definition_message(error: DefinitionError) -> str:
    """AWS's InvalidDefinition message: ``Invalid State Machine Definition: '<CODE>: <what>
    at /States/X', ...``."""
    parts = [f"{d.code}: {d.message} at {d.pointer or '/'}" for d in error.diagnostics[:10]]
    return "Invalid State Machine Definition: '" + "', '".join(parts) + "'"
