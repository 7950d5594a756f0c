"""``GET /metrics`` through prometheus-client: the API's own counters, and what Redis holds
for the whole service, read at scrape time.

Groups of families, each made by one function, so that a new group is one more function
and one more line in :func:`exposition`:

* :class:`Metrics` — what this API process counts (requests, starts, callbacks, activity
  tasks handed out, Redis up): plain counts on the request path (:class:`Tally`), families
  at scrape time;
* :func:`runtime_families` — the runtime's gauges and the workers' counters that
  ``Service.stats()`` reads from Redis (``{name: number | {labels: number}}``; a name ending
  ``_total`` is a counter, any other a gauge; :data:`RUNTIME_HELP` gives their help text);
* :func:`timing_families` — the latency histograms (:mod:`statemachine.runtime.timings`),
  every process's buckets summed in Redis;
* :func:`worker_families` — what the in-process workers of ``cli.py serve`` counted.

Values that live in Redis are never kept in process-global metric objects: each scrape
reads them and hands them to prometheus-client's text exposition as families.

prometheus-client is imported where it is used, not with this module: every worker process
imports the ``api`` package (the in-process AWS API answering ``aws-sdk:sfn`` tasks) and
would pay some 80 ms of start-up for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from time import perf_counter
from typing import TYPE_CHECKING, Any

from aiohttp import web

from statemachine.api.problems import STORE_UNAVAILABLE
from statemachine.interpreter.records import Status
from statemachine.runtime.timings import FAMILIES, START_LATENCY, Family, Series, Timings

if TYPE_CHECKING:
    from prometheus_client.core import Metric

__all__ = ["CONTENT_TYPE", "RECEIVED", "RUNTIME_HELP", "Metrics", "Tally", "exposition", "flush_timings",
           "runtime_families", "timing_families", "worker_families"]

log = logging.getLogger("statemachine.api")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
RECEIVED: web.RequestKey[float] = web.RequestKey("received", float)
"""``perf_counter()`` when the application took the request (the start latency's start)."""

RUNTIME_HELP: dict[str, str] = {
    "executions_current": "Root executions by status (the status indexes in Redis; finished "
                          "ones stay counted after their records expire).",
    "work_items_waiting_current": "Stream entries not yet delivered to a worker, by kind "
                                  "(ready: transitions, tasks: task dispatches).",
    "work_items_pending": "Stream entries delivered to a worker and not yet acknowledged, by kind.",
    "timers_pending": "Timers set (Wait states, retry intervals, task timeouts) not yet due.",
    "dead_letters_current": "Work items moved to the dead-letter streams, not requeued yet.",
    "executions_stalled_current": "RUNNING root executions held up by a dead letter of theirs "
                                  "(describe shows stalled: true); requeueing it resumes them.",
    "transitions_total": "Transitions committed by all workers (flushed every stats_flush_ms).",
    "tasks_performed_total": "Tasks performed by all workers, by result (sent: a callback "
                             "task whose result comes later).",
    "commit_conflicts_total": "Commits refused by their compare-and-set and retried from a "
                              "fresh load, by all workers.",
    "dead_lettered_total": "Work items moved to a dead-letter stream after max_deliveries "
                           "failed deliveries, by all workers.",
    "worker_errors_total": "Unexpected errors in workers' loops, each logged with its traceback.",
    "replica_ack_shortfalls_total": "Workers' writes fewer Redis replicas acknowledged in time "
                                    "than --min-replicas-ack asks (carried on: a failover then "
                                    "may redo them).",
    "worker_transitions_total": "Transitions committed by this process's in-process workers.",
    "archived_total": "Finished root executions moved from Redis to the archive bucket.",
    "archive_failures_total": "Archive uploads or deletions that failed (the execution stays "
                              "in Redis; tried again later).",
    "archive_deleted_total": "Archived executions deleted from the bucket when their retention "
                             "ended.",
    "shard_backlog_max_current": "The most ready work items (waiting + pending) of any one "
                                 "shard: one shard far above the average is a hot shard "
                                 "(one execution or Map is bound to its shard's master).",
    "redis_used_memory_bytes_current": "Redis used_memory (INFO memory), summed over the "
                                       "nodes; compare with maxmemory (docs/scaling.md).",
    "redis_maxmemory_bytes_current": "Redis maxmemory (0: no limit), summed over the nodes.",
    "queue_work_current": "Work of each queue not yet done: work items and task dispatches "
                          "waiting or in hand, and timers due but not promoted (README "
                          "Worker pools).",
    "queue_workers_current": "Live workers taking each queue's work (announced every 5 s); 0 "
                             "with work waiting: no worker takes that queue.",
}


class Tally:
    """A labelled counter of the API process, counted on the request path into a dict of
    ints and handed to prometheus-client as a family at scrape time (:meth:`family`).  The
    library's own ``Counter`` looks its labels up and takes a lock on every count: with two
    counts a start, some 7 µs of the 190 the API spends on one (``cli.py bench --workload
    start``'s ``api_cpu_us_per_start``).  Counted on the event loop's thread only."""

    __slots__ = ("counts", "help", "labels", "name")

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...]) -> None:
        self.name, self.help, self.labels = name, help_text, labels
        self.counts: dict[tuple[str, ...], int] = {}

    def inc(self, *values: str) -> None:
        """Count one, under the label values given in the order of :attr:`labels`."""
        self.counts[values] = self.counts.get(values, 0) + 1

    def family(self) -> Metric:
        from prometheus_client.core import CounterMetricFamily

        metric = CounterMetricFamily(self.name, self.help, labels=self.labels)
        for values, count in sorted(dict(self.counts).items()):
            metric.add_metric(list(values), float(count))
        return metric


