"""Names and definitions as the service accepts them, for the facade and the catalog alike.

A name (state machine, execution, activity) follows AWS's rule: 1-80 characters without
whitespace or ``<>{}[]?*"#%\\^|~`$&,;:/`` or control characters.  A definition (an object,
or JSON/YAML text) must load, validate and compile; it is returned as the object stored.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from statemachine.errors import DefinitionError, InputError
from statemachine.language.values import MAX_NESTING, nested_deeper_than

__all__ = ["MAX_NAME", "check_name", "checked_definition"]

MAX_NAME = 80
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


def check_name(name: Any, what: str) -> str:
    """A state machine, execution or activity name as AWS accepts it, else InputError."""
    if not isinstance(name, str) or not name:
        raise InputError(f"{what} must be a non-empty string", "InvalidName")
    if len(name) > MAX_NAME:
        raise InputError(f"{what} is longer than {MAX_NAME} characters", "InvalidName")
    bad = _BAD_NAME.search(name)
    if bad is not None:
        raise InputError(f"{what} {name!r} contains the character {bad.group()!r}, which is not allowed",
                         "InvalidName")
    return name


def checked_definition(definition: dict[str, Any] | str,
                       substitutions: dict[str, str] | None = None) -> dict[str, Any]:
    """``definition`` loaded, validated and compiled once: the object to store."""
    from statemachine.language.model import compile_machine
    from statemachine.language.source import Source, load_definition
    from statemachine.language.validate import validate

    if isinstance(definition, str):
        source = load_definition(definition, substitutions=substitutions)
    elif isinstance(definition, dict):
        if nested_deeper_than(definition):
            raise InputError(f"definition nests deeper than {MAX_NESTING} levels",
                             "InvalidDefinition")
        source = (load_definition(orjson.dumps(definition).decode(), substitutions=substitutions)
                  if substitutions else Source(definition=definition))
    else:
        raise InputError("definition must be an object or JSON/YAML text", "InvalidDefinition")
    problems = validate(source.definition, source=source)
    if problems:
        raise DefinitionError(problems)
    compile_machine(source.definition)
    return source.definition
