"""The REST API fuzzed from its own ``/openapi.json`` by schemathesis, as CI runs it.

A serve-like application (a real :class:`~statemachine.service.Service` and an in-process
Worker on the session's redis-server, ``hello`` defined) is served from a thread of its
own.  For each operation of the document it serves, schemathesis sends a bounded and
deterministic set of requests: the document's examples, the coverage cases (each boundary,
each constraint broken once) and random ones, valid and invalid.  Each response must

- never be a 5xx (``not_a_server_error``);
- have a status, a content type and a body the document declares for the operation
  (``status_code_conformance``, ``content_type_conformance``,
  ``response_schema_conformance``);
- accept a request the document says is valid (``positive_data_acceptance``) and refuse
  one it says is invalid (``negative_data_rejection``).

Some valid-looking requests are refused for facts no schema can state: a definition that
is well-formed JSON but not a valid state machine, a task token that was never issued.
For those operations a 400 is allowed with only the error codes of :data:`REFUSED_BY_STATE`.

Authentication: every request carries :func:`auth_headers`, one run per entry of
:data:`KEYS` (an admin key, which every operation accepts).

At the end the run prints its figures: operations, and requests sent.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckContext
from schemathesis.core.transport import Response

from statemachine.api.openapi_security import secured_document
from statemachine.api.routes import ROUTES
from tests.api.samples import HELLO
from tests.conftest import RedisServer, free_port

MAX_EXAMPLES = 50
"""Random cases per operation, on top of the coverage cases (about 1,400 requests in all,
20 s on 2 cores)."""

SEED = 20_260_101
"""schemathesis' seed; with Hypothesis' derandomize, every run sends the same requests."""

REFUSED_BY_STATE: dict[str, frozenset[str]] = {
    "createStateMachine": frozenset({"InvalidDefinition"}),
    "sendTaskSuccess": frozenset({"InvalidToken", "TaskTimedOut"}),
    "sendTaskFailure": frozenset({"InvalidToken", "TaskTimedOut"}),
    "sendTaskHeartbeat": frozenset({"InvalidToken", "TaskTimedOut"}),
    "createConnection": frozenset({"InvalidConnection"}),
    "startExecution": frozenset({"InvalidTestCase"}),
    "startSyncExecution": frozenset({"StateMachineTypeNotSupported", "InvalidTestCase"}),
    "testState": frozenset({"InvalidDefinition"}),
    "createAlias": frozenset({"ValidationException", "ServiceQuotaExceededException"}),
    "updateAlias": frozenset({"ValidationException"}),
    "tagStateMachine": frozenset({"TooManyTags"}),
    "publishVersion": frozenset({"ServiceQuotaExceededException"}),
    "listVersions": frozenset({"InvalidToken"}),
    "listAliases": frozenset({"InvalidToken"}),
}
"""Per operation, the 400 error codes a schema-valid request may get: they depend on what
the service holds (a definition's meaning, the tokens it issued, the test cases of its mock
config) or on a rule between fields
the schema does not state (the one auth-parameters block an authorizationType takes, an
alias's weights summing to 100 over distinct versions), on a quota (tags, versions,
aliases) or on a cursor being one the service gave, not on each field's shape."""

POLL_SECONDS = 0.2
"""An activity poll with a valid or no ``timeout=`` waits this long, not up to a minute."""

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "negative_data_rejection")


KEYS = ("admin",)
"""The keys the fuzzer sends requests with (an admin key reaches every operation)."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # One run per key; it also names each item after its operation (test_fuzz[GET /x][none]),
    # which schemathesis' own naming no longer does on pytest 9.
    if "auth_headers" in metafunc.fixturenames:
        metafunc.parametrize("auth_headers", KEYS, indirect=True, scope="module")


@pytest.fixture(scope="module")
def auth_headers(request: pytest.FixtureRequest, served_api: str) -> dict[str, str]:
    """The headers that authenticate every fuzzed request with the key ``request.param``."""
    match request.param:
        case "admin":
            # the service's own Origin, as the dashboard sends: a login is refused without it
            return {"Authorization": f"Bearer {ADMIN_SECRET[0]}", "Origin": served_api}
        case other:
            raise AssertionError(f"no such key: {other}")


@pytest.fixture(scope="module")
def served_api(redis_server: RedisServer) -> Iterator[str]:
    """A serve-like app (Service, in-process Worker, ``hello`` defined) on a free port;
    yields its base URL."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    with _serve_in_thread(redis_server.url) as base_url:
        yield base_url


ADMIN_SECRET: list[str] = []
"""The secret of the admin key the served app was made with (set by :class:`_Served`)."""


