"""The bench's HTTP service: answers every ``POST /echo/<step>`` with its body.

It runs in a process of its own, like the services a workflow calls, so the moment a
request arrives is not delayed by what the load generator is doing (starting executions,
polling).  It notes when each request arrived (by the ``run`` field of the body and the
step number); ``GET /arrivals`` returns them as ``[[run, step, ms since the epoch], ...]``.

``python -m statemachine.bench.echo`` serves on a free loopback port and prints it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from statemachine.bench.child import child_server


class Echo:
    """The echo handlers and the arrivals they noted."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, int, float]] = []

    async def echo(self, request: web.BaseRequest, step: str) -> web.Response:
        arrived = time.time() * 1000
        body = await request.read()
        self.arrivals.append((_run_of(body), int(step), arrived))
        return web.Response(body=body, content_type="application/json")


def _run_of(body: bytes) -> str:
    """The ``run`` field of an echoed input (``{"run": "<execution name>", ...}``)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    return str(value.get("run", "")) if isinstance(value, dict) else ""


class Arrivals:
    """What the echo process saw: request count, and arrival time by (run, step)."""

    def __init__(self, rows: list[list[Any]]) -> None:
        self.requests = len(rows)
        self.at = {(run, step): ms for run, step, ms in rows}


@asynccontextmanager
async def echo_service() -> AsyncIterator[tuple[str, Any]]:
    """Run the echo service in a child process; yields (base URL, async fetch of Arrivals)."""
    async with child_server("statemachine.bench.echo", "echo service") as base:
        async def arrivals() -> Arrivals:
            async with aiohttp.ClientSession() as session, session.get(f"{base}/arrivals") as resp:
                return Arrivals(orjson.loads(await resp.read()))

        yield base, arrivals


async def _serve() -> None:
    # aiohttp's low-level server: the two routes need no router, middlewares or app signals.
    echo = Echo()

    async def route(request: web.BaseRequest) -> web.StreamResponse:
        if request.method == "POST" and request.path.startswith("/echo/"):
            return await echo.echo(request, request.path[6:])
        if request.method == "GET" and request.path == "/arrivals":
            return web.Response(body=orjson.dumps(echo.arrivals), content_type="application/json")
        return web.Response(status=404)

    runner = web.ServerRunner(web.Server(route), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()


def main() -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve())
    else:
        uvloop.run(_serve())


if __name__ == "__main__":
    main()
