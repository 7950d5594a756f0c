"""The REST routes of the state machine catalog: published versions, aliases, tags and
delete, under ``/v1/state-machines/{name}`` (the AWS API has the same operations; both call
``service.catalog`` and ``service.aliases``, and answer with the same fields and ARNs).

A route names versions by number and aliases by name; the service takes ARNs, built here
from the service's place.  Listings page with ``limit`` and ``cursor`` (the previous page's
``nextCursor``), as the other listings of this API do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from aiohttp import web

from statemachine.api.appkeys import SERVICE
from statemachine.api.auth import Access
from statemachine.api.problems import (
    Body,
    bad_request,
    check_name,
    check_payload_size,
    json_response,
    query_int,
    query_str,
    read_body,
)
from statemachine.security.roles import Role
from statemachine.service.mocks import MAX_TEST_CASE

__all__ = ["CATALOG_ROUTES", "MAX_CURSOR", "MAX_DESCRIPTION", "MAX_TAG_KEY", "MAX_VERSION", "StartRequest",
           "integer", "read_start"]

MAX_DESCRIPTION = 256
MAX_TAG_KEY = 128
MAX_CURSOR = 1024
MAX_VERSION = 999_999_999
"""The highest version number an ARN can name (``arns``: up to 9 digits)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _service(request: web.Request) -> Any:
    return request.app[SERVICE]


def _machine(request: web.Request) -> tuple[Any, str]:
    """The service and the ARN of the state machine the path names."""
    service = _service(request)
    name = check_name(request.match_info["name"], "state machine name")
    return service, service.settings.place.machine(name)


def _version(request: web.Request) -> int:
    text = request.match_info["version"]
    if not text.isdigit() or not 1 <= int(text) <= MAX_VERSION:
        bad_request(f"version must be an integer from 1 to {MAX_VERSION}", "InvalidValue")
    return int(text)


def _page(request: web.Request) -> tuple[int, str | None]:
    limit = query_int(request.query, "limit", 100, 1, 1000)
    cursor = query_str(request.query, "cursor")
    if cursor is not None and len(cursor) > MAX_CURSOR:
        bad_request(f"query parameter 'cursor' is longer than {MAX_CURSOR} characters",
                    "InvalidValue")
    return limit, cursor


def _paged(listed: dict[str, Any], field: str, items: str) -> dict[str, Any]:
    return {items: listed[field], "nextCursor": listed.get("nextToken")}


async def delete_state_machine(request: web.Request) -> web.Response:
    """``DELETE /v1/state-machines/{name}``: running executions go on; the name is free again."""
    service, arn = _machine(request)
    await service.catalog.delete(arn)
    return json_response({})


# versions -------------------------------------------------------------------------------------


async def publish_version(request: web.Request) -> web.Response:
    """``POST /v1/state-machines/{name}/versions`` ``{"description"?, "revisionId"?}``: publish
    the current revision (the existing version when it is published already)."""
    service, arn = _machine(request)
    body = (await read_body(request, optional=True)).only(("description", "revisionId"))
    note = body.string("description", max_length=MAX_DESCRIPTION)
    revision = body.string("revisionId", max_length=MAX_CURSOR)
    return json_response(await service.catalog.publish(arn, revision, note), status=201)


async def list_versions(request: web.Request) -> web.Response:
    """``GET /v1/state-machines/{name}/versions?limit=&cursor=``: newest first."""
    service, arn = _machine(request)
    limit, cursor = _page(request)
    listed = await service.catalog.list_versions(arn, limit, cursor)
    return json_response(_paged(listed, "stateMachineVersions", "versions"))


async def delete_version(request: web.Request) -> web.Response:
    """``DELETE /v1/state-machines/{name}/versions/{version}``: 409 while an alias routes to it."""
    service, arn = _machine(request)
    await service.catalog.delete_version(f"{arn}:{_version(request)}")
    return json_response({})


# aliases --------------------------------------------------------------------------------------


class StartRequest(NamedTuple):
    """A start's request, durable or synchronous: ``{"input"?, "name"?, "version"? |
    "alias"?, "testCase"?}`` on ``/v1/state-machines/{name}/executions[/sync]``
    (``testCase``: a test case of the service's mock config, checked by the service)."""

    machine: str
    input: Any
    name: str | None
    qualifier: int | str | None
    test_case: str | None


async def read_start(request: web.Request) -> StartRequest:
    """The checked start request (a 4xx for anything wrong in it)."""
    machine = check_name(request.match_info["name"], "state machine name")
    body = (await read_body(request, optional=True)).only(("input", "name", "version", "alias",
                                                            "testCase"))
    execution_input = body.value("input", {}) if body.has("input") else {}
    check_payload_size(execution_input, "input")
    name = body.name("name", "execution name", required=False)
    test_case = body.string("testCase", max_length=MAX_TEST_CASE)
    return StartRequest(machine, execution_input, name, _start_qualifier(body), test_case)


def _start_qualifier(body: Body) -> int | str | None:
    """The published version (``version``) or alias (``alias``) a start goes through."""
    if body.has("version") and body.has("alias"):
        bad_request("give 'version' or 'alias', not both", "InvalidValue")
    if not body.has("version"):
        return body.string("alias", max_length=80)
    return integer(body.value("version"), "field 'version'", 1, MAX_VERSION)


