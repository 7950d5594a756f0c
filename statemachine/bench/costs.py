"""The ``costs`` workload: what one operation costs Redis and the workers, measured.

Small isolated scenarios run one after another against the bench's Redis, each ``N``
executions (``--executions``, default 1000) of one tiny machine, started together and
waited for.  Around each scenario the bench takes Redis's cumulative counters
(:meth:`~statemachine.runtime.store.probes.Probe.snapshot`: ``INFO commandstats``, network
bytes, ``used_memory``, the server's CPU) and the worker processes' CPU time, and divides
the differences by ``N``.  What Redis and the workers do while idle (blocking reads, timer
and sweep loops: measured for :data:`IDLE_S` seconds first) is subtracted pro rata, and so
are the bench's own polls (the ``ZCARD`` of the status indexes, the ``INFO`` calls).

Scenarios (per execution; ``units`` the operations of the kind named in one execution):

``start``     StartExecution of Start -> Wait 3600 s: the start, the first transition and
              the timer set; the execution stays parked: its memory is a parked execution's
``succeed``   Start -> Succeed: the cheapest whole execution, the base the others subtract
``pass``      Start -> 10 Pass -> Succeed (one run-through commit)
``http``      Start -> one HTTP task (dispatch, POST, result) -> Succeed
``timer``     Start -> Wait 1 s -> Succeed: a timer set, promoted when due, fired
``callback``  Start -> ``.waitForTaskToken`` HTTP task -> SendTaskSuccess from the bench
``map``       Start -> Map over 10 items (each child a Pass) -> Succeed

Each row prints, per execution: ``redis_calls`` (every command, those inside scripts too:
``INFO commandstats`` counts them), ``scripts`` (EVALSHA/EVAL/FCALL: the atomic commits and
starts), ``redis_cpu_us`` (the server's own CPU time), ``script_usec_per_call`` (``INFO
commandstats``: Redis's µs per script call, the commands it runs included),
``net_in_bytes``/``net_out_bytes`` (client traffic), ``memory_bytes``
(``used_memory_dataset`` growth: what stays, for finished executions until their
retention ends), ``worker_cpu_us`` and ``worker_cpu_us_per_transition``,
``record_bytes``/``history_bytes`` (``MEMORY USAGE`` of one execution's keys, mean of a
sample), ``events`` and ``history_bytes_per_event``, and ``cmd_<name>`` calls of each
command.  The ``op_*`` figures are one operation's share: (this scenario - ``succeed``) /
``units``.  The counts are exact but for the idle share subtracted (an estimate: timer
polls come in bursts); CPU and memory figures are noisy on a shared machine, and the
workers' CPU time is counted in clock ticks (10 ms: hence 1000 executions per scenario):
use ``--runs`` for medians.  The first row also gives the idle figures it subtracted:
``idle_redis_calls_per_s_per_worker`` and ``idle_worker_cpu_ms_per_s`` (per worker).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from statemachine.bench.durable import history, start_batch
from statemachine.bench.harness import Figures, Session
from statemachine.runtime.store.probes import Snapshot

IDLE_S = 5.0  # XAUTOCLAIM and timer polls come every few seconds: a long enough window
POLL_S = 0.05
SAMPLE = 20  # executions whose keys MEMORY USAGE sizes
CALLBACK_CONCURRENCY = 64
SCRIPT_COMMANDS = ("evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro")
FIGURES = ("redis_calls", "scripts", "redis_cpu_us", "net_in_bytes", "net_out_bytes",
           "memory_bytes", "worker_cpu_us")
BASE = "succeed"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One tiny machine: how to build it (from the local service's base URL), its input,
    how many operations of its kind one execution performs, whether its executions finish
    and whether the bench answers their task tokens."""

    name: str
    build: Callable[[str], dict[str, Any]]
    units: int = 1
    input: dict[str, Any] = field(default_factory=dict)
    finishes: bool = True
    callback: bool = False


def _machine(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """States in a row, ending in a Succeed named Done."""
    names = [n for n, _ in states] + ["Done"]
    body = {n: {**s, "Next": names[i + 1]} for i, (n, s) in enumerate(states)}
    return {"StartAt": names[0], "States": {**body, "Done": {"Type": "Succeed"}}}


SCENARIOS = (
    Scenario("start", lambda _: {"StartAt": "Park", "States": {
        "Park": {"Type": "Wait", "Seconds": 3600, "End": True}}}, finishes=False),
    Scenario(BASE, lambda _: _machine()),
    Scenario("pass", lambda _: _machine(*((f"P{i}", {"Type": "Pass"}) for i in range(10))),
             units=10),
    Scenario("http", lambda base: _machine(("Call", {"Type": "Task", "Resource": f"{base}/echo"}))),
    Scenario("timer", lambda _: _machine(("Nap", {"Type": "Wait", "Seconds": 1}))),
    Scenario("callback", lambda base: _machine(("Ask", {
        "Type": "Task", "Resource": f"{base}/callback.waitForTaskToken",
        "Parameters": {"token.$": "$$.Task.Token"}})), callback=True),
    Scenario("map", lambda _: _machine(("Fan", {
        "Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Item",
            "States": {"Item": {"Type": "Pass", "End": True}}}})),
             units=10, input={"items": list(range(10))}),
)


