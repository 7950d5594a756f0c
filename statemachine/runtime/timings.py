"""Latency histograms: the families, and one process's observations until they are flushed.

Work happens in several processes (the API, any number of workers), and ``GET /metrics`` on
any API instance shows the whole service: so each process observes into local buckets
(:class:`Timings`, a few list increments per observation, nothing sent) and adds them to
Redis every ``timings_flush_ms`` (:mod:`statemachine.runtime.store.timings`: one pipelined
HINCRBY per changed bucket); the API's collector reads the sums at scrape time.

The families (:data:`FAMILIES`), each observed where the figure is known:

* ``start_latency`` — the API: a start request received → its execution stored;
* ``transition_commit`` — a worker: ``commit.lua``'s round trip (applied or refused);
* ``task_duration`` — a worker: a task performed, by ``host`` (the ``host:port`` the task's
  request goes to; ``none`` for what sends nothing, e.g. an activity) and ``result``
  (succeeded, failed, timed_out; sent: a callback task, whose result comes later);
* ``next_dispatch_delay`` — a worker: a task's result received (performed here, or its
  callback stored) → the task it led to starting, when one transition goes from one task
  to the next (the engine's own overhead between two tasks);
* ``timer_lateness`` — a worker's scheduler: a timer's due time → it fired (moved to its
  shard's ready stream);
* ``callback_wait`` — the API (and a worker, for a ``.sync`` nested execution's end): a
  callback or activity task's token issued → its SendTaskSuccess/Failure arriving, by
  ``result`` (succeeded, failed).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass

from statemachine.runtime.clock import now_ms

__all__ = ["CALLBACK_WAIT", "FAMILIES", "MAX_SERIES", "NEXT_DISPATCH_DELAY", "NO_HOST", "OTHER",
           "START_LATENCY", "TASK_DURATION", "TIMER_LATENESS", "TRANSITION_COMMIT", "Family",
           "Series", "Taken", "Timings", "callback_waited"]

NO_HOST = "none"
"""The task duration's host for a task that sends no request (an activity, a mocked one)."""
MAX_SERIES = 200
"""Label sets one process keeps per family (a host label comes from definitions: a typo'd
URL per execution must not grow the scrape without bound); later ones count as ``other``."""
OTHER = "other"


@dataclass(frozen=True, slots=True, eq=False)
class Family:
    """One histogram: its metric name, help text, label names and bucket upper bounds
    (seconds, ascending; +Inf is implied).  The families are this module's constants, so
    one is equal only to itself: a dict keyed by families hashes by identity, not by
    hashing every field on each observation."""

    name: str
    help: str
    labels: tuple[str, ...]
    bounds: tuple[float, ...]

    @property
    def width(self) -> int:
        """Counters per label set: a bucket per bound, +Inf, and the sum (microseconds)."""
        return len(self.bounds) + 2


_FAST = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
         1.0, 2.5)
_TASK = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
         60.0, 300.0)
_LATE = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
         60.0)
_HUMAN = (0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0,
          604800.0)

START_LATENCY = Family(
    "statemachine_start_latency_seconds",
    "Start requests, from the request received by the API to the execution stored.",
    (), (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
TRANSITION_COMMIT = Family(
    "statemachine_transition_commit_seconds",
    "Round trip of a worker's commit script (one per transition attempt).", (), _FAST)
TASK_DURATION = Family(
    "statemachine_task_duration_seconds",
    "Tasks performed by the workers, by the host:port the request goes to and result "
    "(sent: a callback task, whose result comes later).", ("host", "result"), _TASK)
NEXT_DISPATCH_DELAY = Family(
    "statemachine_next_dispatch_delay_seconds",
    "From a task's result received to the next task it leads to starting (one transition "
    "from task to task).", (), _FAST)
TIMER_LATENESS = Family(
    "statemachine_timer_lateness_seconds",
    "Timers (Wait states, retry intervals, timeouts), from their due time to firing.", (), _LATE)
CALLBACK_WAIT = Family(
    "statemachine_callback_wait_seconds",
    "Callback and activity tasks, from the task token issued to its success or failure "
    "arriving, by result.", ("result",), _HUMAN)

FAMILIES = (START_LATENCY, TRANSITION_COMMIT, TASK_DURATION, NEXT_DISPATCH_DELAY,
            TIMER_LATENESS, CALLBACK_WAIT)

Series = dict[tuple[str, ...], list[int]]
"""A family's counters by label values: per bucket (not cumulative), +Inf, then the sum in
microseconds (integers, so that Redis adds them exactly)."""
Taken = dict[Family, Series]


class Timings:
    """One process's observations since the last :meth:`take` (the flush)."""

    __slots__ = ("_series",)

    def __init__(self) -> None:
        self._series: Taken = {family: {} for family in FAMILIES}

    def observe(self, family: Family, seconds: float, labels: tuple[str, ...] = ()) -> None:
        """Count one observation (a negative one, clocks of two hosts apart, as 0)."""
        series = self._series[family]
        counts = series.get(labels)
        if counts is None:
            if len(series) >= MAX_SERIES:
                labels = (OTHER,) * len(labels)
                counts = series.get(labels)
            if counts is None:
                counts = series[labels] = [0] * family.width
        seconds = max(seconds, 0.0)
        counts[bisect_left(family.bounds, seconds)] += 1
        counts[-1] += int(seconds * 1e6 + 0.5)

    def take(self) -> Taken:
        """The observations since the last take (given back with :meth:`put_back` when the
        flush fails), only the families that have any."""
        taken = {family: series for family, series in self._series.items() if series}
        for family in taken:
            self._series[family] = {}
        return taken

    def put_back(self, taken: Mapping[Family, Series]) -> None:
        for family, series in taken.items():
            mine = self._series[family]
            for labels, counts in series.items():
                kept = mine.setdefault(labels, [0] * family.width)
                for i, n in enumerate(counts):
                    kept[i] += n


_CLOSED_BY = {"TaskSucceeded": ("succeeded",), "TaskFailed": ("failed",)}


def callback_waited(timings: Timings, issued_ms: int | None, event_type: str) -> None:
    """Observe a callback's wait: one that closed its task (a success or failure, not a
    heartbeat) whose token's issue time the store gave back (``None``: unknown, or the
    callback was refused)."""
    result = _CLOSED_BY.get(event_type)
    if issued_ms is not None and result is not None:
        # the runtime's clock, as the issue time was read (virtual under --time-skipping)
        timings.observe(CALLBACK_WAIT, (now_ms() - issued_ms) / 1000, result)
