"""One exception tree for the whole package.

::

    StateMachineError                    base of everything we raise on purpose
    ├── DefinitionError                  a definition is invalid (carries Diagnostics)
    ├── InputError                       a bad request or bad CLI input (maps to HTTP 4xx)
    │   ├── NotFound                     unknown machine, execution, activity, token
    │   ├── Conflict                     idempotent start with another input, ...
    │   └── InvalidToken / TaskTimedOut  callbacks with a bad or late task token
    └── StoreError                       the store failed in a way the caller must see

Workflow failures (``States.Timeout``, ``States.Runtime`` ...) are *not* Python
exceptions outside the core: they are data on the execution record.  Inside the
pure core :class:`statemachine.language.scope.StatesError` carries them from deep
in an expression to the state handler, which turns them into retry → catch → fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class StateMachineError(Exception):
    """Base class of every exception this package raises on purpose."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in a definition, in the shape of AWS's ValidateStateMachineDefinition.

    ``pointer`` is a JSON pointer into the definition (``/States/Charge/Retry/0/ErrorEquals``),
    ``code`` a stable machine-readable code (``SCHEMA_VALIDATION_FAILED``, ``MISSING_TRANSITION_TARGET``...),
    ``line`` the 1-based source line where known.
    """

    pointer: str
    code: str
    message: str
    line: int | None = None
    file: str | None = None

    def format(self) -> str:
        where = self.file or "<definition>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.pointer or '/'}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "code": self.code,
            "message": self.message,
            "line": self.line,
            **({"file": self.file} if self.file else {}),
        }


class DefinitionError(StateMachineError):
    """A definition that cannot be loaded or does not validate."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("; ".join(d.format() for d in diagnostics) or "invalid definition")


@dataclass
class InputError(StateMachineError):
    """A bad request: the caller's fault.  ``code`` becomes the JSON ``error`` field."""

    message: str
    code: str = "InvalidRequest"
    status: int = 400
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class NotFound(InputError):
    def __init__(self, message: str, code: str = "NotFound") -> None:
        super().__init__(message, code, 404)


class Conflict(InputError):
    def __init__(self, message: str, code: str = "Conflict") -> None:
        super().__init__(message, code, 409)


class InvalidToken(InputError):
    def __init__(self, message: str = "Invalid task token") -> None:
        super().__init__(message, "InvalidToken", 400)


class TaskTimedOut(InputError):
    def __init__(self, message: str = "Task timed out") -> None:
        super().__init__(message, "TaskTimedOut", 400)


class StoreError(StateMachineError):
    """The store could not do what was asked (after its own retries)."""

    public = False
    """Whether an API caller may read the message (it names no address, no secret); else
    the API says only that the store is unavailable."""
