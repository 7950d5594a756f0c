"""Worker pools with real worker processes: two queues, one pool stopped.

``cli.py worker --queues default`` and ``cli.py worker --queues payments`` run side by side.
With the payments pool stopped, the default queue's executions still finish; the payments
machine's executions (and a default machine's Task whose ``x-queue`` is payments) wait,
shown on ``/metrics`` as the queue's work with no live worker and by describe as
``waitingForWorker``; once a payments worker starts they finish.  Each workflow goes
through the queue's every key: work items, a task dispatch, a timer (Wait), Map children.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from statemachine.runtime.settings import Settings
from statemachine.service import Service
from tests.api.client import keyed_app

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEADLINE_S = 60.0


def workflow(base: str, task_queue: str | None = None) -> dict[str, Any]:
    """Pass, an HTTP task (on ``task_queue`` when given), a Wait, a Map of two tasks."""
    call: dict[str, Any] = {"Type": "Task", "Resource": f"{base}/work", "ResultPath": "$.call",
                            "Next": "Nap"}
    if task_queue is not None:
        call["x-queue"] = task_queue
    return {"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Result": [1, 2], "ResultPath": "$.items", "Next": "Call"},
        "Call": call,
        "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.each", "End": True,
                 "ItemProcessor": {"StartAt": "Item", "States": {
                     "Item": {"Type": "Task", "Resource": f"{base}/work", "End": True}}}},
    }}


@contextmanager
def pool(redis_url: str, queues: str, name: str) -> Iterator[subprocess.Popen[bytes]]:
    """A ``cli.py worker --queues`` process, stopped with SIGTERM (its graceful stop)."""
    env = {**os.environ, "PYTHONPATH": ROOT, "STATEMACHINE_CONSUMER": name,
           "STATEMACHINE_LEASE_MS": "1000", "STATEMACHINE_TIMER_MAX_SLEEP_MS": "100",
           "STATEMACHINE_BLOCK_MS": "200"}
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "cli.py"), "worker",
                             "--redis-url", redis_url, "--queues", queues,
                             "--log-level", "WARNING"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err.decode()


def gauges(text: str) -> dict[str, float]:
    """Prometheus text: the value of each ``name{labels}``."""
    return {line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
            for line in text.splitlines() if line and not line.startswith("#")}


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await check():
        assert time.monotonic() < deadline, f"still not {what}"
        await asyncio.sleep(0.1)


async def test_a_stopped_pool_holds_its_queue_only_and_resumes_with_a_new_worker(
        redis_url: str, serve_app: Any) -> None:
    async def work(request: web.Request) -> web.Response:
        return web.json_response({"ok": await request.json() is not None})

    tasks = web.Application()
    tasks.router.add_post("/work", work)
    service = await Service.connect(redis_url, settings=Settings.from_env(redis_url=redis_url))
    app, headers = await keyed_app(service)
    try:
        async with serve_app(tasks) as base, TestClient(TestServer(app), headers=headers) as api:
            defined = await api.post("/v1/state-machines", json={
                "name": "settle", "definition": workflow(base), "queue": "payments"})
            assert defined.status == 201 and (await defined.json())["queue"] == "payments"
            await service.define("ledger", workflow(base))
            await service.define("refund", workflow(base, task_queue="payments"))
            assert (await service.get_machine("settle"))["queue"] == "payments"
            assert "queue" not in await service.get_machine("ledger")

            async def start(machine: str) -> str:
                return str((await service.start(machine, {}))["executionId"])

            async def statuses(ids: list[str]) -> list[str]:
                return [(await service.describe(x))["status"] for x in ids]

            async def scrape() -> dict[str, float]:
                response = await api.get("/metrics")
                assert response.status == 200
                return gauges(await response.text())

            def gauge(values: dict[str, float], name: str, queue: str) -> float:
                return values[f'statemachine_queue_{name}_current{{queue="{queue}"}}']

            with pool(redis_url, "default", "pool-default"):
                with pool(redis_url, "payments", "pool-payments-1"):
                    first = [await start(m) for m in ("ledger", "settle", "refund")]

                    async def done() -> bool:
                        return await statuses(first) == ["SUCCEEDED"] * 3
                    await until(done, "finished with both pools")
                # The payments pool is stopped (gracefully: it withdrew from the pool).
                ledger = [await start("ledger") for _ in range(2)]
                held = [await start("settle") for _ in range(2)] + [await start("refund")]

                async def ledger_done() -> bool:
                    return await statuses(ledger) == ["SUCCEEDED"] * 2
                await until(ledger_done, "finished on the default queue")
                assert await statuses(held) == ["RUNNING"] * 3
                values = await scrape()
                assert gauge(values, "workers", "payments") == 0
                assert gauge(values, "workers", "default") == 1
                # two settle Started items, refund's task dispatch
                assert gauge(values, "work", "payments") == 3
                assert gauge(values, "work", "default") == 0
                described = await service.describe(held[0])
                assert (described["queue"], described["waitingForWorker"]) == ("payments", True)
                refund = await service.describe(held[2])
                assert "queue" not in refund  # its machine's queue is the default one
                # ...and its Task's x-queue is payments, which no live worker takes
                assert (refund["taskQueue"], refund["waitingForWorker"]) == ("payments", True)
                assert "taskQueue" not in described and "taskQueue" not in await \
                    service.describe(ledger[0])
                events = [e["type"] for e in (await service.history(held[2]))["events"]]
                assert "TaskScheduled" in events  # its task waits for a payments worker
                assert "TaskSucceeded" not in events

                with pool(redis_url, "payments", "pool-payments-2"):
                    async def resumed() -> bool:
                        return await statuses(held) == ["SUCCEEDED"] * 3
                    await until(resumed, "finished once a payments worker started")
                    values = await scrape()
                    assert gauge(values, "workers", "payments") == 1
                    assert gauge(values, "work", "payments") == 0
            for xid in first + ledger + held:
                output = (await service.describe(xid))["output"]
                assert output["call"] == {"ok": True}
                assert output["each"] == [{"ok": True}, {"ok": True}]
    finally:
        await service.close()


async def test_callbacks_stops_and_redrives_reach_an_execution_on_its_queue(
        runtime: Any, redis: Any) -> None:
    """A callback finds the execution's queue (callback.lua answers with it when the default
    queue's stream was guessed), a stop and a redrive are enqueued on its queue: the
    default queue's streams never see them."""
    async with runtime(worker=True, queues=("payments",)) as rt:
        service = rt.service
        arn = (await service.create_activity("approve"))["activityArn"]
        await service.define("pay", {"StartAt": "Ask", "States": {
            "Ask": {"Type": "Task", "Resource": arn, "Next": "Done"},
            "Done": {"Type": "Fail", "Error": "Pay.Refused"}}}, queue="payments")
        answered, stopped = [(await service.start("pay", {"n": n}))["executionId"]
                             for n in (1, 2)]
        polled = [await service.poll_activity("approve", timeout=10) for _ in range(2)]
        token = next(t["taskToken"] for t in polled if t is not None and t["input"] == {"n": 1})
        await service.send_task_success(token, {"ok": True})
        await service.stop(stopped, "Pay.Stopped")

        async def ended() -> bool:
            found = [(await service.describe(x))["status"] for x in (answered, stopped)]
            return found == ["FAILED", "ABORTED"]
        await until(ended, "ended")
        await service.redrive(answered)

        async def redriven() -> bool:
            described = await service.describe(answered)
            return bool(described["status"] == "FAILED" and described["redriveCount"] == 1)
        await until(redriven, "failed again after the redrive")
        described = await service.describe(answered)
        assert (described["queue"], described["error"]) == ("payments", "Pay.Refused")
        assert "waitingForWorker" not in described  # shown while it runs only
        for shard in service.store.shards:
            assert await redis.xlen(shard.ready) == 0
            assert await redis.xinfo_groups(shard.lane("payments").ready)


