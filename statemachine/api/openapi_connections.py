"""The OpenAPI description of ``/v1/connections`` (merged into :mod:`.openapi`'s document).

Plain data, so that :mod:`.openapi` can import it without a circle.
"""

from __future__ import annotations

from statemachine.api.openapi_parts import JSON, Schema, ok, ref

__all__ = ["PATHS", "SCHEMAS"]


_ERRORS = {
    "400": ok(ref("Error"), "Bad request: a field missing or of the wrong shape (the message "
                              "names it), a bad name"),
    "404": ok(ref("Error"), "No such connection (ResourceNotFound)"),
    "409": ok(ref("Error"), "A connection of that name exists (ResourceAlreadyExists)"),
    "413": ok(ref("Error"), "Body too large"),
    "500": ok(ref("Error"), "Internal error (details are in the server log only)"),
    "503": ok(ref("Error"), "Redis is not reachable"),
}


def _errors(*statuses: int) -> Schema:
    return {str(s): _ERRORS[str(s)] for s in (*statuses, 500, 503)}


_PARAMETER: Schema = {"type": "object", "properties": {
    "Key": {"type": "string"}, "Value": {"type": "string"},
    "IsValueSecret": {"type": "boolean"}}}
_HTTP_PARAMETERS: Schema = {"type": "object", "properties": {
    kind: {"type": "array", "items": _PARAMETER}
    for kind in ("HeaderParameters", "QueryStringParameters", "BodyParameters")}}
_NAME: Schema = {"type": "string", "minLength": 1, "maxLength": 64,
                 "pattern": "^[.\\-_A-Za-z0-9]+$"}
_TYPE: Schema = {"enum": ["API_KEY", "BASIC", "OAUTH_CLIENT_CREDENTIALS"]}

SCHEMAS: dict[str, Schema] = {
    "CreateConnection": {
        "type": "object", "additionalProperties": False,
        "required": ["name", "authorizationType", "authParameters"],
        "properties": {
            "name": _NAME,
            "authorizationType": _TYPE,
            "description": {"type": "string", "maxLength": 512},
            "authParameters": {
                "type": "object",
                "description": "EventBridge CreateConnection's AuthParameters: the one of "
                               "ApiKeyAuthParameters {ApiKeyName, ApiKeyValue}, "
                               "BasicAuthParameters {Username, Password}, OAuthParameters "
                               "{AuthorizationEndpoint, HttpMethod, ClientParameters {ClientID, "
                               "ClientSecret}, OAuthHttpParameters} that authorizationType "
                               "names, and InvocationHttpParameters",
                "properties": {
                    "ApiKeyAuthParameters": {"type": "object"},
                    "BasicAuthParameters": {"type": "object"},
                    "OAuthParameters": {"type": "object"},
                    "InvocationHttpParameters": _HTTP_PARAMETERS,
                },
            },
        },
    },
    "ConnectionSummary": {
        "type": "object",
        "required": ["name", "connectionArn", "connectionState", "authorizationType",
                     "creationTime"],
        "properties": {
            "name": {"type": "string"},
            "connectionArn": {"type": "string"},
            "connectionState": {"type": "string"},
            "authorizationType": _TYPE,
            "description": {"type": "string"},
            "creationTime": {"type": "string", "format": "date-time"},
            "lastModifiedTime": {"type": "string", "format": "date-time"},
        },
    },
    "Connection": {
        "allOf": [ref("ConnectionSummary")],
        "type": "object",
        "required": ["authParameters"],
        "properties": {"authParameters": {
            "type": "object",
            "description": "The parameters without any secret (ApiKeyValue, Password, "
                           "ClientSecret and the values marked IsValueSecret are left out)"}},
    },
    "ConnectionList": {
        "type": "object", "required": ["connections"],
        "properties": {"connections": {"type": "array", "items": ref("ConnectionSummary")}},
    },
}

_NAME_PARAMETER: Schema = {"name": "name", "in": "path", "required": True,
                           "description": "Connection name", "schema": {"type": "string"}}

PATHS: dict[str, Schema] = {
    "/v1/connections": {
        "post": {
            "operationId": "createConnection", "tags": ["connections"],
            "summary": "Store a connection (credentials for HTTP tasks' Authentication); "
                       "admin role",
            "requestBody": {"description": "Name, authorization type and parameters",
                            "required": True,
                            "content": {JSON: {"schema": ref("CreateConnection")}}},
            "responses": {"201": ok(ref("Connection"), "The connection, without secrets"),
                          **_errors(400, 409, 413)},
        },
        "get": {
            "operationId": "listConnections", "tags": ["connections"],
            "summary": "List connections (admin role)",
            "responses": {"200": ok(ref("ConnectionList"), "Connections"), **_errors()},
        },
    },
    "/v1/connections/{name}": {
        "get": {
            "operationId": "describeConnection", "tags": ["connections"],
            "summary": "Describe a connection, without its secrets (admin role)",
            "parameters": [_NAME_PARAMETER],
            "responses": {"200": ok(ref("Connection"), "The connection"), **_errors(404)},
        },
        "delete": {
            "operationId": "deleteConnection", "tags": ["connections"],
            "summary": "Delete a connection: HTTP tasks naming it fail from now on (admin role)",
            "parameters": [_NAME_PARAMETER],
            "responses": {"200": ok(ref("ConnectionSummary"), "Deleted"), **_errors(404)},
        },
    },
}
