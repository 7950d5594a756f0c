"""The durable workloads: Service.start -> Redis -> worker processes -> history.

Each function takes a :class:`~statemachine.bench.harness.Session` and returns
:class:`~statemachine.bench.harness.Figures`.  Transitions are the ``*StateEntered``
events of the stored histories; durations run from the first ``start`` call to the
latest ``stopDate``.  ``p50_ms``/``p99_ms`` are, per workload:

* loop, map, parallel: an execution's latency (its startDate to its stopDate);
* http: from one task's result being recorded (the ``TaskSucceeded`` timestamp) to the
  next task's request arriving at the echo service (a process of its own, as the services
  a workflow calls are: :mod:`statemachine.bench.echo`);
* history: one loop iteration (a Choice, an HTTP task, a Pass);
* wait: none (the executions are still waiting); start latency is in ``start_p50_ms``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Any

from statemachine.bench import load_workload
from statemachine.bench.echo import echo_service
from statemachine.bench.harness import (
    Figures,
    Session,
    percentile,
    rate,
    wall_ms,
)

Case = Callable[[Session, "int | None"], Awaitable[Figures]]
START_CONCURRENCY = 128
POLL_S = 0.02


@dataclass
class Batch:
    """Executions started together and what became of them."""

    ids: list[str] = field(default_factory=list)
    start_ms: list[float] = field(default_factory=list)
    first_start: float = 0.0
    described: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    end_ms: float = 0.0

    def done(self) -> list[dict[str, Any]]:
        return [d for d in self.described if d["status"] != "RUNNING"]

    def seconds(self) -> float:
        """First start to the moment the bench saw the last one finished (wall clock).

        Not the records' stopDate: a run-through commit stamps every state of one ``advance()``
        with the time it began, so stopDate alone would leave out the last commit's own work.
        """
        stops = [_ms(d["stopDate"]) for d in self.done()]
        if not stops:
            return 0.0
        end = max(max(stops), self.end_ms)
        return (end - self.first_start) / 1000

    def latencies(self) -> list[float]:
        return [_ms(d["stopDate"]) - _ms(d["startDate"]) for d in self.done()]


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp() * 1000


async def start_batch(s: Session, machine: str, inputs: list[Any],
                      names: list[str] | None = None) -> Batch:
    """Start one execution per input, ``START_CONCURRENCY`` calls in flight, timing each."""
    batch = Batch(first_start=wall_ms())
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def one(i: int) -> tuple[str, float] | None:
        async with gate:
            if s.left() <= 0:
                return None
            began = time.perf_counter()
            started = await s.service.start(machine, inputs[i], names[i] if names else None)
            return started["executionId"], (time.perf_counter() - began) * 1000

    for got in await asyncio.gather(*(one(i) for i in range(len(inputs)))):
        if got is not None:
            batch.ids.append(got[0])
            batch.start_ms.append(got[1])
    return batch


async def zcard_total(s: Session, key_of: Callable[[Any], str]) -> int:
    """The sizes of one sorted set per shard, summed (one pipeline)."""
    return await s.probe.zcard_total(s.service.store.shards, key_of)


async def running(s: Session) -> int:
    """How many executions are RUNNING: the status indexes' sizes (a cheap poll, so the load
    generator takes little CPU from the workers it measures)."""
    return await zcard_total(s, lambda shard: shard.index_status("RUNNING"))


async def wait_batch(s: Session, batch: Batch) -> Batch:
    """Wait until no execution is RUNNING (or the timeout), then describe them all."""
    while s.left() > 0:
        if not await running(s):
            batch.finished = True
            batch.end_ms = wall_ms()
            break
        await asyncio.sleep(POLL_S)
    batch.described = list(await asyncio.gather(*(s.service.describe(x) for x in batch.ids)))
    return batch


async def history(s: Session, execution_id: str) -> list[dict[str, Any]]:
    """The whole stored history of one execution (and of its Map/Parallel children)."""
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await s.service.history(execution_id, limit=1000, cursor=cursor)
        events += page["events"]
        cursor = page["nextCursor"]
        if cursor is None:
            return events


async def count_entered(s: Session, ids: list[str]) -> int:
    total = 0
    for xid in ids:
        total += sum(1 for e in await history(s, xid) if e["type"].endswith("StateEntered"))
    return total


async def run_batch(s: Session, name: str, machine: str, definition: dict[str, Any],
                    inputs: list[Any], steps: Callable[[Batch, int], float | None] | None = None
                    ) -> Figures:
    """Define, start ``inputs``, wait, count: the figures of a Pass/Choice/Map/Parallel batch."""
    await s.service.define(machine, definition)
    batch = await wait_batch(s, await start_batch(s, machine, inputs))
    memory = await s.probe.used_memory()
    transitions = await count_entered(s, [d["executionId"] for d in batch.done()])
    seconds = batch.seconds()
    latencies = batch.latencies()
    figures = s.figures(
        name, executions=len(batch.done()), transitions=transitions,
        transitions_per_s=rate(transitions, seconds),
        steps_per_s=steps(batch, transitions) if steps else None,
        p50_ms=percentile(latencies, 50), p99_ms=percentile(latencies, 99),
        start_p50_ms=percentile(batch.start_ms, 50), start_p99_ms=percentile(batch.start_ms, 99),
        redis_bytes_per_execution=round((memory - s.memory_before) / max(1, len(batch.ids))),
    )
    _outcome(figures, batch)
    return figures


def _outcome(figures: Figures, batch: Batch) -> None:
    """Note executions that did not succeed or did not finish before the timeout."""
    failed = [d for d in batch.done() if d["status"] != "SUCCEEDED"]
    if failed:
        figures.extra["failed"] = len(failed)
        figures.extra["first_failure"] = f"{failed[0]['error']}: {failed[0]['cause']}"[:200]
    if not batch.finished:
        figures.extra["timed_out"] = True
        figures.extra["unfinished"] = len(batch.ids) - len(batch.done())


# -- loop, map, parallel ------------------------------------------------------------------


async def loop(s: Session, executions: int | None) -> Figures:
    """``loop1000.json``, 20 executions at once (2,003 transitions each)."""
    work = load_workload("loop1000")
    n = executions or 20
    return await run_batch(s, "loop", "loop1000", work["definition"], [work["input"]] * n)


def map10000(max_concurrency: int | None,
             distributed: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The 10,000-item Map, built in code: items are numbers (the input stays under 256 KiB)
    and an ItemSelector makes each one the ``{"id", "v"}`` object the 1,000-item files use;
    ``distributed``: a Distributed Map (each child an execution of its own in a Map Run)."""
    definition = load_workload("map1000")["definition"]
    fan = dict(definition["States"]["Fan"])
    if distributed:
        processor = dict(fan["ItemProcessor"])
        processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
        fan["ItemProcessor"] = processor
    fan["ItemSelector"] = {"id.$": "$$.Map.Item.Value",
                           "v.$": "States.Format('item-{}', $$.Map.Item.Value)"}
    if max_concurrency:
        fan["MaxConcurrency"] = max_concurrency
    built = dict(definition, States={"Fan": fan})
    return built, {"items": list(range(10_000))}


