"""``GET /metrics`` with the runtime's figures: gauges read from Redis at scrape time and the
workers' counters flushed to ``sm:stats``, through the real aiohttp app, Service and Worker."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from statemachine.runtime.settings import Settings
from statemachine.runtime.worker import Worker
from statemachine.service import Service
from tests.api.client import keyed_app
from tests.conftest import RedisServer


def parse(text: str) -> tuple[dict[str, float], dict[str, str]]:
    """Prometheus text: (value by ``name{labels}``, type by family name)."""
    values: dict[str, float] = {}
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
        elif line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            values[key] = float(value)
    return values, types


def machine(states: dict[str, Any], start: str) -> dict[str, Any]:
    return {"StartAt": start, "States": states}


async def test_metrics_show_executions_streams_timers_and_worker_counters(redis_url: str,
                                                                          serve_app: Any) -> None:
    async def work(request: web.Request) -> web.Response:
        return web.json_response({"done": (await request.json())["n"]})

    async def fail(request: web.Request) -> web.Response:
        return web.json_response({"no": True}, status=500)

    tasks = web.Application()
    tasks.router.add_post("/work", work)
    tasks.router.add_post("/fail", fail)
    conf = Settings.from_env(redis_url=redis_url, block_ms=100, timer_max_sleep_ms=50,
                             lease_ms=1000, stats_flush_ms=100)
    service = await Service.connect(redis_url, settings=conf)
    worker = Worker(redis_url, conf, 4)
    app, headers = await keyed_app(service, workers=[worker])
    try:
        async with serve_app(tasks) as base, TestClient(TestServer(app), headers=headers) as client:
            await service.define("call", machine({
                "Prepare": {"Type": "Pass", "Result": {"n": 1}, "Next": "Call"},
                "Call": {"Type": "Task", "Resource": f"{base}/work", "End": True}}, "Prepare"))
            await service.define("breaks", machine({
                "Call": {"Type": "Task", "Resource": f"{base}/fail", "End": True}}, "Call"))
            await service.define("nap", machine({
                "Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}, "Nap"))
            ended = [(await service.start("call"))["executionId"] for _ in range(3)]
            ended.append((await service.start("breaks"))["executionId"])
            await service.start("nap")
            await worker.run(drain=True)  # until no work is left: the nap sleeps for an hour
            statuses = [(await service.describe(xid))["status"] for xid in ended]
            assert statuses == ["SUCCEEDED"] * 3 + ["FAILED"]

            async def scrape() -> tuple[dict[str, float], dict[str, str]]:
                response = await client.get("/metrics")
                assert response.status == 200
                return parse(await response.text())

            def settled(values: dict[str, float]) -> bool:
                """Everything flushed and the nap parked on its timer."""
                return (values.get("statemachine_transitions_total", 0) > 0
                        and values["statemachine_transitions_total"]
                        == values.get("statemachine_worker_transitions_total")
                        and values.get("statemachine_timers_pending") == 1
                        and values.get('statemachine_work_items_pending{kind="ready"}') == 0)

            deadline = time.monotonic() + 15
            values, types = await scrape()
            while not settled(values):
                assert time.monotonic() < deadline, values
                await asyncio.sleep(0.05)
                values, types = await scrape()

            executions = {status: values[f'statemachine_executions_current{{status="{status}"}}']
                          for status in ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")}
            assert executions == {"RUNNING": 1, "SUCCEEDED": 3, "FAILED": 1, "TIMED_OUT": 0,
                                  "ABORTED": 0}
            performed = {result: values[f'statemachine_tasks_performed_total{{result="{result}"}}']
                         for result in ("succeeded", "failed", "timed_out", "sent")}
            assert performed == {"succeeded": 3, "failed": 1, "timed_out": 0, "sent": 0}
            # Pass + task, task result, per call; a start per machine at least.
            assert values["statemachine_transitions_total"] >= 3 * 2 + 1 + 1
            for kind in ("ready", "tasks"):
                assert values[f'statemachine_work_items_waiting_current{{kind="{kind}"}}'] == 0
                assert values[f'statemachine_work_items_pending{{kind="{kind}"}}'] == 0
            assert values["statemachine_dead_letters_current"] == 0
            assert values["statemachine_dead_lettered_total"] == 0
            assert values["statemachine_commit_conflicts_total"] >= 0
            assert values["statemachine_redis_up"] == 1
            assert values["statemachine_shard_backlog_max_current"] == 0  # nothing left to do
            assert values["statemachine_redis_used_memory_bytes_current"] > 0
            assert values["statemachine_redis_maxmemory_bytes_current"] >= 0
            assert types["statemachine_redis_used_memory_bytes_current"] == "gauge"
            assert types["statemachine_executions_current"] == "gauge"
            assert types["statemachine_work_items_pending"] == "gauge"
            assert types["statemachine_timers_pending"] == "gauge"
            assert types["statemachine_transitions_total"] == "counter"
            assert types["statemachine_tasks_performed_total"] == "counter"
    finally:
        await worker.stop()
        await service.close()


async def test_work_waiting_in_a_stream_is_a_gauge(redis_url: str) -> None:
    """Started items with no worker running wait in the ready stream, undelivered."""
    service = await Service.connect(redis_url)
    try:
        await service.define("idle", machine({"P": {"Type": "Pass", "End": True}}, "P"))
        for _ in range(4):
            await service.start("idle")
        app, headers = await keyed_app(service)
        async with TestClient(TestServer(app), headers=headers) as client:
            values, _ = parse(await (await client.get("/metrics")).text())
        assert values['statemachine_work_items_waiting_current{kind="ready"}'] == 4
        assert values['statemachine_work_items_pending{kind="ready"}'] == 0
        assert values['statemachine_executions_current{status="RUNNING"}'] == 4
        assert values["statemachine_transitions_total"] == 0
    finally:
        await service.close()


async def test_metrics_still_answer_when_redis_is_gone(tmp_path: Path) -> None:
    private = RedisServer(tmp_path)
    private.start()
    service = await Service.connect(private.url)
    try:
        # The key is verified while Redis is up; the keyring trusts it for a while after.
        app, headers = await keyed_app(service)
        async with TestClient(TestServer(app), headers=headers) as client:
            values, _ = parse(await (await client.get("/metrics")).text())
            assert values["statemachine_redis_up"] == 1
            assert 'statemachine_executions_current{status="RUNNING"}' in values
            private.stop(kill=True)
            response = await client.get("/metrics")
            assert response.status == 200
            values, _ = parse(await response.text())
            assert values["statemachine_redis_up"] == 0
            assert not any(key.startswith("statemachine_executions_current") for key in values)
            assert any(key.startswith("statemachine_http_requests_total") for key in values)
    finally:
        await service.close()
        private.stop()
