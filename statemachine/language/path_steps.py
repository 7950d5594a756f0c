"""Compiled JSONPath steps: what they are and what they select.

:mod:`statemachine.language.path_syntax` turns path text into a tuple of steps;
:class:`statemachine.language.paths.Path` walks them.  This module holds what both
need: the step kinds, the lenient evaluation of an indefinite path (a step that does
not fit its node selects nothing, it never fails), Jayway's bracket form of a step
(``['a']``, ``[0]``) for messages, and the comparisons a filter ``[?( ... )]`` applies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from statemachine.language.java_json import json_equal
from statemachine.language.scope import MISSING

__all__ = [
    "COMPARATORS",
    "FILTER",
    "INDEX",
    "INDEXES",
    "KEY",
    "KEYS",
    "ROOT_CONTEXT",
    "ROOT_INPUT",
    "ROOT_VARIABLE",
    "SCAN",
    "SLICE",
    "WILDCARD",
    "Operand",
    "Predicate",
    "Step",
    "evaluate_steps",
    "is_empty",
    "matches",
    "normal_step",
    "path_operand",
]

# Step kinds.  A step is ``(kind, argument)``.
KEY = 0  # argument: the property name
INDEX = 1  # argument: an int (negative counts from the end)
WILDCARD = 2  # argument: None
SLICE = 3  # argument: (start, stop, step), each int or None
KEYS = 4  # argument: tuple of names (a union)
INDEXES = 5  # argument: tuple of ints (a union)
SCAN = 6  # argument: the step applied at every depth (deep scan ``..``)
FILTER = 7  # argument: a predicate ``(node, root) -> bool``

Step = tuple[int, Any]

ROOT_INPUT = "input"
ROOT_CONTEXT = "context"
ROOT_VARIABLE = "variable"

Predicate = Callable[[Any, Any], bool]
Operand = Callable[[Any, Any], Any]


def normal_step(step: Step) -> str:
    """The bracket form Jayway prints for one step, e.g. ``['a']`` or ``[0]``."""
    kind, arg = step
    if kind == KEY:
        return f"['{arg}']"
    if kind == INDEX:
        return f"[{arg}]"
    if kind == KEYS:
        return "[" + ",".join("'" + k + "'" for k in arg) + "]"
    if kind == INDEXES:
        return "[" + ",".join(str(i) for i in arg) + "]"
    if kind == SLICE:
        start, stop, stride = arg
        text = f"{'' if start is None else start}:{'' if stop is None else stop}"
        return f"[{text}{'' if stride is None else ':' + str(stride)}]"
    if kind == SCAN:
        return ".." + normal_step(arg)
    if kind == FILTER:
        return "[?]"
    return "[*]"


# --------------------------------------------------------------------------- evaluation


def evaluate_steps(steps: tuple[Step, ...], i: int, node: Any, root: Any) -> Iterator[Any]:
    """Every value the steps from ``i`` on select under ``node`` (never raises)."""
    if i == len(steps):
        yield node
        return
    for child in _apply(steps[i], node, root):
        yield from evaluate_steps(steps, i + 1, child, root)


def _apply(step: Step, node: Any, root: Any) -> Iterator[Any]:
    """The children one step selects; nothing when it does not fit the node."""
    kind, arg = step
    if kind == KEY:
        if isinstance(node, dict) and arg in node:
            yield node[arg]
    elif kind in (INDEX, INDEXES):
        if isinstance(node, list):
            for index in (arg,) if kind == INDEX else arg:
                if -len(node) <= index < len(node):
                    yield node[index]
    elif kind == WILDCARD:
        if isinstance(node, dict):
            yield from node.values()
        elif isinstance(node, list):
            yield from node
    elif kind == KEYS:
        if isinstance(node, dict):
            yield from (node[k] for k in arg if k in node)
    elif kind == SLICE:
        if isinstance(node, list):
            yield from node[slice(*arg)]
    elif kind == FILTER:
        if isinstance(node, list):
            yield from (item for item in node if arg(item, root))
        elif isinstance(node, dict) and arg(node, root):
            yield node
    else:
        for descendant in _descendants(node):
            yield from _apply(arg, descendant, root)


def _descendants(node: Any) -> Iterator[Any]:
    """``node`` and everything below it, depth first (the deep-scan order)."""
    yield node
    if isinstance(node, dict):
        for child in node.values():
            yield from _descendants(child)
    elif isinstance(node, list):
        for child in node:
            yield from _descendants(child)


# --------------------------------------------------------------------------- filter comparisons


def path_operand(steps: tuple[Step, ...], relative: bool, definite: bool) -> Operand:
    """A filter operand that reads ``@...`` (``relative``) or ``$...``.

    A definite path gives its value or ``MISSING``; any other path a list of matches.
    """

    def operand(node: Any, root: Any) -> Any:
        start = node if relative else root
        if definite:
            for value in evaluate_steps(steps, 0, start, root):
                return value
            return MISSING
        return list(evaluate_steps(steps, 0, start, root))

    return operand


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if _is_number(a) and _is_number(b):
            return test(a, b)
        if isinstance(a, str) and isinstance(b, str):
            return test(a, b)
        return False

    return compare


def _contains(a: Any, b: Any) -> bool:
    return isinstance(b, list) and any(json_equal(a, item) for item in b)


def _size(a: Any, b: Any) -> bool:
    return isinstance(a, (str, list, dict)) and _is_number(b) and len(a) == b


def is_empty(value: Any) -> bool | None:
    """Whether a string, array or object is empty; ``None`` for anything else."""
    if isinstance(value, (str, list, dict)):
        return len(value) == 0
    return None


def matches(value: Any, regex: re.Pattern[str]) -> bool:
    """The ``=~`` test: a string that the whole regex matches."""
    return isinstance(value, str) and regex.fullmatch(value) is not None


#: The binary filter operators, by their text.
COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a is not MISSING and b is not MISSING and json_equal(a, b),
    "!=": lambda a, b: a is not MISSING and b is not MISSING and not json_equal(a, b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "in": _contains,
    "nin": lambda a, b: a is not MISSING and isinstance(b, list) and not _contains(a, b),
    "size": _size,
}
