"""The latency histograms of ``GET /metrics``: observed by the API and a real worker over a
real redis-server, flushed to Redis by each, summed at scrape time, and parsed back with
prometheus-client's own parser."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from statemachine.runtime.settings import Settings
from statemachine.runtime.store import RedisStore
from statemachine.runtime.store.timings import add_timings, read_timings
from statemachine.runtime.timings import (
    FAMILIES,
    MAX_SERIES,
    OTHER,
    TASK_DURATION,
    TRANSITION_COMMIT,
    Timings,
)
from statemachine.runtime.worker import Worker
from statemachine.service import Service
from tests.api.client import keyed_app

Histograms = dict[str, dict[tuple[tuple[str, str], ...], dict[str, float]]]
"""family -> label set (without le) -> {"count", "sum", "buckets": ...} of a scrape."""


def histograms(text: str) -> Histograms:
    """Every histogram of an exposition: count, sum and cumulative buckets per label set,
    checked to be consistent on the way (buckets rising, +Inf equal to the count)."""
    found: Histograms = {}
    for family in text_string_to_metric_families(text):
        if family.type != "histogram":
            continue
        series: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            entry = series.setdefault(labels, {"buckets": []})
            if sample.name.endswith("_bucket"):
                entry["buckets"].append((float(sample.labels["le"]), sample.value))
            else:
                entry[sample.name.rsplit("_", 1)[1]] = sample.value
        for entry in series.values():
            counts = [n for _, n in sorted(entry["buckets"])]
            assert counts == sorted(counts) and counts[-1] == entry["count"], entry
        found[family.name] = series
    return found


def count(found: Histograms, family: str, **labels: str) -> float:
    entry = found.get(family, {}).get(tuple(sorted(labels.items())))
    return 0.0 if entry is None else entry["count"]


def machine(base: str) -> dict[str, Any]:
    """Task, task, a failing task (caught), a one-second Wait, a callback task."""
    return {"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": f"{base}/work", "Next": "Again"},
        "Again": {"Type": "Task", "Resource": f"{base}/work", "Next": "Flaky"},
        "Flaky": {"Type": "Task", "Resource": f"{base}/fail", "Next": "Nap",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Nap"}]},
        "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Ask"},
        "Ask": {"Type": "Task", "Resource": f"{base}/ask.waitForTaskToken",
                "Parameters": {"token.$": "$$.Task.Token"}, "End": True},
    }}


async def test_histograms_move_with_work_done_by_a_real_worker(redis_url: str,
                                                                serve_app: Any) -> None:
    tokens: list[str] = []

    async def work(request: web.Request) -> web.Response:
        return web.json_response({"done": True})

    async def fail(request: web.Request) -> web.Response:
        return web.json_response({"no": True}, status=503)

    async def ask(request: web.Request) -> web.Response:
        tokens.append((await request.json())["token"])
        return web.json_response({})

    tasks = web.Application()
    tasks.router.add_post("/work", work)
    tasks.router.add_post("/fail", fail)
    tasks.router.add_post("/ask", ask)  # the URL without its .waitForTaskToken
    conf = Settings.from_env(redis_url=redis_url, block_ms=100, timer_max_sleep_ms=50,
                             lease_ms=1000, timings_flush_ms=50)
    service = await Service.connect(redis_url, settings=conf)
    app, headers = await keyed_app(service)
    runs = 2
    try:
        async with serve_app(tasks) as base, TestClient(TestServer(app), headers=headers) as api:
            port = base.rsplit(":", 1)[1]
            await service.define("chain", machine(base))
            # before any work: the families are there, the unlabelled ones at zero
            first = histograms(await (await api.get("/metrics")).text())
            assert set(first) == {family.name for family in FAMILIES}
            assert count(first, "statemachine_transition_commit_seconds") == 0
            started = []
            for _ in range(runs):
                response = await api.post("/v1/state-machines/chain/executions", json={})
                assert response.status == 201
                started.append((await response.json())["executionId"])
            await Worker(redis_url, conf, 4).run(drain=True)  # up to the callback task
            assert len(tokens) == runs
            for token in tokens:
                response = await api.post("/v1/tasks/success",
                                          json={"taskToken": token, "output": {"ok": 1}})
                assert response.status == 200, await response.text()
            await Worker(redis_url, conf, 4).run(drain=True)
            assert [(await service.describe(x))["status"] for x in started] == ["SUCCEEDED"] * 2

            host = f"127.0.0.1:{port}"
            expected = {
                ("statemachine_start_latency_seconds", ()): runs,
                ("statemachine_task_duration_seconds",
                 (("host", host), ("result", "succeeded"))): 2 * runs,
                ("statemachine_task_duration_seconds",
                 (("host", host), ("result", "failed"))): runs,
                ("statemachine_task_duration_seconds",
                 (("host", host), ("result", "sent"))): runs,
                # Call -> Again -> Flaky: two transitions from a task straight to the next
                ("statemachine_next_dispatch_delay_seconds", ()): 2 * runs,
                ("statemachine_timer_lateness_seconds", ()): runs,
                ("statemachine_callback_wait_seconds", (("result", "succeeded"),)): runs,
            }

            def seen(found: Histograms) -> dict[tuple[str, Any], float]:
                return {key: count(found, key[0], **dict(key[1])) for key in expected}

            deadline = time.monotonic() + 15
            found = histograms(await (await api.get("/metrics")).text())
            while seen(found) != expected:  # the API flushes its own every 50 ms
                assert time.monotonic() < deadline, seen(found)
                await asyncio.sleep(0.05)
                found = histograms(await (await api.get("/metrics")).text())
            # start, 3 task results, the timer, the callback: one commit each at least
            assert count(found, "statemachine_transition_commit_seconds") >= 6 * runs
            waits = found["statemachine_callback_wait_seconds"][(("result", "succeeded"),)]
            assert waits["sum"] > 0
            late = found["statemachine_timer_lateness_seconds"][()]
            assert late["sum"] >= 0
            assert set(found["statemachine_task_duration_seconds"]) == {
                (("host", host), ("result", r)) for r in ("succeeded", "failed", "sent")}
    finally:
        await service.close()


def test_one_process_keeps_its_observations_until_they_are_taken() -> None:
    timings = Timings()
    timings.observe(TRANSITION_COMMIT, 0.0003)
    timings.observe(TRANSITION_COMMIT, 0.0001)  # on a bound: that bucket (le is inclusive)
    timings.observe(TRANSITION_COMMIT, 99.0)  # past the last bound: +Inf
    timings.observe(TRANSITION_COMMIT, -0.5)  # clocks apart: 0
    taken = timings.take()
    counts = taken[TRANSITION_COMMIT][()]
    assert counts[0] == 2 and counts[2] == 1 and counts[-2] == 1
    assert sum(counts[:-1]) == 4 and counts[-1] == 99_000_400
    assert timings.take() == {}
    timings.put_back(taken)
    timings.observe(TRANSITION_COMMIT, 0.0003)
    again = timings.take()[TRANSITION_COMMIT][()]
    assert again[2] == 2 and sum(again[:-1]) == 5


def test_label_sets_past_the_cap_count_as_other() -> None:
    timings = Timings()
    for n in range(MAX_SERIES + 5):
        timings.observe(TASK_DURATION, 0.01, (f"h{n}:80", "succeeded"))
    series = timings.take()[TASK_DURATION]
    assert len(series) == MAX_SERIES + 1
    assert sum(series[(OTHER, OTHER)][:-1]) == 5


async def test_processes_add_up_in_redis(redis_url: str) -> None:
    """Two processes' increments are summed field by field; a field written by a release
    with other bounds (or not ours) is left out, not mistaken for another bucket."""
    store = await RedisStore.connect(Settings.from_env(redis_url=redis_url))
    try:
        one, two = Timings(), Timings()
        one.observe(TASK_DURATION, 0.002, ("a:80", "succeeded"))
        two.observe(TASK_DURATION, 0.002, ("a:80", "succeeded"))
        two.observe(TASK_DURATION, 7.0, ("b:443", "failed"))
        await add_timings(store, one.take())
        await add_timings(store, two.take())
        await add_timings(store, {})
        key = "sm:{timings}:statemachine_task_duration_seconds"
        await store.client.hset(key, '["a:80","succeeded","0.0042"]', 9)
        await store.client.hset(key, "not json", 9)
        summed = (await read_timings(store, [TASK_DURATION]))[TASK_DURATION]
        assert set(summed) == {("a:80", "succeeded"), ("b:443", "failed")}
        a = summed[("a:80", "succeeded")]
        assert a[TASK_DURATION.bounds.index(0.0025)] == 2 and sum(a[:-1]) == 2
        assert a[-1] == 4000
        b = summed[("b:443", "failed")]
        assert b[TASK_DURATION.bounds.index(10.0)] == 1 and b[-1] == 7_000_000
    finally:
        await store.close()
