"""Every AWS-recorded conformance case, run through ``advance()`` and the in-memory runner.

The cases (tests/conformance/cases, from LocalStack's AWS snapshots; see the README there)
hold what real AWS Step Functions produced.  The ``lambda`` group's functions are served by
tests/lambda_service.py, a real aiohttp server on a free port.  Timers run on virtual time.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests import lambda_service
from tests.conformance.harness import case_files, run_case, verdict

#: Cases we do not pass, each with the reason.  Anything listed that starts passing fails
#: the suite (strict), so this list stays true.
KNOWN: dict[str, str] = {
    "base_states/query_runtime_memory": (
        "an EXPRESS execution: AWS leaves RedriveCount out of $$.Execution there; this service "
        "runs STANDARD executions only"
    ),
}

CASES = case_files()


@pytest.fixture(scope="module")
def lambda_url() -> Any:
    """The Lambda stand-in on a free port, served from a thread with its own event loop."""
    loop = asyncio.new_event_loop()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runner = web.AppRunner(lambda_service.make_app(), shutdown_timeout=0.5)
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
async def test_case(path: Path, lambda_url: str) -> None:
    from statemachine.runtime.invokers import Invokers, InvokerSettings

    case = json.loads(path.read_text())
    key = f"{path.parent.name}/{path.stem}"
    if key in KNOWN:
        pytest.xfail(KNOWN[key])
    settings = InvokerSettings.from_env(lambda_endpoint=f"{lambda_url}/{case['name']}")
    async with Invokers(settings) as invokers:
        result = await asyncio.wait_for(run_case(case, invokers.invoke), 60)
    problem = verdict(case, result)
    assert problem is None, problem


def test_known_failures_exist() -> None:
    names = {f"{p.parent.name}/{p.stem}" for p in CASES}
    assert set(KNOWN) <= names
