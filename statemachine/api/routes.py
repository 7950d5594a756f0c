"""The REST API's routes: each handler checks its request, calls the Service once, answers JSON.

Every handler validates the whole request (body shape, field types, names, sizes) before
it calls the service, so a bad request is refused with a 4xx and nothing is written.
The route table :data:`ROUTES` is the single list the application, the OpenAPI document
and its test are built from; it also says what each route needs of its caller (a role, or
nothing: see :mod:`statemachine.api.auth`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from aiohttp import web

from statemachine.api.appkeys import METRICS, SERVICE, SHUTDOWN, WORKERS
from statemachine.api.audit import EXECUTION
from statemachine.api.auth import ACCESS, Access, Open
from statemachine.api.aws.protocol import aws_endpoint
from statemachine.api.connections import (
    create_connection,
    delete_connection,
    get_connection,
    list_connections,
)
from statemachine.api.express import start_sync_execution, test_state
from statemachine.api.keys import create_key, list_keys, login, logout, revoke_key, ui_index, whoami
from statemachine.api.logs import LOG_ROUTES
from statemachine.api.map_runs import MAP_RUN_ROUTES
from statemachine.api.metrics import CONTENT_TYPE, Metrics, exposition
from statemachine.api.openapi_security import secured_document
from statemachine.api.polling import MAX_POLL_SECONDS
from statemachine.api.polling import poll_activity as long_poll
from statemachine.api.problems import (
    MAX_CAUSE_LENGTH,
    MAX_DEFINITION_BYTES,
    MAX_ERROR_LENGTH,
    MAX_TOKEN_LENGTH,
    MAX_VERSION,
    STORE_UNAVAILABLE,
    bad_request,
    check_id,
    check_name,
    check_payload_size,
    error_response,
    json_response,
    query_float,
    query_int,
    query_str,
    read_body,
)
from statemachine.api.versions import CATALOG_ROUTES, read_start
from statemachine.interpreter.records import Status
from statemachine.runtime.tracing.context import w3c
from statemachine.security.roles import Role
from statemachine.service.redrive import MAX_CLIENT_TOKEN
from statemachine.web import asset, redirect

__all__ = ["METRICS", "ROUTES", "SERVICE", "SHUTDOWN", "Route", "add_routes"]


log = logging.getLogger("statemachine.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _service(request: web.Request) -> Any:
    return request.app[SERVICE]


def _metrics(request: web.Request) -> Metrics:
    return request.app[METRICS]


# state machines -------------------------------------------------------------------------


async def create_state_machine(request: web.Request) -> web.Response:
    """``POST /v1/state-machines``: register a definition; each POST of a name is a new version
    (with the ``loggingConfiguration`` given, else the version before's)."""
    body = (await read_body(request, max_bytes=MAX_DEFINITION_BYTES)).only(
        ("name", "definition", "substitutions", "queue", "loggingConfiguration")
    )
    name = body.name("name", "state machine name")
    assert name is not None
    definition = body.value("definition")
    if definition is None:
        bad_request("field 'definition' is required (an object, or JSON/YAML text)", "MissingField")
    if not isinstance(definition, (dict, str)):
        bad_request("field 'definition' must be an object or a string of JSON/YAML text",
                    "InvalidType")
    substitutions = body.str_map("substitutions")
    queue = body.value("queue")  # checked by the service (InvalidQueue)
    machine = await _service(request).define(name, definition, substitutions,
                                             body.value("loggingConfiguration"), queue=queue)
    return json_response(machine, status=201)


async def list_state_machines(request: web.Request) -> web.Response:
    """``GET /v1/state-machines``: every state machine's latest version."""
    return json_response({"stateMachines": await _service(request).list_machines()})


async def get_state_machine(request: web.Request) -> web.Response:
    """``GET /v1/state-machines/{name}[?version=N]``: one version (the latest by default)."""
    name = check_name(request.match_info["name"], "state machine name")
    version: int | None = None
    if "version" in request.query:
        version = query_int(request.query, "version", 0, 1, MAX_VERSION)
    return json_response(await _service(request).get_machine(name, version))


# executions -----------------------------------------------------------------------------


async def start_execution(request: web.Request) -> web.Response:
    """``POST /v1/state-machines/{name}/executions``: 201 new, 200 for an idempotent repeat;
    ``version`` or ``alias`` start a published version (or one an alias picks); ``testCase``
    runs a test case of the service's mock config (``serve --mock-config``)."""
    start = await read_start(request)
    machine = start.machine
    started = await _service(request).start(machine, start.input, start.name,
                                            qualifier=start.qualifier, test_case=start.test_case,
                                            trace_header=_traceparent(request))
    request[EXECUTION] = started["executionId"]  # for the audit line
    created = bool(started.get("created", True))
    if created:
        _metrics(request).start_stored(machine, request, _service(request).timings)
    response = json_response(started, status=201 if created else 200)
    response.headers["Location"] = f"/v1/executions/{started['executionId']}"
    return response


def _traceparent(request: web.Request) -> str | None:
    """The request's W3C ``traceparent``, which the execution continues (a malformed one
    is ignored, as the W3C spec says: the execution's trace starts anew)."""
    header = request.headers.get("traceparent")
    return header.strip().lower() if header is not None and w3c(header) is not None else None


async def describe_execution(request: web.Request) -> web.Response:
    """``GET /v1/executions/{id}``."""
    execution = await _service(request).describe(check_id(request.match_info["id"]))
    _metrics(request).saw_execution(execution)
    return json_response(execution)


async def list_executions(request: web.Request) -> web.Response:
    """``GET /v1/executions?stateMachine=&status=&redriveFilter=&limit=&cursor=``, newest
    first."""
    query = request.query
    machine = query_str(query, "stateMachine")
    if machine is not None:
        check_name(machine, "query parameter 'stateMachine'")
    status = _status(query_str(query, "status"))
    limit = query_int(query, "limit", 100, 1, 1000)
    cursor = query_str(query, "cursor")
    redrive = query_str(query, "redriveFilter")
    page = await _service(request).list_executions(machine, status, limit, cursor, redrive)
    return json_response(page)


def _status(text: str | None) -> Status | None:
    """The ``status=`` filter: absent, or one of :class:`Status` (a 400 names them all)."""
    if text is None:
        return None
    try:
        return Status(text)
    except ValueError:
        bad_request(f"query parameter 'status' must be one of {', '.join(Status)}",
                    "InvalidValue")


async def execution_history(request: web.Request) -> web.Response:
    """``GET /v1/executions/{id}/history?limit=&cursor=&reverse=``: Step Functions-shaped
    events (newest first with ``reverse=true``)."""
    execution_id = check_id(request.match_info["id"])
    limit = query_int(request.query, "limit", 1000, 1, 1000)
    cursor = query_str(request.query, "cursor")
    reverse = query_str(request.query, "reverse")
    if reverse not in (None, "true", "false"):
        bad_request("query parameter 'reverse' must be true or false", "InvalidValue")
    return json_response(await _service(request).history(execution_id, limit, cursor,
                                                          reverse=reverse == "true"))


async def stop_execution(request: web.Request) -> web.Response:
    """``POST /v1/executions/{id}/stop`` ``{"error"?, "cause"?}``: the execution is ABORTED."""
    execution_id = check_id(request.match_info["id"])
    body = (await read_body(request, optional=True)).only(("error", "cause"))
    error = body.string("error", max_length=MAX_ERROR_LENGTH)
    cause = body.string("cause", max_length=MAX_CAUSE_LENGTH)
    return json_response(await _service(request).stop(execution_id, error, cause))


async def redrive_execution(request: web.Request) -> web.Response:
    """``POST /v1/executions/{id}/redrive`` ``{"clientToken"?}``: a FAILED, TIMED_OUT or
    ABORTED execution resumes in the state that did not succeed (409 ExecutionNotRedrivable
    otherwise)."""
    execution_id = check_id(request.match_info["id"])
    body = (await read_body(request, optional=True)).only(("clientToken",))
    token = body.string("clientToken", max_length=MAX_CLIENT_TOKEN)
    return json_response(await _service(request).redrive(execution_id, token))


# task callbacks -------------------------------------------------------------------------


async def task_success(request: web.Request) -> web.Response:
    """``POST /v1/tasks/success`` ``{"taskToken", "output"}`` (SendTaskSuccess)."""
    body = (await read_body(request)).only(("taskToken", "output"))
    token = body.required_str("taskToken", max_length=MAX_TOKEN_LENGTH)
    if not body.has("output"):
        bad_request("field 'output' is required (any JSON value)", "MissingField")
    output = body.value("output")
    check_payload_size(output, "output")
    await _callback(request, "success", _service(request).send_task_success(
        token, output, traceparent=request.headers.get("traceparent")))
    return json_response({})


async def task_failure(request: web.Request) -> web.Response:
    """``POST /v1/tasks/failure`` ``{"taskToken", "error"?, "cause"?}`` (SendTaskFailure)."""
    body = (await read_body(request)).only(("taskToken", "error", "cause"))
    token = body.required_str("taskToken", max_length=MAX_TOKEN_LENGTH)
    error = body.string("error", max_length=MAX_ERROR_LENGTH)
    cause = body.string("cause", max_length=MAX_CAUSE_LENGTH)
    await _callback(request, "failure", _service(request).send_task_failure(
        token, error, cause, traceparent=request.headers.get("traceparent")))
    return json_response({})


async def task_heartbeat(request: web.Request) -> web.Response:
    """``POST /v1/tasks/heartbeat`` ``{"taskToken"}`` (SendTaskHeartbeat)."""
    body = (await read_body(request)).only(("taskToken",))
    token = body.required_str("taskToken", max_length=MAX_TOKEN_LENGTH)
    await _callback(request, "heartbeat", _service(request).send_task_heartbeat(token))
    return json_response({})


async def _callback(request: web.Request, kind: str, call: Awaitable[None]) -> None:
    """Await a task callback, counting it by outcome (``ok`` or the error class name)."""
    try:
        await call
    except Exception as exc:
        _metrics(request).callbacks.inc(kind, type(exc).__name__)
        raise
    _metrics(request).callbacks.inc(kind, "ok")


# activities -----------------------------------------------------------------------------


async def create_activity(request: web.Request) -> web.Response:
    """``POST /v1/activities`` ``{"name"}`` (CreateActivity; repeating it is harmless)."""
    body = (await read_body(request)).only(("name",))
    name = body.name("name", "activity name")
    assert name is not None
    return json_response(await _service(request).create_activity(name), status=201)


async def list_activities(request: web.Request) -> web.Response:
    """``GET /v1/activities?limit=&cursor=`` (ListActivities), by name."""
    limit = query_int(request.query, "limit", 100, 1, 1000)
    cursor = query_str(request.query, "cursor")
    return json_response(await _service(request).activities.list(limit, cursor))


async def describe_activity(request: web.Request) -> web.Response:
    """``GET /v1/activities/{name}`` (DescribeActivity)."""
    name = check_name(request.match_info["name"], "activity name")
    return json_response(await _service(request).activities.describe(name))


async def delete_activity(request: web.Request) -> web.Response:
    """``DELETE /v1/activities/{name}`` (DeleteActivity: none is no error)."""
    name = check_name(request.match_info["name"], "activity name")
    await _service(request).activities.delete(name)
    return web.Response(status=204)


async def poll_activity(request: web.Request) -> web.StreamResponse:
    """``POST /v1/activities/{name}/poll[?timeout=S]``: 200 with a task, 204 when none came.

    A long poll of up to 60 s (:mod:`~statemachine.api.polling`).  When the server shuts
    down, waiting polls end with 204 at once instead of holding the shutdown for a minute.
    """
    name = check_name(request.match_info["name"], "activity name")
    worker = (await read_body(request, optional=True)).only(("workerName",)).string(
        "workerName", max_length=80
    )
    timeout = query_float(request.query, "timeout", MAX_POLL_SECONDS, 0.0, MAX_POLL_SECONDS)
    task = await long_poll(request, name, timeout, worker)
    if task is None:
        return web.Response(status=204)
    _metrics(request).activity_tasks.inc(name)
    return json_response(task)


# operations -----------------------------------------------------------------------------


async def list_dead_letters(request: web.Request) -> web.Response:
    """``GET /v1/dead-letters?limit=&cursor=``: work items the workers gave up on, newest first."""
    limit = query_int(request.query, "limit", 100, 1, 1000)
    cursor = query_str(request.query, "cursor")
    return json_response(await _service(request).dead_letters(limit, cursor))


async def requeue_dead_letter(request: web.Request) -> web.Response:
    """``POST /v1/dead-letters/{id}/requeue``: put the message back on its stream (redrive)."""
    dead_id = check_id(request.match_info["id"], "dead letter id")
    (await read_body(request, optional=True)).only(())
    return json_response(await _service(request).requeue_dead_letter(dead_id))


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: 200 when Redis answers, 503 otherwise (a bug is logged, and is 503 too)."""
    try:
        ok = bool(await asyncio.wait_for(_service(request).healthy(), timeout=5.0))
    except STORE_UNAVAILABLE:  # the gateway's outage tuple; it covers the wait_for timeout too
        ok = False
    except Exception:
        log.exception("GET /healthz: the health check failed unexpectedly")
        ok = False
    _metrics(request).up = 1.0 if ok else 0.0
    if ok:
        return json_response({"status": "ok"})
    return error_response(503, "Unavailable", "Redis is not reachable")


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics``: Prometheus text format (see :mod:`statemachine.api.metrics`)."""
    workers = request.app[WORKERS]
    body = await exposition(_metrics(request), _service(request), workers)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE,
                                            "X-Content-Type-Options": "nosniff"})


