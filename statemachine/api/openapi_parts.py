"""The building blocks of the OpenAPI documents (:mod:`.openapi`, :mod:`.openapi_security`,
:mod:`.openapi_connections`): schema shorthands and the error responses every operation of a
kind can answer, written once."""

from __future__ import annotations

import re
from typing import Any

from statemachine.api.problems import MAX_NAME_LENGTH, MAX_QUERY_LENGTH

__all__ = ["ERROR_TEXTS", "JSON", "NAME", "Schema", "cursor", "errors", "json_body", "obj", "ok",
           "path_param", "pattern", "query", "ref", "text", "with_error_responses"]

JSON = "application/json"
Schema = dict[str, Any]
NAME: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH,
                "pattern": "^[^\\s<>{}\\[\\]?*\"#%\\\\^|~`$&,;:/\\x00-\\x1f\\x7f-\\x9f]+$"}
"""A state machine, execution or activity name."""


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str], props: dict[str, Schema], *, closed: bool = True) -> Schema:
    schema: Schema = {"type": "object", "properties": props, "required": required}
    if closed:
        schema["additionalProperties"] = False
    return schema


def json_body(schema: Schema, description: str, *, required: bool = True) -> Schema:
    return {"description": description, "required": required,
            "content": {JSON: {"schema": schema}}}


def ok(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


ERROR_TEXTS = {
    400: "Bad request: malformed JSON, a field of the wrong type, an unknown field, a bad name, "
         "a query parameter out of range or given empty",
    404: "No such state machine, execution, activity or dead letter",
    409: "Conflict: an execution of that name exists with another input",
    413: "Body or payload too large (payloads are limited to 256 KiB)",
    415: "The body was not sent as application/json",
    429: "Too many at once (ThrottlingException): retry later",
    500: "Internal error (details are in the server log only)",
    503: "Redis is not reachable",
}


def errors(*statuses: int) -> dict[str, Schema]:
    return {str(s): ok(ref("Error"), ERROR_TEXTS[s]) for s in statuses}


def path_param(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string"}}


def pattern(regex: re.Pattern[str]) -> str:
    """A whole-value JSON Schema pattern of one of the service's regular expressions."""
    return f"^(?:{regex.pattern})$"


TRACEPARENT: Schema = {
    "name": "traceparent", "in": "header", "required": False,
    "description": "W3C Trace Context: the execution's spans continue this trace (a start), "
                   "or the task's span links to it (a callback); a malformed one is ignored",
    "schema": {"type": "string", "maxLength": 256}}


def query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


def cursor(regex: re.Pattern[str]) -> Schema:
    return query("cursor", {"type": "string", "maxLength": MAX_QUERY_LENGTH, "pattern":
                             pattern(regex)}, "nextCursor of the previous page (of this form)")


def text(description: str, *media_types: str) -> Schema:
    return {"description": description,
            "content": {media: {"schema": {"type": "string"}} for media in media_types}}


def with_error_responses(paths: dict[str, Schema]) -> dict[str, Schema]:
    """Add the errors any operation of a kind can answer to those it states itself: a body
    can be malformed (400), too large (413) or not JSON (415), a query parameter bad (400);
    what reads Redis can find it away (503); anything can fail (500)."""
    for path, operations in paths.items():
        for operation in operations.values():
            statuses = [500]
            if "requestBody" in operation:
                statuses += [400, 413, 415]
            if any(p["in"] == "query" for p in operation.get("parameters", [])):
                statuses.append(400)
            if path.startswith("/v1/"):
                statuses.append(503)
            for status, response in errors(*statuses).items():
                operation["responses"].setdefault(status, response)
            if operation.get("parameters"):  # aiohttp's HTTP parser refuses a long URL itself
                bad = operation["responses"].setdefault(
                    "400", {"description": "Bad request", "content": {}})
                bad["description"] += "; in text/plain: a request line or header over 8190 bytes"
                bad["content"]["text/plain"] = {"schema": {"type": "string"}}
    return paths
