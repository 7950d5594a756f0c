"""The OpenAPI document with its security: schemes, each operation's needs, 401/403.

:func:`secured_document` takes the base document (:mod:`statemachine.api.openapi`), adds
the key and session routes, and for each route of the route table (method, path, what it
needs) the operation's ``security`` (empty for open routes), the role it needs
(``x-required-role``) and its 401/403 answers — so the document and the application are
built from the one table.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from statemachine.api.openapi import document
from statemachine.api.openapi_aws import AWS_PATHS, AWS_SCHEMAS
from statemachine.api.openapi_parts import Schema, errors, json_body, obj, ok, ref
from statemachine.security.keys import KEY_NAME_PATTERN
from statemachine.security.roles import Role

__all__ = ["secured_document"]

_TEMPLATE_PATTERN = re.compile(r"\{(\w+):[^}]+\}")
_REQUIRED: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]


def _schemes() -> dict[str, Schema]:
    return {
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "An API key's secret: Authorization: Bearer <secret>"},
        "session": {"type": "apiKey", "in": "cookie", "name": "sm_session",
                    "description": "The dashboard's session (a login link or POST "
                                   "/v1/session); only from the service's own origin"},
    }


def _key_schemas() -> dict[str, Schema]:
    role: Schema = {"enum": [r.value for r in Role]}
    key: dict[str, Schema] = {"id": {"type": "string", "pattern": "^SMK[A-Z2-7]{17}$"},
           "name": {"type": "string", "pattern": KEY_NAME_PATTERN}, "role": role,
           "created": {"type": "string", "format": "date-time"}}
    return {
        "ApiKey": obj(["id", "name", "role", "created"], key),
        "NewApiKey": obj(["id", "name", "role", "created", "secret"], {
            **key, "secret": {"type": "string", "description": "Shown this once only"}}),
        "ApiKeyList": obj(["keys"], {"keys": {"type": "array", "items": ref("ApiKey")}}),
        "CreateApiKey": obj(["role"], {"role": role,
                                        "name": {"anyOf": [{"type": "string", "pattern": KEY_NAME_PATTERN},
                                                                  {"type": "null"}]}}),
        "Login": obj(["secret"], {"secret": {"type": "string", "minLength": 1,
                                              "maxLength": 256}}),
        "LoggedIn": obj(["key"], {"key": ref("ApiKey")}),
        "Session": obj(["key", "via", "auth"], {
            "key": {"anyOf": [ref("ApiKey"), {"type": "null"}]},
            "via": {"enum": ["bearer", "session", "none"]},
            "auth": {"type": "boolean", "description": "false under --insecure-no-auth"}}),
    }


def _key_paths() -> dict[str, Schema]:
    return {
        "/v1/keys": {
            "post": {"operationId": "createApiKey", "tags": ["keys"],
                     "summary": "Make an API key; its secret is in this answer only",
                     "requestBody": json_body(ref("CreateApiKey"), "Role and name"),
                     "responses": {"201": ok(ref("NewApiKey"), "The key and its secret"),
                                   **errors(400, 413)}},
            "get": {"operationId": "listApiKeys", "tags": ["keys"],
                    "summary": "Every API key (never a secret)",
                    "responses": {"200": ok(ref("ApiKeyList"), "The keys"), **errors()}},
        },
        "/v1/keys/{id}": {"delete": {
            "operationId": "revokeApiKey", "tags": ["keys"], "summary": "Revoke an API key",
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string"}, "description": "Key id"}],
            "responses": {"200": ok(obj(["id", "revoked"], {
                "id": {"type": "string"}, "revoked": {"const": True}}), "Revoked"),
                **errors(404)}}},
        "/v1/session": {
            "post": {"operationId": "login", "tags": ["keys"],
                     "summary": "Log the dashboard in with a key's secret (sets the cookie)",
                     "requestBody": json_body(ref("Login"), "The key's secret"),
                     "responses": {
                         "200": ok(ref("LoggedIn"), "Logged in; Set-Cookie: sm_session"),
                         "401": ok(ref("Error"), "No key has this secret"),
                         "403": ok(ref("Error"), "Sent from another origin"),
                         **errors(400, 413)}},
            "get": {"operationId": "whoami", "tags": ["keys"],
                    "summary": "The key behind this request",
                    "responses": {"200": ok(ref("Session"), "The caller"), **errors()}},
            "delete": {"operationId": "logout", "tags": ["keys"],
                       "summary": "End the dashboard's session (clears the cookie)",
                       "responses": {"200": ok(ref("Empty"), "Logged out"),
                                     "403": ok(ref("Error"), "Sent from another origin"),
                                     **errors()}},
        },
    }


def _secure(operation: Schema, access: str) -> None:
    responses = operation["responses"]
    if access not in {r.value for r in Role}:
        operation["security"] = []
        if access == "signed":
            return
        if access == "task-token":
            operation["description"] = ("No API key: the task token in the body, a secret "
                                        "handed to this one task, authorises the call.")
        return
    operation["security"] = copy.deepcopy(_REQUIRED)
    operation["x-required-role"] = access
    responses["401"] = ok(ref("Error"), "No valid API key (WWW-Authenticate: Bearer)")
    responses["403"] = ok(ref("Error"), f"The key's role is below {access!r}, or a "
                                          "cookie-authenticated request came from another origin")


@functools.cache
def secured_document(routes: tuple[tuple[str, str, str], ...]) -> dict[str, Any]:
    """The OpenAPI document, with ``routes`` ((method, path template, access) each)
    deciding every operation's security."""
    doc = copy.deepcopy(document())
    doc["paths"].update(_key_paths())
    for path, operations in AWS_PATHS.items():
        doc["paths"].setdefault(path, {}).update(copy.deepcopy(operations))
    doc["components"]["schemas"].update(_key_schemas())
    doc["components"]["schemas"].update(AWS_SCHEMAS)
    doc["components"]["securitySchemes"] = _schemes()
    doc["security"] = copy.deepcopy(_REQUIRED)
    for method, template, access in routes:
        path = _TEMPLATE_PATTERN.sub(r"{\1}", template)
        operation = doc["paths"].get(path, {}).get(method.lower())
        if operation is not None:
            _secure(operation, str(access))
    for operations in doc["paths"].values():  # bodies of the new routes: 415 like the rest
        for operation in operations.values():
            if "requestBody" in operation:
                operation["responses"].setdefault("415", ok(
                    ref("Error"), "The body was not sent as application/json"))
    doc["info"]["description"] += (" Every route needs an API key (Authorization: Bearer "
                                   "<secret>) unless its security is empty.")
    return doc