@dataclass(slots=True)
class Reading:
    """Redis's counters, the workers' CPU seconds and the clock at one moment."""

    redis: Snapshot
    worker_cpu_s: float
    at: float


@dataclass(slots=True)
class Delta:
    """What happened between two readings, less what the bench itself sent."""

    calls: Counter[str]
    script_usec: float
    redis_cpu_s: float
    net_in: int
    net_out: int
    memory: int
    worker_cpu_s: float
    seconds: float

    @classmethod
    def between(cls, a: Reading, b: Reading, own: Counter[str]) -> Delta:
        calls = Counter({c: n - a.redis.calls.get(c, 0) for c, n in b.redis.calls.items()})
        calls.subtract(own)
        usec = sum(b.redis.usec.get(c, 0) - a.redis.usec.get(c, 0) for c in SCRIPT_COMMANDS)
        return cls(calls, usec, b.redis.cpu_s - a.redis.cpu_s, b.redis.net_in - a.redis.net_in,
                   b.redis.net_out - a.redis.net_out, b.redis.dataset_memory - a.redis.dataset_memory,
                   b.worker_cpu_s - a.worker_cpu_s, b.at - a.at)

    def less_idle(self, idle: Delta) -> Delta:
        """This delta less what the idle runtime does in as many seconds (memory aside)."""
        share = self.seconds / idle.seconds
        calls = Counter({c: n - idle.calls.get(c, 0) * share for c, n in self.calls.items()})
        return Delta(calls, self.script_usec, self.redis_cpu_s - idle.redis_cpu_s * share,
                     round(self.net_in - idle.net_in * share),
                     round(self.net_out - idle.net_out * share), self.memory,
                     self.worker_cpu_s - idle.worker_cpu_s * share, self.seconds)


