"""THE crash test: worker processes killed with SIGKILL at random moments, nothing lost or repeated.

200+ executions of a payment-like workflow (HTTP tasks against a local service that
deduplicates by Idempotency-Key, a Wait, a Map, a callback answered through the Service)
run on two worker processes.  Workers are killed with ``kill -9`` several times and
restarted.  Afterwards: every execution SUCCEEDED with the right output, each logical
effect happened exactly once under exactly one key, and every history is gap-free.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from typing import Any

import pytest
from aiohttp import web

from statemachine.errors import InvalidToken, TaskTimedOut
from statemachine.runtime.store import keys as K

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXECUTIONS = 200
KILLS = 6
WAVE = 20  # executions started together
WAVE_GAP_S = 0.7  # between waves: 10 waves over about 7 s, while the kills happen


class Payments:
    """An HTTP service that deduplicates by Idempotency-Key and counts logical effects."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.effects: Counter[tuple[Any, ...]] = Counter()
        self.keys: dict[tuple[Any, ...], set[str]] = defaultdict(set)
        self.requests = 0
        self.replays = 0
        self.in_flight = 0
        self.tokens: asyncio.Queue[str] = asyncio.Queue()

    def app(self) -> web.Application:
        app = web.Application()
        for op in ("reserve", "charge", "capture", "approve"):
            app.router.add_post(f"/{op}", self.handler(op))
        return app

    def handler(self, op: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            self.requests += 1
            self.in_flight += 1
            try:
                body = await request.json()
                key = request.headers["Idempotency-Key"]
                await asyncio.sleep(random.uniform(0.0, 0.03))
                if key in self.answers:
                    self.replays += 1
                    return web.json_response(self.answers[key])
                logical = (op, body["order"], body.get("line"))
                self.effects[logical] += 1
                self.keys[logical].add(key)
                answer = {"approve": {}, "reserve": {"reserved": body["order"]},
                          "charge": {"charged": body.get("line")},
                          "capture": {"captured": body["order"]}}[op]
                self.answers[key] = answer
                if op == "approve":
                    await self.tokens.put(body["token"])
                return web.json_response(answer)
            finally:
                self.in_flight -= 1
        return handle


def definition(base: str) -> dict[str, Any]:
    return {"StartAt": "Reserve", "States": {
        "Reserve": {"Type": "Task", "Resource": f"{base}/reserve",
                    "Parameters": {"order.$": "$.order", "amount.$": "$.amount"},
                    "ResultPath": "$.reservation", "Next": "Settle"},
        "Settle": {"Type": "Wait", "Seconds": 1, "Next": "Lines"},
        "Lines": {"Type": "Map", "ItemsPath": "$.lines", "MaxConcurrency": 2, "ResultPath": "$.charges",
                  "ItemSelector": {"order.$": "$.order", "line.$": "$$.Map.Item.Value"},
                  "ItemProcessor": {"StartAt": "Charge", "States": {
                      "Charge": {"Type": "Task", "Resource": f"{base}/charge", "End": True}}},
                  "Next": "Approve"},
        "Approve": {"Type": "Task", "Resource": f"{base}/approve.waitForTaskToken",
                    "Parameters": {"order.$": "$.order", "token.$": "$$.Task.Token"},
                    "ResultPath": "$.approval", "Next": "Capture"},
        "Capture": {"Type": "Task", "Resource": f"{base}/capture",
                    "Parameters": {"order.$": "$.order"}, "ResultPath": "$.capture", "End": True},
    }}


def order(i: int) -> dict[str, Any]:
    return {"order": f"o{i}", "amount": i, "lines": [f"o{i}-a", f"o{i}-b", f"o{i}-c"][: 2 + i % 2]}


def expected_output(i: int) -> dict[str, Any]:
    data = order(i)
    return {**data, "reservation": {"reserved": data["order"]},
            "charges": [{"charged": line} for line in data["lines"]],
            "approval": {"approved": True}, "capture": {"captured": data["order"]}}


def worker_command(redis_url: str) -> list[str]:
    """``cli.py worker``."""
    return [sys.executable, os.path.join(ROOT, "cli.py"), "worker", "--redis-url", redis_url,
            "--concurrency", "16", "--log-level", "WARNING"]


class Workers:
    """Worker processes, each with a known consumer name so its pending items can be read."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.generation = 0

    def spawn(self) -> str:
        self.generation += 1
        name = f"crash-worker-{self.generation}"
        env = {**os.environ, "STATEMACHINE_CONSUMER": name, "STATEMACHINE_LEASE_MS": "1000",
               "STATEMACHINE_TIMER_MAX_SLEEP_MS": "100", "STATEMACHINE_BLOCK_MS": "200",
               "PYTHONPATH": ROOT}
        self.procs[name] = subprocess.Popen(worker_command(self.redis_url), cwd=ROOT, env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return name

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


async def interrupted(service: Any, client: Any, consumer: str) -> list[str]:
    """What a killed consumer held: its pending work items and task dispatches."""
    held: list[str] = []
    for shard in service.store.shards:
        for stream, group, field in ((shard.ready, K.WORKERS_GROUP, "e"),
                                     (shard.tasks, K.INVOKERS_GROUP, "c")):
            pending = await client.xpending_range(stream, group, min="-", max="+", count=1000,
                                                  consumername=consumer)
            for entry in pending:
                got = await client.xrange(stream, entry["message_id"], entry["message_id"])
                if not got:
                    continue
                import orjson

                message = orjson.loads(got[0][1][b"m"])
                if field == "e":
                    held.append(f"transition {message['e']['type']}")
                else:
                    held.append(f"task {message['c']['resource'].rsplit('/', 1)[-1]}")
    return held


@pytest.mark.slow
async def test_kill_dash_nine_loses_and_repeats_nothing(redis_url: str, runtime: Any, redis: Any,
                                                       serve_app: Any, gap_free: Any) -> None:
    payments = Payments()
    async with runtime() as rt:
        await run_and_kill(rt, redis, redis_url, payments, serve_app, gap_free)


async def run_and_kill(rt: Any, redis: Any, redis_url: str, payments: Payments, serve_app: Any,
                       gap_free: Any) -> None:
    service = rt.service
    workers = Workers(redis_url)
    kills: list[tuple[float, str, list[str], int]] = []
    answered = Counter[str]()

    async def approver() -> None:
        while True:
            token = await payments.tokens.get()
            try:
                await service.send_task_success(token, {"approved": True})
                answered["ok"] += 1
            except (TaskTimedOut, InvalidToken):
                answered["refused"] += 1

    async with serve_app(payments.app()) as base:
        await service.define("payment", definition(base))
        approving = asyncio.create_task(approver())
        workers.spawn()
        workers.spawn()
        began = time.monotonic()
        ids: list[str] = []

        async def start_in_waves() -> None:
            # Executions arrive in waves while the kills happen, so every kill lands on work in
            # progress however fast this machine runs the workflow.
            for first in range(0, EXECUTIONS, WAVE):
                for i in range(first, min(first + WAVE, EXECUTIONS)):
                    ids.append((await service.start("payment", order(i), name=f"pay-{i}"))["executionId"])
                await asyncio.sleep(WAVE_GAP_S)

        starting = asyncio.create_task(start_in_waves())

        async def statuses() -> Counter[str]:
            return Counter([(await service.describe(x))["status"] for x in list(ids)])

        rng = random.Random(7)
        try:
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                counts = await statuses()
                if starting.done() and counts["RUNNING"] == 0:
                    break
                if len(kills) < KILLS:
                    await asyncio.sleep(rng.uniform(0.3, 1.0))
                    victim = rng.choice(sorted(workers.procs))
                    flight = payments.in_flight
                    workers.kill(victim)
                    held = await interrupted(service, redis, victim)
                    kills.append((time.monotonic() - began, victim, held, flight))
                    workers.spawn()
                else:
                    await asyncio.sleep(0.5)
            elapsed = time.monotonic() - began
            counts = await statuses()
        finally:
            workers.stop_all()
            approving.cancel()
            starting.cancel()

        print(f"\ncrash test: {EXECUTIONS} executions, {len(kills)} kill -9s, {elapsed:.1f} s, "
              f"{payments.requests} HTTP requests ({payments.replays} deduplicated replays), "
              f"callbacks {dict(answered)}")
        for at, victim, held, flight in kills:
            what = ", ".join(f"{n}x {k}" for k, n in Counter(held).items()) or "nothing in hand"
            print(f"  kill at {at:5.1f} s of {victim}: {what}; {flight} HTTP requests in flight")
        assert counts == Counter({"SUCCEEDED": EXECUTIONS}), counts
        assert len(kills) >= 5
        for i, xid in enumerate(ids):
            described = await service.describe(xid)
            assert described["output"] == expected_output(i)
            gap_free(await rt.events(xid))
        for logical, count in payments.effects.items():
            assert count == 1, logical
            assert len(payments.keys[logical]) == 1, logical
        expected_effects = sum(2 + len(order(i)["lines"]) + 1 for i in range(EXECUTIONS))
        assert len(payments.effects) == expected_effects
