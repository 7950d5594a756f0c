"""``/v1/connections``: the credentials HTTP tasks use, kept by the service (EventBridge's
CreateConnection, ListConnections, DescribeConnection, DeleteConnection).

No answer ever holds a secret: ``ApiKeyValue``, ``Password``, ``ClientSecret`` and the
parameter values marked ``IsValueSecret`` are stored encrypted and left out of every
response (see :mod:`statemachine.runtime.connections`).  Managing connections needs the
``admin`` role.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from statemachine.api.problems import bad_request, check_id, json_response, read_body

__all__ = ["CONNECTIONS", "create_connection", "delete_connection", "get_connection", "list_connections"]

FIELDS = ("name", "authorizationType", "authParameters", "description")
CONNECTIONS: web.AppKey[Any] = web.AppKey("connections", object)
"""The service's :class:`~statemachine.runtime.connections.ConnectionBook` (set by create_app)."""


def _book(request: web.Request) -> Any:
    return request.app[CONNECTIONS]


async def create_connection(request: web.Request) -> web.Response:
    """``POST /v1/connections`` ``{"name", "authorizationType", "authParameters",
    "description"?}``: 201 with the connection, its secrets left out."""
    body = (await read_body(request)).only(FIELDS)
    for field in ("name", "authorizationType", "authParameters"):
        if body.value(field) is None:
            bad_request(f"field {field!r} is required", "MissingField")
    for field in ("name", "authorizationType"):
        body.string(field, max_length=512)
    if not isinstance(body.value("authParameters"), dict):
        bad_request("field 'authParameters' must be an object", "InvalidType")
    description = body.string("description", max_length=512)
    created = await _book(request).create(body.value("name"), body.value("authorizationType"),
                                          body.value("authParameters"), description)
    return json_response(created, status=201)


async def list_connections(request: web.Request) -> web.Response:
    """``GET /v1/connections``: every connection, by name."""
    return json_response({"connections": await _book(request).list()})


async def get_connection(request: web.Request) -> web.Response:
    """``GET /v1/connections/{name}``: one connection with its secret-free parameters."""
    name = check_id(request.match_info["name"], "connection name")
    return json_response(await _book(request).get(name))


async def delete_connection(request: web.Request) -> web.Response:
    """``DELETE /v1/connections/{name}``: tasks naming it fail from now on."""
    name = check_id(request.match_info["name"], "connection name")
    return json_response(await _book(request).delete(name))
