"""Names and definitions as the service accepts them, for the facade and the catalog alike.

A name (state machine, execution, activity) follows AWS's rule: 1-80 characters without
whitespace or ``<>{}[]?*"#%\\^|~`$&,;:/`` or control characters.  A definition (an object,
or JSON/YAML text) must load, validate and compile; it is returned as the object stored.
"""

from __future__ import annotations

from typing import Any

import orjson

from statemachine.errors import DefinitionError, InputError
from statemachine.language.arns import MAX_NAME, name_problem
from statemachine.language.values import MAX_NESTING, nested_deeper_than

__all__ = ["MAX_NAME", "check_name", "checked_definition"]



def check_name(name: Any, what: str) -> str:
    """A state machine, execution or activity name as AWS accepts it, else InputError."""
    problem = name_problem(name)
    if problem is not None:
        raise InputError(f"{what} {problem}", "InvalidName")
    assert isinstance(name, str)
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
