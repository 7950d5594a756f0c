"""The REST API's execution log route: ``GET /v1/executions/{id}/logs``, the events its
state machine's ``loggingConfiguration`` logs, as Step Functions writes them to CloudWatch
Logs (the service's :mod:`statemachine.service.execution_logs`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from statemachine.api.appkeys import SERVICE
from statemachine.api.auth import Access
from statemachine.api.problems import check_id, json_response, query_int, query_str
from statemachine.security.roles import Role

__all__ = ["LOG_ROUTES"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def execution_logs(request: web.Request) -> web.Response:
    """``GET /v1/executions/{id}/logs?limit=&cursor=``: a page of the execution's log."""
    execution_id = check_id(request.match_info["id"])
    limit = query_int(request.query, "limit", 100, 1, 1000)
    cursor = query_str(request.query, "cursor")
    return json_response(await request.app[SERVICE].logs.page(execution_id, limit, cursor))


LOG_ROUTES: tuple[tuple[str, str, Handler, Access], ...] = (
    ("GET", "/v1/executions/{id}/logs", execution_logs, Role.VIEWER),
)
