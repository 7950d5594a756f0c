"""The REST API's Map Run routes: a Distributed Map's runs by execution, one run described or
updated, its child executions listed (the service's :mod:`statemachine.service.map_runs`).

A run's id is the id its ARN ends with (``mapRunId``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from statemachine.api.appkeys import SERVICE
from statemachine.api.auth import Access
from statemachine.api.problems import (
    bad_request,
    check_id,
    json_response,
    query_int,
    query_str,
    read_body,
)
from statemachine.interpreter.records import Status
from statemachine.security.roles import Role

__all__ = ["MAP_RUN_ROUTES", "UPDATE_FIELDS"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

UPDATE_FIELDS = ("maxConcurrency", "toleratedFailureCount", "toleratedFailurePercentage")


def _service(request: web.Request) -> Any:
    return request.app[SERVICE]


async def list_map_runs(request: web.Request) -> web.Response:
    """``GET /v1/executions/{id}/map-runs``: the execution's Map Runs, oldest first."""
    service = _service(request)
    described = await service.describe(check_id(request.match_info["id"]))  # 404: none
    return json_response({"mapRuns": await service.map_runs.of_execution(
        described["executionId"])})


async def describe_map_run(request: web.Request) -> web.Response:
    """``GET /v1/map-runs/{id}``: status, settings and counts."""
    run_id = check_id(request.match_info["id"], "map run id")
    return json_response(await _service(request).map_runs.describe(run_id))


async def update_map_run(request: web.Request) -> web.Response:
    """``PATCH /v1/map-runs/{id}`` ``{"maxConcurrency"?, "toleratedFailureCount"?,
    "toleratedFailurePercentage"?}``: applied at once; the run as it is then."""
    run_id = check_id(request.match_info["id"], "map run id")
    body = (await read_body(request)).only(UPDATE_FIELDS)
    service = _service(request)
    await service.map_runs.update(run_id, *(body.value(f) for f in UPDATE_FIELDS))
    return json_response(await service.map_runs.describe(run_id))


async def list_run_executions(request: web.Request) -> web.Response:
    """``GET /v1/map-runs/{id}/executions?status=&limit=&cursor=``: the run's child
    executions in item order."""
    run_id = check_id(request.match_info["id"], "map run id")
    status = query_str(request.query, "status")
    if status is not None and status not in frozenset(Status):
        bad_request(f"query parameter 'status' must be one of {', '.join(Status)}",
                    "InvalidValue")
    limit = query_int(request.query, "limit", 100, 1, 1000)
    cursor = query_str(request.query, "cursor")
    return json_response(await _service(request).map_runs.executions(run_id, status, limit,
                                                                     cursor))


MAP_RUN_ROUTES: tuple[tuple[str, str, Handler, Access], ...] = (
    ("GET", "/v1/executions/{id}/map-runs", list_map_runs, Role.VIEWER),
    ("GET", "/v1/map-runs/{id}", describe_map_run, Role.VIEWER),
    ("PATCH", "/v1/map-runs/{id}", update_map_run, Role.OPERATOR),
    ("GET", "/v1/map-runs/{id}/executions", list_run_executions, Role.VIEWER),
)
