"""JSON values as AWS's Java runtime prints and compares them.

Step Functions runs on the JVM (Jayway JsonPath over json-smart), and it shows in
what a workflow can observe: values in messages are compact JSON, ``States.Format``
and some error texts use Java's ``toString`` (``{a=1, b=[x, y]}``), Jayway names the
Java class of a value it cannot walk, and ``1`` equals ``1.0`` but not ``true``.
The JSONPath evaluator, the intrinsic functions and the JSONata messages share these.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["compact_json", "java_class", "java_string", "json_equal"]


def compact_json(value: Any) -> str:
    """JSON text without spaces, keys in their stored order (what AWS prints)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: ``1 == 1.0`` but ``true != 1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def java_string(value: Any) -> str:
    """A value the way Java's ``toString`` prints it (``{a=1, b=[x, y]}``).

    AWS builds ``States.Format`` results and some error texts this way.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_string(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(java_string(v) for v in value) + "]"
    return compact_json(value)


def java_class(value: Any) -> str:
    """The Java class name Jayway's messages show for a value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list):
        return "net.minidev.json.JSONArray"
    return "net.minidev.json.JSONObject"