class Meter:
    """Readings of one session, and the commands the bench's own polls add (subtracted)."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.own: Counter[str] = Counter()

    async def read(self) -> Reading:
        snapshot = await self.s.probe.snapshot()
        # The INFO just sent is counted by the next snapshot, not by this one.
        self.own["info"] += 1
        return Reading(snapshot, self.s.workers.cpu_seconds(), time.monotonic())

    async def count(self, key_of: Callable[[Any], str]) -> int:
        """One sorted set per shard (``key_of(shard)``), sizes summed; its ZCARDs noted."""
        shards = self.s.service.store.shards
        self.own["zcard"] += len(shards)
        return await self.s.probe.zcard_total(shards, key_of)

    def delta(self, before: Reading, after: Reading) -> Delta:
        delta = Delta.between(before, after, self.own)
        self.own = Counter()
        return delta


@asynccontextmanager
async def local_service() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback HTTP service for the tasks: ``POST /echo`` answers its body, ``POST
    /callback`` notes the body's ``token`` (the bench sends SendTaskSuccess for it)."""
    tokens: list[str] = []

    async def route(request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        if request.path == "/callback":
            tokens.append(str(orjson.loads(body)["token"]))
            return web.Response(body=b"{}", content_type="application/json")
        return web.Response(body=body, content_type="application/json")

    runner = web.ServerRunner(web.Server(route), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", tokens
    finally:
        await runner.cleanup()


async def costs(s: Session, executions: int | None) -> list[Figures]:
    """Every scenario of :data:`SCENARIOS`, in order: one row each."""
    n = executions or 1000
    meter = Meter(s)
    rows: dict[str, dict[str, Any]] = {}
    figures: list[Figures] = []
    async with local_service() as (base, tokens):
        before = await meter.read()
        await asyncio.sleep(IDLE_S)
        idle = meter.delta(before, await meter.read())
        for scenario in SCENARIOS:
            if s.left() <= 0:
                figures.append(Figures(f"costs:{scenario.name}", extra={"timed_out": True}))
                continue
            row, done = await _scenario(s, meter, idle, scenario, n, base, tokens)
            rows[scenario.name] = row
            if scenario.name != BASE and BASE in rows:
                row.update(_marginal(row, rows[BASE], scenario.units))
            if scenario is SCENARIOS[0]:
                row.update(_idle(idle, s.workers.count))
            figures.append(s.figures(f"costs:{scenario.name}", executions=n,
                                     transitions=row.pop("transitions"),
                                     redis_bytes_per_execution=row["memory_bytes"], extra=row))
            if not done:
                figures[-1].extra["timed_out"] = True
    return figures


async def _scenario(s: Session, meter: Meter, idle: Delta, scenario: Scenario, n: int,
                    base: str, tokens: list[str]) -> tuple[dict[str, Any], bool]:
    """Run one scenario; its per-execution figures and whether it completed in time."""
    machine = f"costs-{scenario.name}"
    await s.service.define(machine, scenario.build(base))
    # The start scenario's executions stay parked (RUNNING, a timer each): counted before.
    parked = await meter.count(lambda shard: shard.timers)
    running = await meter.count(lambda shard: shard.index_status("RUNNING"))
    tokens.clear()
    before = await meter.read()
    batch = await start_batch(s, machine, [scenario.input] * n)
    done = True
    if scenario.callback:
        done = await _answer(s, tokens, n)
    if scenario.finishes:
        done = done and await _until(s, lambda: meter.count(lambda sh: sh.index_status("RUNNING")),
                                     lambda count: count <= running)
    else:
        done = await _until(s, lambda: meter.count(lambda shard: shard.timers),
                            lambda count: count >= parked + n)
    delta = meter.delta(before, await meter.read()).less_idle(idle)
    sizes = await _sizes(s, batch.ids[:SAMPLE])
    transitions = sizes.pop("entered") * len(batch.ids)
    row = _per_execution(delta, n, transitions)
    row.update(units=scenario.units, **sizes)
    row["transitions"] = transitions
    return row, done


async def _answer(s: Session, tokens: list[str], n: int) -> bool:
    """SendTaskSuccess for each token as it arrives, until ``n`` were answered."""
    gate = asyncio.Semaphore(CALLBACK_CONCURRENCY)
    answered = 0

    async def one(token: str) -> None:
        async with gate:
            await s.service.send_task_success(token, {"ok": True})

    while answered < n and s.left() > 0:
        fresh = tokens[answered:]
        if fresh:
            await asyncio.gather(*(one(t) for t in fresh))
            answered += len(fresh)
        else:
            await asyncio.sleep(POLL_S)
    return answered >= n


async def _until(s: Session, poll: Callable[[], Any], ready: Callable[[int], bool]) -> bool:
    while s.left() > 0:
        if ready(await poll()):
            return True
        await asyncio.sleep(POLL_S)
    return False


async def _sizes(s: Session, ids: list[str]) -> dict[str, Any]:
    """Mean ``MEMORY USAGE`` of the sampled executions' record and history, their events
    and ``*StateEntered`` events (a root's history holds its children's events too)."""
    store = s.service.store
    record = hist = events = entered = 0
    for xid in ids:
        shard = store.shard(xid)
        record += await s.probe.memory_usage(shard.record(xid))
        hist += await s.probe.memory_usage(shard.history(xid))
        stored = await history(s, xid)
        events += len(stored)
        entered += sum(1 for e in stored if e["type"].endswith("StateEntered"))
    k = max(1, len(ids))
    return {"record_bytes": round(record / k), "history_bytes": round(hist / k),
            "events": round(events / k, 2), "entered": round(entered / k),
            "history_bytes_per_event": round(hist / events) if events else None}


def _per_execution(delta: Delta, n: int, transitions: int) -> dict[str, Any]:
    calls = {c: v / n for c, v in sorted(delta.calls.items()) if v / n >= 0.05}
    scripts = sum(delta.calls.get(c, 0) for c in SCRIPT_COMMANDS)
    row: dict[str, Any] = {
        "redis_calls": round(sum(calls.values()), 2),
        "scripts": round(scripts / n, 2),
        "redis_cpu_us": round(delta.redis_cpu_s * 1e6 / n, 1),
        "script_usec_per_call": round(delta.script_usec / scripts, 1) if scripts else None,
        "net_in_bytes": round(delta.net_in / n), "net_out_bytes": round(delta.net_out / n),
        "memory_bytes": round(delta.memory / n),
        "worker_cpu_us": round(delta.worker_cpu_s * 1e6 / n, 1),
        "worker_cpu_us_per_transition":
            round(delta.worker_cpu_s * 1e6 / transitions, 1) if transitions else None,
        "seconds": round(delta.seconds, 3),
    }
    row.update({f"cmd_{c.replace('|', '_')}": round(v, 2) for c, v in calls.items()})
    return row


def _idle(idle: Delta, workers: int) -> dict[str, Any]:
    """What the idle runtime costs (subtracted from every row), per second and per worker."""
    per_s = idle.seconds * workers
    return {"idle_redis_calls_per_s_per_worker": round(sum(idle.calls.values()) / per_s, 1),
            "idle_worker_cpu_ms_per_s": round(idle.worker_cpu_s * 1000 / per_s, 2)}


def _marginal(row: dict[str, Any], base: dict[str, Any], units: int) -> dict[str, Any]:
    """One operation's share: (this scenario - the base) / units, per figure."""
    return {f"op_{k}": round((row[k] - base[k]) / units, 2) for k in FIGURES}