def map_case(name: str, max_concurrency: int | None = None) -> Case:
    """One Map workload: a shared file (``map1000``, ``map1000_mc40``) or the 10,000-item one."""

    async def run(s: Session, executions: int | None) -> Figures:
        if name.startswith("map10000"):
            definition, input = map10000(max_concurrency, name.endswith("_distributed"))
        else:
            work = load_workload(name)
            definition, input = work["definition"], work["input"]
        items = len(input["items"])
        return await run_batch(
            s, f"map:{name}", name, definition, [input] * (executions or 1),
            steps=lambda b, _t: rate(items * len(b.done()), b.seconds()))

    return run


async def parallel(s: Session, executions: int | None) -> Figures:
    """``parallel10.json``: 100 rounds of a Parallel of 10 branches x 5 Pass states."""
    work = load_workload("parallel10")
    return await run_batch(s, "parallel", "parallel10", work["definition"],
                           [work["input"]] * (executions or 1))


# -- http ---------------------------------------------------------------------------------


def chain(base: str, length: int) -> dict[str, Any]:
    """``length`` HTTP task states in a row, each POSTing its input to the echo service."""
    states = {
        f"T{i}": {"Type": "Task", "Resource": f"{base}/echo/{i}",
                  **({"Next": f"T{i + 1}"} if i < length - 1 else {"End": True})}
        for i in range(length)
    }
    return {"Comment": "HTTP task chain against the bench's echo service", "StartAt": "T0",
            "States": states}