async def openapi_document(request: web.Request) -> web.Response:
    """``GET /openapi.json``: the OpenAPI 3.1 description of every route."""
    return json_response(secured_document(tuple((r.method, r.path, r.access) for r in ROUTES)))


class Route(NamedTuple):
    """One route: its method, path template, handler and what a caller needs (:data:`Access`)."""

    method: str
    path: str
    handler: Handler
    access: Access


_VIEWER, _OPERATOR, _ADMIN = Role.VIEWER, Role.OPERATOR, Role.ADMIN
_PUBLIC, _TASK_TOKEN = Open.PUBLIC, Open.TASK_TOKEN

ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/state-machines", create_state_machine, _ADMIN),
    Route("GET", "/v1/state-machines", list_state_machines, _VIEWER),
    Route("GET", "/v1/state-machines/{name}", get_state_machine, _VIEWER),
    Route("POST", "/v1/state-machines/{name}/executions", start_execution, _OPERATOR),
    Route("GET", "/v1/executions", list_executions, _VIEWER),
    Route("GET", "/v1/executions/{id}", describe_execution, _VIEWER),
    Route("GET", "/v1/executions/{id}/history", execution_history, _VIEWER),
    Route("POST", "/v1/executions/{id}/stop", stop_execution, _OPERATOR),
    Route("POST", "/v1/executions/{id}/redrive", redrive_execution, _OPERATOR),
    Route("POST", "/v1/state-machines/{name}/executions/sync", start_sync_execution, _OPERATOR),
    Route("POST", "/v1/test-state", test_state, _OPERATOR),
    Route("POST", "/v1/tasks/success", task_success, _TASK_TOKEN),
    Route("POST", "/v1/tasks/failure", task_failure, _TASK_TOKEN),
    Route("POST", "/v1/tasks/heartbeat", task_heartbeat, _TASK_TOKEN),
    Route("POST", "/v1/activities", create_activity, _ADMIN),
    Route("POST", "/v1/activities/{name}/poll", poll_activity, _OPERATOR),
    Route("GET", "/v1/activities", list_activities, _VIEWER),
    Route("GET", "/v1/activities/{name}", describe_activity, _VIEWER),
    Route("DELETE", "/v1/activities/{name}", delete_activity, _ADMIN),
    Route("GET", "/v1/dead-letters", list_dead_letters, _VIEWER),
    Route("POST", "/v1/dead-letters/{id}/requeue", requeue_dead_letter, _OPERATOR),
    Route("POST", "/v1/keys", create_key, _ADMIN),
    Route("GET", "/v1/keys", list_keys, _ADMIN),
    Route("DELETE", "/v1/keys/{id}", revoke_key, _ADMIN),
    Route("POST", "/v1/session", login, _PUBLIC),
    Route("GET", "/v1/session", whoami, _VIEWER),
    Route("DELETE", "/v1/session", logout, _PUBLIC),
    Route("POST", "/v1/connections", create_connection, _ADMIN),
    Route("GET", "/v1/connections", list_connections, _ADMIN),
    Route("GET", "/v1/connections/{name}", get_connection, _ADMIN),
    Route("DELETE", "/v1/connections/{name}", delete_connection, _ADMIN),
    Route("GET", "/healthz", healthz, _PUBLIC),
    Route("GET", "/metrics", metrics, _VIEWER),  # or public with serve --metrics-public
    Route("GET", "/openapi.json", openapi_document, _PUBLIC),
    Route("GET", "/", redirect, _PUBLIC),
    Route("POST", "/", aws_endpoint, Open.SIGNED),  # the AWS API: SigV4 per operation
    Route("GET", "/ui/", ui_index, _PUBLIC),
    Route("GET", "/ui/{file:.+}", asset, _PUBLIC),
    *(Route(*route) for route in CATALOG_ROUTES),
    *(Route(*route) for route in MAP_RUN_ROUTES),
    *(Route(*route) for route in LOG_ROUTES),
)
"""Every route. Public routes hold no data (the dashboard's files, this API's description,
liveness) or are the login itself; ``/v1/tasks/*`` are authorised by the task token."""


def add_routes(app: web.Application) -> None:
    """Register :data:`ROUTES` on ``app`` (GET routes answer HEAD too), and what each needs."""
    for route in ROUTES:
        if route.method == "GET":
            app.router.add_get(route.path, route.handler)
        else:
            app.router.add_route(route.method, route.path, route.handler)
    app[ACCESS] = {route.handler: route.access for route in ROUTES}
