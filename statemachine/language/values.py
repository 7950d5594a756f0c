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


def may_nest_deeper_than(text: str | bytes, limit: int = MAX_NESTING) -> bool:
    """Whether JSON/YAML ``text`` has more opening brackets than ``limit``: a cheap necessary
    condition for nesting deeper, so that most texts skip :func:`nested_deeper_than`."""
    if isinstance(text, bytes):
        return text.count(b"{") + text.count(b"[") > limit
    return text.count("{") + text.count("[") > limit


def nested_deeper_than(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether ``value`` has arrays/objects nested more than ``limit`` levels (a level at a
    time: no recursion, whatever the depth)."""
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 1
    while level:
        if depth > limit:
            return True
        below: list[Any] = []
        for container in level:
            children = container.values() if isinstance(container, dict) else container
            below.extend(c for c in children if isinstance(c, (dict, list)))
        level = below
        depth += 1
    return False