async def http(s: Session, executions: int | None) -> Figures:
    """A chain of 10 HTTP tasks, 100 executions at once: task steps/s and result-to-request delay."""
    n, length = executions or 100, 10
    stamp = f"{int(time.time())}"
    async with echo_service() as (base, arrivals):
        await s.service.define("chain", chain(base, length))
        # A first batch, not measured, warms the fresh worker processes up (connection
        # pools, compiled machine); the figures are the second batch's.
        await wait_batch(s, await start_batch(s, "chain", [{"run": f"w{i}"} for i in range(n)]))
        memory_before = await s.probe.used_memory()
        cpu_before = s.workers.cpu_seconds()
        names = [f"h{i}-{stamp}" for i in range(n)]
        batch = await start_batch(s, "chain", [{"run": name} for name in names], names)
        await wait_batch(s, batch)
        echo = await arrivals()
        cpu = s.workers.cpu_seconds() - cpu_before
    memory = await s.probe.used_memory()
    delays, transitions, steps = [], 0, 0
    for described in batch.done():
        events = await history(s, described["executionId"])
        transitions += sum(1 for e in events if e["type"].endswith("StateEntered"))
        results = [e["timestamp"] for e in events if e["type"] == "TaskSucceeded"]
        steps += len(results)
        for i, recorded in enumerate(results[:-1]):
            arrived = echo.at.get((described["name"], i + 1))
            if arrived is not None:
                delays.append(arrived - recorded)
    seconds = batch.seconds()
    figures = s.figures(
        "http", executions=len(batch.done()), transitions=transitions,
        transitions_per_s=rate(transitions, seconds), steps_per_s=rate(steps, seconds),
        p50_ms=percentile(delays, 50), p99_ms=percentile(delays, 99),
        start_p50_ms=percentile(batch.start_ms, 50), start_p99_ms=percentile(batch.start_ms, 99),
        redis_bytes_per_execution=round((memory - memory_before) / max(1, n)),
    )
    measured = set(names)
    figures.extra["requests"] = sum(1 for run, _ in echo.at if run in measured)
    # the workers' CPU per task step: what the queueing in the figures above stands on (and
    # steadier than they are on a busy machine); counted in clock ticks of 10 ms
    figures.extra["worker_cpu_us_per_step"] = round(cpu * 1e6 / steps) if steps else None
    _outcome(figures, batch)
    return figures


# -- wait ---------------------------------------------------------------------------------


async def parked(s: Session) -> int:
    """How many timers the shards hold (one per execution parked in the Wait)."""
    return await zcard_total(s, lambda shard: shard.timers)


async def wait(s: Session, executions: int | None, window_s: float = 10.0) -> Figures:
    """Executions parked in a one-hour Wait: Redis bytes each, worker CPU while they wait."""
    n = executions or 100_000
    await s.service.define("park", {"StartAt": "Park", "States": {
        "Park": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    batch = await start_batch(s, "park", [{}] * n)
    count = 0
    while s.left() > window_s + 5:
        count = await parked(s)
        if count >= n:
            break
        await asyncio.sleep(0.05)
    all_parked = wall_ms()
    memory = await s.probe.used_memory()
    cpu_before, commands_before = s.workers.cpu_seconds(), await s.probe.commands_processed()
    await asyncio.sleep(window_s)
    cpu = s.workers.cpu_seconds() - cpu_before
    commands = await s.probe.commands_processed() - commands_before - 1
    seconds = (all_parked - batch.first_start) / 1000
    figures = s.figures(
        "wait", executions=n, transitions=count, transitions_per_s=rate(count, seconds),
        start_p50_ms=percentile(batch.start_ms, 50), start_p99_ms=percentile(batch.start_ms, 99),
        redis_bytes_per_execution=round((memory - s.memory_before) / max(1, n)),
    )
    figures.extra.update(parked=count, worker_cpu_s_per_10s=round(cpu * 10 / window_s, 3),
                         redis_commands_per_s_idle=round(commands / window_s, 1))
    if count < n:
        figures.extra["timed_out"] = True
    return figures


# -- history ------------------------------------------------------------------------------


def task_loop(base: str, loops: int) -> dict[str, Any]:
    """A counter loop whose every iteration waits for one HTTP task (a durable step)."""
    return {"Comment": "Choice + HTTP task + Pass(States.MathAdd), looped", "StartAt": "Init",
            "States": {
                "Init": {"Type": "Pass", "Result": {"i": 0, "run": "history"}, "Next": "Check"},
                "Check": {"Type": "Choice", "Default": "Done", "Choices": [
                    {"Variable": "$.i", "NumericLessThan": loops, "Next": "Call"}]},
                "Call": {"Type": "Task", "Resource": f"{base}/echo/0", "Next": "Incr"},
                "Incr": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)",
                                                         "run.$": "$.run"}, "Next": "Check"},
                "Done": {"Type": "Succeed"},
            }}