class _Served:
    """What the serving thread's event loop owns, so that it can close it in order."""

    def __init__(self, redis_url: str, port: int) -> None:
        self.redis_url, self.port = redis_url, port
        self.stop = asyncio.Event()

    async def run(self, ready: threading.Event) -> None:
        from aiohttp import web

        from statemachine.api import create_app
        from statemachine.api.auth import AUTH
        from statemachine.runtime.settings import Settings
        from statemachine.runtime.worker import Worker
        from statemachine.security.roles import Role
        from statemachine.service import Service

        service = await Service.connect(self.redis_url)
        await service.define("hello", HELLO)
        await service.create_activity("work")
        settings = Settings.from_env(redis_url=self.redis_url, block_ms=100,
                                     timer_max_sleep_ms=50)
        worker = Worker(self.redis_url, settings, 4)
        worker_task = asyncio.create_task(worker.run())
        app = create_app(service, workers=[worker])
        ADMIN_SECRET[:] = [(await app[AUTH].keyring.create(Role.ADMIN, "fuzzer"))[1]]
        runner = web.AppRunner(app, access_log=None,
                               shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        ready.set()
        try:
            await self.stop.wait()
        finally:
            await runner.cleanup()
            await worker.stop()
            await asyncio.wait_for(worker_task, 15)
            await service.close()


class _serve_in_thread:
    """``with _serve_in_thread(redis_url) as base_url``: :class:`_Served` on its own loop."""

    def __init__(self, redis_url: str) -> None:
        self.served = _Served(redis_url, free_port())
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name="fuzzed-api", daemon=True)
        self.ready = threading.Event()
        self.error: BaseException | None = None

    def _main(self) -> None:
        try:
            self.loop.run_until_complete(self.served.run(self.ready))
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            self.error = exc
            self.ready.set()
        finally:
            self.loop.close()

    def __enter__(self) -> str:
        self.thread.start()
        assert self.ready.wait(30), "the fuzzed API did not start"
        if self.error is not None:
            raise self.error
        return f"http://127.0.0.1:{self.served.port}"

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.served.stop.set)
        self.thread.join(30)
        if self.error is not None:
            raise self.error


@pytest.fixture(scope="module")
def base_url(served_api: str, auth_headers: dict[str, str],
             request: pytest.FixtureRequest) -> Iterator[str]:
    """The running service's URL, once it is known to serve the document fuzzed here; at the
    end, the figures of the run are printed."""
    import requests

    served = requests.get(f"{served_api}/openapi.json", headers=auth_headers, timeout=10)
    assert served.status_code == 200 and served.json() == DOCUMENT, "a stale document"
    yield served_api
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and COUNTS:
        with capture.global_and_fixture_disabled():  # teardown output is captured otherwise
            reporter.write_line(f"fuzzed {len(COUNTS)} operations with {sum(COUNTS.values())} "
                                f"requests (at most {max(COUNTS.values())} for one operation)")


DOCUMENT = secured_document(tuple((r.method, r.path, r.access) for r in ROUTES))
"""The document ``/openapi.json`` serves: the operations with the role each needs."""

COUNTS: dict[str, int] = {}
"""Requests sent per operation (by operationId), for the figures printed at the end."""

# The operations are read from the document at collection, as pytest needs them then (the
# service's port is not known yet); ``base_url`` checks that it is the one the service serves.
# (schemathesis' lazy ``from_fixture`` loader cannot run on pytest 9.)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict({
    "seed": SEED,
    "request-timeout": 30,
    # a body over its limit is refused with 413 before its fields are read
    "checks": {"negative_data_rejection": {"expected-statuses": [400, 404, 405, 409, 413, 415]}},
    "generation": {"deterministic": True, "mode": "all", "max-examples": MAX_EXAMPLES,
                   "database": "none"},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
               "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
}))


def refused_only_by_state(ctx: CheckContext, response: Response, case: Any) -> bool | None:
    """A valid request may get a 400 only with one of its operation's REFUSED_BY_STATE codes."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    allowed = REFUSED_BY_STATE[_operation_id(case)]
    code = (response.json() or {}).get("error")
    assert code in allowed, (
        f"a schema-valid request was refused with {code!r}, not one of {sorted(allowed)}: "
        f"{response.text[:300]}")
    return True


def key_accepted(ctx: CheckContext, response: Response, case: Any) -> bool | None:
    """No request of the run is refused for its key (positive_data_acceptance lets 401 and
    403 pass, as it cannot know the key is good).  A login is the exception: the secret it
    carries in its body is the fuzzer's, and refusing it is that operation's job."""
    if _operation_id(case) == "login":
        assert response.status_code != 403, f"a login was refused: {response.text[:300]}"
        return True
    assert response.status_code not in (401, 403), f"the key was refused: {response.text[:300]}"
    return True


def _operation_id(case: Any) -> str:
    return str(case.operation.definition.raw.get("operationId"))


def _short_poll(case: Any) -> None:
    """Cut a poll's valid or missing timeout to POLL_SECONDS (an invalid one is left to be
    refused)."""
    if case.query is None:
        case.query = {}
    text = case.query.get("timeout")
    if text is None:
        case.query["timeout"] = POLL_SECONDS
        return
    try:
        seconds = float(text) if isinstance(text, (str, int, float)) else None
    except ValueError:
        return
    if seconds is not None and 0 <= seconds <= 60:
        case.query["timeout"] = min(seconds, POLL_SECONDS)


# POST / is the AWS API: not REST, its bodies and errors are AWS's (botocore's model), and
# it is fuzzed with signed requests in tests/aws/test_fuzz_aws.py.
@schema.exclude(operation_id="awsStepFunctions").parametrize()
@settings(derandomize=True, deadline=None, database=None, max_examples=MAX_EXAMPLES,
          suppress_health_check=list(HealthCheck))
def test_fuzz(case: Any, base_url: str, auth_headers: dict[str, str]) -> None:
    from schemathesis import checks

    operation = _operation_id(case)
    COUNTS[operation] = COUNTS.get(operation, 0) + 1
    if operation == "pollActivity":
        _short_poll(case)
    chosen = [getattr(checks, name) for name in CHECKS] + [key_accepted]
    if operation in REFUSED_BY_STATE:
        chosen.append(refused_only_by_state)
    else:
        chosen.append(checks.positive_data_acceptance)
    case.call_and_validate(base_url=base_url, headers=auth_headers, checks=chosen)
