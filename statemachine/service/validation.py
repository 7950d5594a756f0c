"""Validate a definition without storing it (AWS's ``ValidateStateMachineDefinition``).

The same checks as :meth:`Service.define <statemachine.service.Service.define>` (load the
JSON or YAML text, the schema, the semantic checks), plus what an EXPRESS machine may not
do: activities, ``.sync`` and ``.waitForTaskToken`` integrations (AWS refuses them there);
and the warnings of :mod:`~statemachine.language.warnings`.  Every problem is a
:class:`~statemachine.errors.Diagnostic`; a text that does not parse is one error, never an
exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from statemachine.errors import DefinitionError, Diagnostic
from statemachine.language.arns import ActivityArn, InvalidArn, parse
from statemachine.language.source import load_definition
from statemachine.language.validate import validate
from statemachine.language.warnings import warnings

__all__ = ["EXPRESS_UNSUPPORTED", "Checked", "check_definition"]

EXPRESS_UNSUPPORTED = "EXPRESS_UNSUPPORTED_RESOURCE"
"""The code of a Task an EXPRESS machine cannot run."""
_UNPARSED = frozenset({"INVALID_JSON", "INVALID_YAML"})


@dataclass(frozen=True, slots=True)
class Checked:
    """A definition's ``errors`` (it would be refused) and ``warnings`` (it would run, most
    likely not as meant: :mod:`~statemachine.language.warnings`)."""

    errors: list[Diagnostic]
    warnings: list[Diagnostic] = field(default_factory=list)


def check_definition(text: str, machine_type: str = "STANDARD") -> Checked:
    """Every problem of definition ``text`` for a machine of ``machine_type``
    (``STANDARD``/``EXPRESS``); no errors when it is valid."""
    if not text.strip():
        return Checked([Diagnostic("", "MISSING_DESCRIPTION", "the definition is empty")])
    try:
        source = load_definition(text)
    except DefinitionError as error:
        return Checked([Diagnostic(d.pointer, "INVALID_JSON_DESCRIPTION" if d.code in _UNPARSED
                                   else d.code, d.message, d.line) for d in error.diagnostics])
    found = validate(source.definition, source=source)
    if machine_type == "EXPRESS" and not found:
        found = list(_express_problems(source.definition, ""))
    return Checked(found, warnings(source.definition))


def _express_problems(machine: dict[str, Any], pointer: str) -> Iterator[Diagnostic]:
    """The Task states of ``machine`` (branches and Map processors included) that an EXPRESS
    machine may not have."""
    states = machine.get("States")
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        at = f"{pointer}/States/{_escape(name)}"
        resource = state.get("Resource")
        if state.get("Type") == "Task" and isinstance(resource, str):
            why = _express_refuses(resource)
            if why:
                yield Diagnostic(f"{at}/Resource", EXPRESS_UNSUPPORTED,
                                 f"Express state machine does not support {why}")
        for index, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, dict):
                yield from _express_problems(branch, f"{at}/Branches/{index}")
        for child in ("ItemProcessor", "Iterator"):
            processor = state.get(child)
            if isinstance(processor, dict):
                yield from _express_problems(processor, f"{at}/{child}")


def _express_refuses(resource: str) -> str | None:
    if resource.endswith(".sync") or ".sync:" in resource:
        return "'.sync' service integration"
    if resource.endswith(".waitForTaskToken"):
        return "'.waitForTaskToken' service integration"
    try:
        if isinstance(parse(resource), ActivityArn):
            return "activities"
    except InvalidArn:
        pass
    return None


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
