"""Small facts about JSON values shared by the evaluators and the interfaces."""

from __future__ import annotations

from typing import Any


def json_type_name(value: Any) -> str:
    """The JSON type name AWS uses in messages: null, boolean, number, string, array, object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


MAX_NESTING = 100
"""How deep a JSON value taken from outside may nest (arrays and objects): request bodies,
definitions.  Past a few hundred levels the JSON codecs refuse to write a value back (orjson
stops at 255), so a deeper one accepted at the edge could never be stored or answered."""


def nested_deeper_than(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether ``value`` has arrays/objects nested more than ``limit`` levels (iteratively:
    no recursion, whatever the depth)."""
    if not isinstance(value, (dict, list)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False
