"""THE restart test: redis-server (AOF, appendfsync always) restarted in the middle of a run."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import RedisServer

RUNS = 60


@pytest.mark.slow
async def test_executions_finish_across_a_redis_restart(redis_server: RedisServer, runtime: Any,
                                                        serve_app: Any, gap_free: Any) -> None:
    async def echo(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return web.json_response({"seen": (await request.json())["n"]})

    app = web.Application()
    app.router.add_post("/echo", echo)
    async with serve_app(app) as base, runtime(worker=True) as rt:
        service, worker = rt.service, rt.worker
        await service.define("steady", {"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": f"{base}/echo", "ResultPath": "$.call", "Next": "Nap"},
            "Nap": {"Type": "Wait", "Seconds": 2, "Next": "Fan"},
            "Fan": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ResultPath": "$.items",
                    "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                    "End": True}}})
        ids = [(await service.start("steady", {"n": i, "items": [i, i + 1, i + 2]}))["executionId"]
               for i in range(RUNS)]
        await asyncio.sleep(1.0)
        before = worker.transitions
        await asyncio.to_thread(redis_server.restart)
        await rt.drain()
        for i, xid in enumerate(ids):
            done = await service.describe(xid)
            assert done["status"] == "SUCCEEDED", done
            assert done["output"] == {"n": i, "items": [i, i + 1, i + 2], "call": {"seen": i}}
            gap_free(await rt.events(xid))
        print(f"\nrestart test: {RUNS} executions, Redis restarted after {before} transitions; "
              f"all SUCCEEDED ({worker.transitions} transitions by the worker)")