async def test_a_queue_is_set_by_define_or_tag_and_a_bad_one_is_a_400(redis_url: str) -> None:
    service = await Service.connect(redis_url, settings=Settings.from_env(redis_url=redis_url))
    app, headers = await keyed_app(service)
    hello = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    try:
        async with TestClient(TestServer(app), headers=headers) as api:
            for queue in ("no spaces", 7, ""):
                refused = await api.post("/v1/state-machines",
                                         json={"name": "hello", "definition": hello,
                                               "queue": queue})
                assert refused.status == 400
                assert (await refused.json())["error"] == "InvalidQueue"
            tagged = await api.post("/v1/state-machines/hello/tags",
                                    json={"tags": {"statemachine:queue": "{s1}"}})
            assert tagged.status == 400  # the tags are checked first
            await service.define("hello", hello, queue="batch")
            assert (await service.get_machine("hello"))["queue"] == "batch"
            bad = await api.post("/v1/state-machines/hello/tags",
                                 json={"tags": {"statemachine:queue": "a:b"}})
            assert bad.status == 400
            assert (await service.get_machine("hello"))["queue"] == "batch"
            retagged = await api.post("/v1/state-machines/hello/tags",
                                      json={"tags": {"statemachine:queue": "nightly"}})
            assert retagged.status == 200
            assert (await service.get_machine("hello"))["queue"] == "nightly"
            await service.define("hello", hello, queue="default")  # back to the default queue
            assert "queue" not in await service.get_machine("hello")
            await service.define("other", {"StartAt": "T", "States": {"T": {
                "Type": "Task", "Resource": "https://x.test/a", "x-queue": "gpu", "End": True}}})
            metrics = gauges(await (await api.get("/metrics")).text())
            known = {k for k in metrics if k.startswith("statemachine_queue_workers_current")}
            assert known == {f'statemachine_queue_workers_current{{queue="{q}"}}'
                             for q in ("default", "batch", "nightly", "gpu")}
    finally:
        await service.close()
