"""What every background loop of a worker shares: its counters, and how it takes a failure.

A loop meets two kinds of failure.  Redis being unreachable (or loading, or a call that
gave up waiting for it) is expected: the loop waits it out, and the store's
:class:`~statemachine.runtime.store.client.Outage` logs one line when Redis goes and one
when it is back, for the whole process.  Anything else is a bug or bad data: it is logged
with its traceback and counted (``loop_errors`` in ``sm:stats``, shown by ``/metrics`` as
``statemachine_worker_errors_total``), and the loop goes on after a pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from statemachine.runtime.store import UNAVAILABLE, RedisStore
from statemachine.runtime.timings import Timings

__all__ = ["ERROR_PAUSE_S", "Guard", "Stats"]

log = logging.getLogger("statemachine.runtime.worker")

ERROR_PAUSE_S = 1.0
"""How long a loop rests after an unexpected error, so a bug does not spin."""


class Stats:
    """A worker process's counters, flushed to ``sm:stats`` by the housekeeping.

    ``transitions`` is a plain attribute (bumped once per commit on the hot path); the
    others are ``sm:stats`` fields: ``conflicts``, ``dead_lettered``, ``tasks:<result>``,
    ``loop_errors``.  ``timings``: the latency histograms' observations, flushed apart
    (every ``timings_flush_ms``).
    """

    __slots__ = ("counts", "flushed_transitions", "timings", "transitions")

    def __init__(self) -> None:
        self.transitions = 0
        self.flushed_transitions = 0
        self.counts: Counter[str] = Counter()
        self.timings = Timings()

    def take(self) -> Counter[str]:
        """The increments since the last flush (given back with :meth:`put_back` if the
        flush fails)."""
        counts, self.counts = self.counts, Counter()
        transitions = self.transitions - self.flushed_transitions
        if transitions:
            counts["transitions"] += transitions
            self.flushed_transitions += transitions
        return counts

    def put_back(self, counts: Counter[str]) -> None:
        self.flushed_transitions -= counts.pop("transitions", 0)
        self.counts.update(counts)


class Guard:
    """Runs one round of a loop, telling expected failures from unexpected ones."""

    def __init__(self, store: RedisStore, stats: Stats) -> None:
        self._outage = store.outage
        self._stats = stats

    async def round(self, what: str, step: Callable[[], Awaitable[object]]) -> bool:
        """``await step()``: True when it went through, False when it failed (Redis away:
        noted once per outage; anything else: logged with its traceback, counted, and
        followed by a pause of :data:`ERROR_PAUSE_S`)."""
        try:
            await step()
        except UNAVAILABLE as exc:
            self._outage.failed(exc)
            return False
        except Exception:
            log.exception("%s failed; going on", what)
            self._stats.counts["loop_errors"] += 1
            await asyncio.sleep(ERROR_PAUSE_S)
            return False
        if self._outage.down:
            self._outage.back()
        return True
