"""Warnings: what is valid but most likely not what its author meant, as AWS's
``ValidateStateMachineDefinition`` reports them (severity WARNING):

- ``NO_DOLLAR``: a payload template field (``Parameters``, ``ResultSelector``,
  ``ItemSelector``) whose value looks like a path or an intrinsic function but whose name
  does not end in ``.$``, so the text is passed on as it is;
- ``NO_PATH``: a field that takes a literal (``Error``, ``Cause``, ``Timestamp``) given a
  value that looks like a path: its ``...Path`` twin was meant;
- ``PASS_RESULT_IS_STATIC``: a Pass state's ``Result`` holding a path (``Result`` is
  never evaluated: ``Parameters`` was meant);
- ``UNSUPPORTED_SYNC``: a Task whose ``Resource`` waits for a job of another service
  (``arn:aws:states:::glue:startJobRun.sync``): valid on AWS, but this runtime performs
  ``.sync`` only for nested executions (``states:startExecution``), so an execution that
  reaches the state fails with ``States.Runtime``.

The path warnings look at JSONPath states only (JSONata has no ``.$`` fields).  Pure: it reads the
definition and returns :class:`~statemachine.errors.Diagnostic` values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from statemachine.errors import Diagnostic
from statemachine.language.source import pointer_join
from statemachine.language.validate_tables import JSONATA, JSONPATH

__all__ = ["NO_DOLLAR", "NO_PATH", "PASS_RESULT_IS_STATIC", "UNSUPPORTED_SYNC", "warnings"]

NO_DOLLAR = "NO_DOLLAR"
NO_PATH = "NO_PATH"
PASS_RESULT_IS_STATIC = "PASS_RESULT_IS_STATIC"
UNSUPPORTED_SYNC = "UNSUPPORTED_SYNC"
_SYNC = re.compile(r"^arn:[^:]*:states:::(?:aws-sdk:)?([a-z0-9-]+):[A-Za-z0-9]+\.sync(?::2)?$")
_TEMPLATES = ("Parameters", "ResultSelector", "ItemSelector")
_LITERALS = ("Error", "Cause", "Timestamp")
_CHILDREN = ("ItemProcessor", "Iterator")


def warnings(definition: Any) -> list[Diagnostic]:
    """Every warning of ``definition`` (one that may not even be valid: odd parts are
    skipped)."""
    return list(_machine(definition, "", JSONPATH))


def _looks_like_path(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    return (value == "$" or value.startswith(("$.", "$$.", "$[")) or
            (value.startswith("States.") and value.endswith(")")))


def _machine(machine: Any, pointer: str, inherited: str) -> Iterator[Diagnostic]:
    if not isinstance(machine, dict) or not isinstance(machine.get("States"), dict):
        return
    language = machine.get("QueryLanguage", inherited)
    for name, state in machine["States"].items():
        if isinstance(state, dict):
            yield from _state(state, pointer_join(pointer_join(pointer, "States"), name),
                              state.get("QueryLanguage", language))


def _state(state: dict[str, Any], at: str, language: Any) -> Iterator[Diagnostic]:
    for index, branch in enumerate(state.get("Branches") or []):
        yield from _machine(branch, pointer_join(pointer_join(at, "Branches"), index), language)
    for field in _CHILDREN:
        yield from _machine(state.get(field), pointer_join(at, field), language)
    resource = state.get("Resource") if state.get("Type") == "Task" else None
    if not isinstance(resource, str):
        resource = ""
    sync = _SYNC.match(resource)
    if sync is not None and (sync.group(1) != "states" or ":aws-sdk:" in resource):
        yield Diagnostic(pointer_join(at, "Resource"), UNSUPPORTED_SYNC,
                         f"The resource '{resource}' waits for the {sync.group(1)} job to "
                         f"finish (.sync), which this runtime performs only for "
                         f"states:startExecution: an execution reaching this state fails "
                         f"with States.Runtime (call it request-response, without .sync, "
                         f"and poll its status, or use .waitForTaskToken)")
    if language == JSONATA:
        return
    for field in _TEMPLATES:
        yield from _template(state.get(field), pointer_join(at, field))
    for field in _LITERALS:
        if _looks_like_path(state.get(field)):
            yield Diagnostic(pointer_join(at, field), NO_PATH,
                             f"The value of {field} looks like a path, but {field} takes it "
                             f"as it is: use {field}Path for a path")
    if state.get("Type") == "Pass" and _holds_path(state.get("Result")):
        yield Diagnostic(pointer_join(at, "Result"), PASS_RESULT_IS_STATIC,
                         "A Pass state's Result is static: it is never evaluated as a path "
                         "(use Parameters)")


def _template(value: Any, at: str) -> Iterator[Diagnostic]:
    if isinstance(value, dict):
        for key, item in value.items():
            where = pointer_join(at, key)
            if isinstance(key, str) and not key.endswith(".$") and _looks_like_path(item):
                yield Diagnostic(where, NO_DOLLAR,
                                 f"The value of '{key}' looks like a path or an intrinsic "
                                 f"function, but the field name does not end with '.$': it "
                                 f"is passed on as text")
            yield from _template(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _template(item, pointer_join(at, index))


def _holds_path(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_path(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_path(item) for item in value)
    return _looks_like_path(value)