def integer(value: Any, what: str, low: int, high: int) -> int:
    """A JSON integer (JSON Schema counts 3.0 as one) from ``low`` to ``high``, else a 400."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        bad_request(f"{what} must be an integer from {low} to {high}", "InvalidValue")
    return value


def _routing(arn: str, body: Any) -> list[dict[str, Any]]:
    """``[{"version", "weight"}]`` of a request as the service's routingConfiguration."""
    routing = body.value("routing")
    if not isinstance(routing, list) or not 1 <= len(routing) <= 2:
        bad_request("field 'routing' must list one or two {version, weight}", "InvalidType")
    converted = []
    for route in routing:
        if not isinstance(route, dict) or set(route) != {"version", "weight"}:
            bad_request("each routing entry is {version, weight}", "InvalidType")
        version = integer(route["version"], "routing version", 1, MAX_VERSION)
        weight = integer(route["weight"], "routing weight", 0, 100)
        converted.append({"stateMachineVersionArn": f"{arn}:{version}", "weight": weight})
    return converted


def _alias(request: web.Request) -> tuple[Any, str]:
    service, arn = _machine(request)
    return service, f"{arn}:{request.match_info['alias']}"


async def create_alias(request: web.Request) -> web.Response:
    """``POST /v1/state-machines/{name}/aliases`` ``{"name", "routing", "description"?}``."""
    service, arn = _machine(request)
    body = (await read_body(request)).only(("name", "routing", "description"))
    name = body.required_str("name", max_length=80)
    note = body.string("description", max_length=MAX_DESCRIPTION)
    made = await service.aliases.create(name, _routing(arn, body), note)
    return json_response(made, status=201)


async def list_aliases(request: web.Request) -> web.Response:
    """``GET /v1/state-machines/{name}/aliases?limit=&cursor=``: newest first."""
    service, arn = _machine(request)
    limit, cursor = _page(request)
    listed = await service.aliases.list(arn, limit, cursor)
    return json_response(_paged(listed, "stateMachineAliases", "aliases"))


async def describe_alias(request: web.Request) -> web.Response:
    """``GET /v1/state-machines/{name}/aliases/{alias}``."""
    service, arn = _alias(request)
    return json_response(await service.aliases.describe(arn))


async def update_alias(request: web.Request) -> web.Response:
    """``PATCH /v1/state-machines/{name}/aliases/{alias}`` ``{"routing"?, "description"?}``."""
    service, arn = _alias(request)
    body = (await read_body(request)).only(("routing", "description"))
    note = body.string("description", max_length=MAX_DESCRIPTION)
    routing = _routing(arn.rsplit(":", 1)[0], body) if body.has("routing") else None
    if note is None and routing is None:
        bad_request("give 'routing' or 'description' to update", "MissingField")
    return json_response(await service.aliases.update(arn, note, routing))


async def delete_alias(request: web.Request) -> web.Response:
    """``DELETE /v1/state-machines/{name}/aliases/{alias}``."""
    service, arn = _alias(request)
    return json_response(await service.aliases.delete(arn))


# tags -----------------------------------------------------------------------------------------


async def list_tags(request: web.Request) -> web.Response:
    """``GET /v1/state-machines/{name}/tags``: ``{"tags": {key: value}}``."""
    service, arn = _machine(request)
    listed = await service.catalog.list_tags(arn)
    return json_response({"tags": {t["key"]: t["value"] for t in listed["tags"]}})


async def tag(request: web.Request) -> web.Response:
    """``POST /v1/state-machines/{name}/tags`` ``{"tags": {key: value}}``: add or overwrite."""
    service, arn = _machine(request)
    given = (await read_body(request)).only(("tags",)).str_map("tags")
    if given is None:
        bad_request("field 'tags' is required (an object of strings)", "MissingField")
    await service.catalog.tag(arn, [{"key": k, "value": v} for k, v in given.items()])
    return await list_tags(request)


async def untag(request: web.Request) -> web.Response:
    """``DELETE /v1/state-machines/{name}/tags/{key}``."""
    service, arn = _machine(request)
    await service.catalog.untag(arn, [request.match_info["key"]])
    return await list_tags(request)


_BASE = "/v1/state-machines/{name}"
CATALOG_ROUTES: tuple[tuple[str, str, Handler, Access], ...] = (
    ("DELETE", _BASE, delete_state_machine, Role.ADMIN),
    ("POST", _BASE + "/versions", publish_version, Role.ADMIN),
    ("GET", _BASE + "/versions", list_versions, Role.VIEWER),
    ("DELETE", _BASE + "/versions/{version}", delete_version, Role.ADMIN),
    ("POST", _BASE + "/aliases", create_alias, Role.ADMIN),
    ("GET", _BASE + "/aliases", list_aliases, Role.VIEWER),
    ("GET", _BASE + "/aliases/{alias}", describe_alias, Role.VIEWER),
    ("PATCH", _BASE + "/aliases/{alias}", update_alias, Role.ADMIN),
    ("DELETE", _BASE + "/aliases/{alias}", delete_alias, Role.ADMIN),
    ("GET", _BASE + "/tags", list_tags, Role.VIEWER),
    ("POST", _BASE + "/tags", tag, Role.ADMIN),
    ("DELETE", _BASE + "/tags/{key}", untag, Role.ADMIN),
)
"""(method, path, handler, access) of each catalog route, added to ``routes.ROUTES``."""
