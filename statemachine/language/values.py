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
