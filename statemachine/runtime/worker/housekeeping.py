"""Housekeeping: the counters flushed, the listing indexes swept, failed entries dead-lettered.

* **stats** — every ``stats_flush_ms`` this process's counters (transitions, tasks by
  result, refused commits, dead letters, loop errors) are added to ``sm:stats`` in one
  MULTI, off the hot path, and once more when the worker stops; ``Service.stats()`` reads
  them for ``GET /metrics``.  The latency histograms' buckets likewise, every
  ``timings_flush_ms`` (``store/timings.py``).
* **sweep** — every ``sweep_interval_ms`` the listing-index entries of finished executions
  whose records have expired are dropped (``sweep.lua``: each shard, a page of each index),
  and a define or delete that was cut short is completed (``Machines.reconcile``).
* **dead letters** — an entry whose handling raised stays pending and comes back after its
  lease; once it has been delivered ``max_deliveries`` times, ``dead.lua`` moves it to the
  shard's ``sm:T:dead`` stream with the error, atomically.  The execution is left as it
  is, shown ``stalled`` (describe, dashboard, ``/metrics``) while the letter is there;
  ``Service.requeue_dead_letter`` puts the message back once the cause is fixed.
"""

from __future__ import annotations

import asyncio
import contextlib

from statemachine.runtime.clock import now_ms
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import RedisStore, StreamGroup
from statemachine.runtime.store.codec import message_execution
from statemachine.runtime.store.housekeeping import flush_stats, sweep
from statemachine.runtime.store.machines import Machines
from statemachine.runtime.store.timings import flush_timings
from statemachine.runtime.worker.consumer import Item
from statemachine.runtime.worker.loops import Guard, Stats, log

__all__ = ["MAX_ERROR_BYTES", "SWEEP_BATCH", "Housekeeping"]

SWEEP_BATCH = 1_000
"""Index entries looked at per index and shard by one sweep."""
MAX_ERROR_BYTES = 2048


def error_text(exc: BaseException) -> str:
    """``<type>: <message>`` of an exception, cut to :data:`MAX_ERROR_BYTES` of UTF-8."""
    text = f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")[:MAX_ERROR_BYTES]
    return text.decode("utf-8", "ignore")


class Housekeeping:
    """The worker's upkeep loops, and what happens to an entry whose handling raised."""

    def __init__(self, store: RedisStore, settings: Settings, name: str, stats: Stats,
                 guard: Guard, streams: list[StreamGroup]) -> None:
        self._store = store
        self._settings = settings
        self._name = name
        self._stats = stats
        self._guard = guard
        self._streams = {stream: group for group in streams for stream in group.shards}

    async def run(self) -> None:
        """Flush the counters and sweep until cancelled; then flush once more."""
        try:
            await asyncio.gather(self._flusher(), self._timings_flusher(), self._sweeper())
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(self.flush(), self.flush_timings()), 1.0)

    async def flush(self) -> None:
        """Add the counts since the last flush to ``sm:stats`` (kept for the next one if it
        fails)."""
        counts = self._stats.take()
        if shortfalls := self._store.take_shortfalls():
            counts["replica_ack_shortfalls"] += shortfalls
        try:
            await flush_stats(self._store, counts)
        except BaseException:
            self._stats.put_back(counts)
            raise

    async def flush_timings(self) -> None:
        """Add the histograms' buckets since the last flush to Redis (kept for the next one
        if it fails)."""
        await flush_timings(self._store, self._stats.timings)

    async def _timings_flusher(self) -> None:
        while True:
            await asyncio.sleep(self._settings.timings_flush_ms / 1000)
            await self._guard.round("flushing the latency histograms", self.flush_timings)

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(self._settings.stats_flush_ms / 1000)
            await self._guard.round("flushing the counters", self.flush)

    async def _sweeper(self) -> None:
        s = self._settings
        while True:
            await asyncio.sleep(s.sweep_interval_ms / 1000)
            await self._guard.round("sweeping the listing indexes", self._sweep)

    async def _sweep(self) -> None:
        await sweep(self._store, now_ms() - self._settings.retention_s * 1000, SWEEP_BATCH)
        if repaired := await Machines(self._store).reconcile():
            log.warning("completed %d state machine definitions that were cut short", repaired)

    async def dead_letter(self, item: Item, exc: Exception) -> None:
        """After handling an entry raised: leave it pending for another delivery, or, once it
        has been delivered ``max_deliveries`` times, move it to the shard's dead-letter
        stream.  Either way one ERROR log record."""
        shard, stream, entry_id, message, _ = item
        streams, limit = self._streams[stream], self._settings.max_deliveries
        about = {"executionId": message_execution(message)}  # the line names its execution
        try:
            delivered, dead = await self._store.retry(
                lambda: streams.dead_letter(stream, entry_id, message, error_text(exc),
                                            self._name, now_ms()),
                give_up_s=5.0)
        except Exception as failed:  # noqa: BLE001 -- logged with the entry's own error
            log.error("work item %s of %s failed; it stays pending (its deliveries could not be "
                      "counted: %s)", entry_id.decode(), stream, failed, exc_info=exc,
                      extra=about)
            return
        if dead:
            self._stats.counts["dead_lettered"] += 1
            log.error("work item %s of %s failed on each of %d deliveries, last with %s; moved to "
                      "%s as dead letter %s", entry_id.decode(), stream, delivered,
                      error_text(exc), shard.dead, dead, extra=about)
        else:
            log.error("work item %s of %s failed (delivery %d of %d); it stays pending",
                      entry_id.decode(), stream, delivered, limit, exc_info=exc, extra=about)