def iteration_cost(events: list[dict[str, Any]], at_event: int,
                   window: int = 50) -> tuple[float, float] | None:
    """(mean, median) ms per loop iteration over ``window`` iterations from event ``at_event``."""
    marks = [(e["id"], e["timestamp"]) for e in events if e["type"] == "ChoiceStateEntered"]
    first = next((i for i, (eid, _) in enumerate(marks) if eid >= at_event), None)
    if first is None or first + window >= len(marks):
        return None
    times = [marks[i][1] for i in range(first, first + window + 1)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return round((times[-1] - times[0]) / window, 3), float(median(gaps))


STOP_AFTER_EVENT = 20_000 + 50 * 9 + 200  # the late window: 50 iterations of 9 events


async def _until_event(s: Session, execution_id: str, event_id: int) -> bool:
    """Wait until the execution ends or its history passes ``event_id``; then stop it
    (the figure is taken by event 20,000; the rest of the 90,000 events adds nothing)."""
    while s.left() > 0:
        if (await s.service.describe(execution_id))["status"] != "RUNNING":
            return False
        page = await s.service.history(execution_id, limit=1, cursor=str(event_id))
        if page["events"]:
            await s.service.stop(execution_id, "Bench.Done", "measured up to event 20,000")
            return True
        await asyncio.sleep(0.25)
    return False


async def history_growth(s: Session, executions: int | None) -> Figures:
    """One execution looping 10,000 times: an iteration's cost near event 10 vs 20,000.

    Every iteration waits for one HTTP task (a durable step: Pass/Choice alone would run
    through in one commit); the execution is stopped once its history passes event
    20,650, which is all the comparison needs.
    """
    loops = executions or 10_000
    async with echo_service() as (base, _):
        await s.service.define("looper", task_loop(base, loops))
        batch = await start_batch(s, "looper", [{}])
        stopped_early = await _until_event(s, batch.ids[0], STOP_AFTER_EVENT)
        await wait_batch(s, batch)
    events = await history(s, batch.ids[0])
    memory = await s.probe.used_memory()
    marks = [e["timestamp"] for e in events if e["type"] == "ChoiceStateEntered"]
    per_iteration = [b - a for a, b in itertools.pairwise(marks)]
    transitions = sum(1 for e in events if e["type"].endswith("StateEntered"))
    seconds = (events[-1]["timestamp"] - events[0]["timestamp"]) / 1000 if events else 0.0
    early, late = iteration_cost(events, 10), iteration_cost(events, 20_000)
    figures = s.figures(
        "history", executions=1, transitions=transitions,
        transitions_per_s=rate(transitions, seconds), steps_per_s=rate(len(per_iteration), seconds),
        p50_ms=percentile(per_iteration, 50), p99_ms=percentile(per_iteration, 99),
        start_p50_ms=percentile(batch.start_ms, 50), start_p99_ms=percentile(batch.start_ms, 99),
        redis_bytes_per_execution=memory - s.memory_before,
    )
    figures.extra.update(events=len(events),
                         iteration_ms_at_event_10=early and early[0],
                         iteration_ms_at_event_20000=late and late[0],
                         median_iteration_ms_at_event_10=early and early[1],
                         median_iteration_ms_at_event_20000=late and late[1],
                         late_vs_early=round(late[0] / early[0], 3) if early and late else None,
                         stopped_after_event=STOP_AFTER_EVENT if stopped_early else None)
    if not stopped_early:
        _outcome(figures, batch)
    return figures