class Metrics:
    """The API process's own counters (one instance per application), and whether Redis
    answered the last time it was asked."""

    def __init__(self) -> None:
        self.requests = Tally("statemachine_http_requests_total",
                              "HTTP requests served, by route and status.",
                              ("method", "route", "status"))
        self.started = Tally("statemachine_executions_started_total",
                             "Executions started through the API (idempotent repeats not "
                             "counted).", ("state_machine",))
        self.observed_finished = Tally(
            "statemachine_executions_observed_finished_total",
            "Executions seen in a final status by the API (each execution counted once).",
            ("status",))
        self.callbacks = Tally("statemachine_task_callbacks_total",
                               "SendTaskSuccess/Failure/Heartbeat calls, by kind and outcome.",
                               ("kind", "outcome"))
        self.activity_tasks = Tally("statemachine_activity_tasks_total",
                                    "Activity tasks handed to pollers.", ("activity",))
        self.up = 0.0
        """``statemachine_redis_up``: 1.0 when Redis answered PING (or the last scrape)."""
        self._finished_seen: set[str] = set()

    def families(self) -> list[Metric]:
        """The counters and ``up``, in the order ``/metrics`` has always shown them."""
        from prometheus_client.core import GaugeMetricFamily

        tallies = (self.requests, self.started, self.observed_finished, self.callbacks,
                   self.activity_tasks)
        return [*(tally.family() for tally in tallies),
                GaugeMetricFamily("statemachine_redis_up", "1 when Redis answers PING.",
                                  value=self.up)]

    def saw_execution(self, execution: Mapping[str, Any]) -> None:
        """Count an execution the first time the API sees it in a final status."""
        status = execution.get("status")
        execution_id = execution.get("executionId")
        if status in (None, Status.RUNNING) or not isinstance(execution_id, str):
            return
        if execution_id in self._finished_seen:
            return
        if len(self._finished_seen) > 100_000:
            self._finished_seen.clear()
        self._finished_seen.add(execution_id)
        self.observed_finished.inc(str(status))

    def start_stored(self, machine: str, request: web.Request, timings: Timings) -> None:
        """A start that made an execution (REST or the AWS API): counted by machine, and
        its latency since the request was taken observed."""
        self.started.inc(machine)
        received = request.get(RECEIVED)
        if received is not None:
            timings.observe(START_LATENCY, perf_counter() - received)


