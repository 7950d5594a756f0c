"""Operations of the runtime the service reports: dead letters (list, requeue) and the
figures ``GET /metrics`` reads from Redis (:class:`Operations`, reached as
``Service.operations``; the facade keeps its methods of the same names)."""

from __future__ import annotations

import re
from typing import Any

from statemachine.errors import InputError, NotFound
from statemachine.runtime.store import Store
from statemachine.runtime.timings import Family, Series, Timings
from statemachine.service.queues import queue_gauges

__all__ = ["DEAD_ID", "TASK_RESULTS", "Operations"]

TASK_RESULTS = ("succeeded", "failed", "timed_out", "sent")
# Dead letter ids (``<shard>-<dead stream id>``, also the dead letters' cursor); numbers
# short enough for Redis.  The OpenAPI document states this pattern.
DEAD_ID = re.compile(r"([0-9]{1,6})-([0-9]{1,19})-([0-9]{1,19})")


class Operations:
    """Dead letters and runtime statistics over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _dead_id(self, dead_id: Any, cursor: bool = False) -> tuple[int, int, int]:
        """(shard, entry ms, entry sequence) of ``<shard>-<stream id>``: InputError when
        malformed, NotFound for a shard that does not exist.  A cursor may name any shard:
        it only marks a place in the order (entry id, then shard), which holds for any."""
        found = DEAD_ID.fullmatch(dead_id) if isinstance(dead_id, str) else None
        if found is None:
            if cursor:
                raise InputError("malformed cursor", "InvalidCursor")
            raise InputError(f"malformed dead letter id {dead_id!r}: expected <shard>-<stream id>, "
                             "e.g. 3-1764121200000-0", "InvalidDeadLetterId")
        if not cursor and int(found[1]) >= len(self.store.shards):
            raise NotFound(f"dead letter {dead_id!r} does not exist", "DeadLetterDoesNotExist")
        return int(found[1]), int(found[2]), int(found[3])

    async def dead_letters(self, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """Dead letters of every shard, newest first; ``nextCursor`` continues after the last."""
        limit = max(1, min(int(limit), 1000))
        after = None
        if cursor:
            shard, ms, seq = self._dead_id(cursor, cursor=True)
            after = (ms, seq, shard)
        page, more = await self.store.operations.dead_letters(limit, after)
        return {"deadLetters": page, "nextCursor": page[-1]["id"] if more else None}

    async def requeue_dead_letter(self, dead_id: str) -> dict[str, Any]:
        """Put a dead letter's message back on its stream as a new entry and delete the dead
        letter, atomically; ``NotFound`` when there is no such dead letter."""
        shard, ms, seq = self._dead_id(dead_id)
        requeued = await self.store.operations.requeue(shard, f"{ms}-{seq}")
        if requeued is None:
            raise NotFound(f"dead letter {dead_id!r} does not exist", "DeadLetterDoesNotExist")
        return {"id": dead_id, **requeued}

    async def flush_timings(self, timings: Timings) -> None:
        """Add what this process observed into ``timings`` since the last flush to the
        service-wide histograms (kept for the next flush when Redis is away)."""
        await self.store.operations.add_timings(timings)

    async def timings(self) -> dict[Family, Series]:
        """The latency histograms of every process (runtime/timings.py), read at scrape time."""
        return await self.store.operations.timings()

    async def stats(self) -> dict[str, Any]:
        """What ``GET /metrics`` reports from Redis, read in one pipeline at scrape time.

        Gauges (names ending ``_current``/``_pending``; summed over the shards): root
        executions by status (the status indexes: finished executions stay counted until
        the workers' sweeper drops them, once their records have expired), work items not
        yet delivered and delivered but not acknowledged, per stream kind, timers set, dead
        letters.  Counters: the workers' totals from ``sm:stats``, which each worker
        process adds to every ``stats_flush_ms``.
        """
        stats = await self.store.operations.stats()
        counts = stats.counters
        return {
            "executions_current": {(("status", s.value),): n for s, n in stats.executions.items()},
            "work_items_waiting_current": {(("kind", k),): v for k, v in stats.waiting.items()},
            "work_items_pending": {(("kind", k),): v for k, v in stats.pending.items()},
            "timers_pending": stats.timers,
            "dead_letters_current": stats.dead,
            "executions_stalled_current": stats.stalled,
            "transitions_total": counts.get("transitions", 0),
            "tasks_performed_total": {(("result", r),): counts.get(f"tasks:{r}", 0)
                                      for r in TASK_RESULTS},
            "commit_conflicts_total": counts.get("conflicts", 0),
            "dead_lettered_total": counts.get("dead_lettered", 0),
            "worker_errors_total": counts.get("loop_errors", 0),
            "replica_ack_shortfalls_total": counts.get("replica_ack_shortfalls", 0),
            "archived_total": counts.get("archived", 0),
            "archive_failures_total": counts.get("archive_failures", 0),
            "archive_deleted_total": counts.get("archive_deleted", 0),
            "shard_backlog_max_current": stats.busiest_shard,
            "redis_used_memory_bytes_current": stats.redis_memory,
            "redis_maxmemory_bytes_current": stats.redis_maxmemory,
            **await queue_gauges(self.store),
        }
