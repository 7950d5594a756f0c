"""The aiohttp application: routes, error middleware, request metrics, graceful shutdown.

``create_app(service)`` takes a connected :class:`statemachine.service.Service` and does
not own it: whoever connected the service closes it (``cli.py serve`` does so after the
HTTP server has stopped).  Every route but the open ones needs an API key (see
:mod:`statemachine.api.auth`); ``auth`` says how keys are checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from time import perf_counter
from typing import Any

from aiohttp import web

from statemachine.api.appkeys import METRICS, SERVICE, SHUTDOWN, WORKERS
from statemachine.api.audit import READ_ONLY, audit
from statemachine.api.auth import AUTH, READS, AuthConfig, auth_middleware
from statemachine.api.connections import CONNECTIONS
from statemachine.api.metrics import RECEIVED, Metrics, flush_timings
from statemachine.api.problems import MAX_DEFINITION_BYTES, Handler, error_middleware
from statemachine.api.routes import add_routes

__all__ = ["COUNTED_METHODS", "create_app"]

COUNTED_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
"""The methods the requests counter names; any other is ``other``: a method is any HTTP
token to aiohttp's pure-Python parser, and a series each would grow ``/metrics`` without
bound for callers with no key."""


def create_app(service: Any, *, workers: Sequence[Any] = (),
               auth: AuthConfig | None = None) -> web.Application:
    """Build the REST API application around a connected Service.

    ``workers`` are the in-process :class:`~statemachine.runtime.worker.Worker` objects
    (``cli.py serve``), whose transition counts ``/metrics`` then reports.  ``auth``
    defaults to keys checked by a keyring over the service's store whose secret box has a
    key of its own (``cli.py serve`` passes the data dir's box): keys made through this
    app are then verified by any process, their secrets readable by this one only.
    """
    if auth is None:
        from statemachine.keyring import Keyring
        from statemachine.security.secretbox import SecretBox

        auth = AuthConfig(Keyring(service.store, SecretBox.generate()))
    app = web.Application(
        middlewares=[_count_and_audit, error_middleware, auth_middleware],
        client_max_size=MAX_DEFINITION_BYTES,
    )
    app[AUTH] = auth
    app[SERVICE] = service
    app[CONNECTIONS] = getattr(service, "connections", None)
    app[METRICS] = Metrics()
    app[SHUTDOWN] = asyncio.Event()
    app[WORKERS] = tuple(workers)
    app.on_shutdown.append(_release_long_polls)
    if hasattr(service, "timings"):  # this process's latency observations, to Redis
        app.cleanup_ctx.append(_timings_flusher)
    if hasattr(service, "express"):  # aws-sdk:sfn tasks of in-process runs reach this API
        from statemachine.api.aws.local import attach

        attach(service)
    add_routes(app)
    return app


async def _release_long_polls(app: web.Application) -> None:
    """End waiting activity polls (204) so a shutdown is not held up for a minute."""
    app[SHUTDOWN].set()


async def _timings_flusher(app: web.Application) -> AsyncIterator[None]:
    """Flush the API's latency histograms (start latency, callback wait) while it runs."""
    service = app[SERVICE]
    task = asyncio.create_task(flush_timings(service, service.settings.timings_flush_ms / 1000))
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@web.middleware
async def _count_and_audit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every answered request by method, route template and status; write the audit
    line of every call that may change state (all methods but GET and HEAD).  Notes when
    the request was taken (:data:`~statemachine.api.metrics.RECEIVED`)."""
    request[RECEIVED] = perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        method = request.method if request.method in COUNTED_METHODS else "other"
        request.app[METRICS].requests.inc(method, route, str(status))
        if request.method not in READS and not request.get(READ_ONLY, False):
            audit(request, status)