async def flush_timings(service: Any, interval_s: float) -> None:
    """Add this process's latency observations to Redis every ``interval_s`` until cancelled,
    then once more (the worker's housekeeping does the same for a worker's)."""
    try:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await service.operations.flush_timings(service.timings)
            except STORE_UNAVAILABLE as exc:  # kept for the next flush
                log.debug("latency histograms not flushed: %s", exc)
            except Exception:
                log.exception("flushing the latency histograms failed; going on")
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(service.operations.flush_timings(service.timings), 1.0)


# -- the families read at scrape time --------------------------------------------------------


def runtime_families(stats: Mapping[str, Any]) -> list[Metric]:
    """The service's ``{name: number | {labels: number}}`` figures as metric families."""
    from prometheus_client.core import Metric

    families: list[Metric] = []
    for name, value in sorted(stats.items()):
        full = _metric_name(name)
        counter = full.endswith("_total")
        family = Metric(full.removesuffix("_total") if counter else full,
                        RUNTIME_HELP.get(name, f"Reported by the runtime: {name}."),
                        "counter" if counter else "gauge")
        if isinstance(value, Mapping):
            for labels, number in value.items():
                family.add_sample(full, _labels(labels), float(number))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            family.add_sample(full, {}, float(value))
        else:
            continue
        families.append(family)
    return families


def timing_families(totals: Mapping[Family, Series]) -> list[Metric]:
    """The latency histograms, every process's buckets summed (a histogram without labels is
    shown at zero before its first observation, as prometheus-client shows its own)."""
    from prometheus_client.core import HistogramMetricFamily

    families: list[Metric] = []
    for family in FAMILIES:
        metric = HistogramMetricFamily(family.name, family.help, labels=family.labels)
        series = totals.get(family) or {}
        if not series and not family.labels:
            series = {(): [0] * family.width}
        bounds = [*(repr(float(b)) for b in family.bounds), "+Inf"]  # Go's way, for these
        for labels, counts in sorted(series.items()):
            cumulative, buckets = 0, []
            for bound, n in zip(bounds, counts, strict=False):
                cumulative += n
                buckets.append((bound, float(cumulative)))
            metric.add_metric(list(labels), buckets, counts[-1] / 1e6)
        families.append(metric)
    return families


def worker_families(workers: Sequence[Any]) -> list[Metric]:
    """What the in-process workers (``cli.py serve``) committed."""
    if not workers:
        return []
    return runtime_families({"worker_transitions_total": sum(
        int(getattr(worker, "transitions", 0)) for worker in workers)})


async def exposition(metrics: Metrics, service: Any, workers: Sequence[Any]) -> bytes:
    """One scrape in Prometheus' text format 0.0.4: Redis read once (the runtime's figures and
    the histograms side by side); without Redis, the API's own counters and ``up`` 0."""
    from prometheus_client import generate_latest

    read: list[Metric] = []
    try:
        stats, totals = await asyncio.gather(service.stats(), service.operations.timings())
    except STORE_UNAVAILABLE as exc:  # Redis away: still serve what the API counted
        log.warning("GET /metrics without the runtime's figures: %s", exc)
        metrics.up = 0.0
    except Exception:
        log.exception("GET /metrics without the runtime's figures: a bug")
        metrics.up = 0.0
    else:
        metrics.up = 1.0
        read = [*runtime_families(stats), *timing_families(totals)]
    return generate_latest(_Families([*metrics.families(), *read,
                                      *worker_families(workers)]))


class _Families:
    """The families of one scrape, as prometheus-client's exposition takes them."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def _labels(key: Any) -> dict[str, str]:
    if isinstance(key, Mapping):
        return {str(k): str(v) for k, v in key.items()}
    if isinstance(key, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in key):
        return {str(k): str(v) for k, v in key}
    return {"key": str(key)}


def _metric_name(name: str) -> str:
    clean = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return clean if clean.startswith("statemachine_") else f"statemachine_{clean}"
