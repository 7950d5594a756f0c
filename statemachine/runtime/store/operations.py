"""Operating the runtime: dead letters (listed, requeued), the executions they stall, and
the figures of ``/metrics`` (the latency histograms too: :mod:`.timings`).

A dead letter is known by ``<shard>-<entry id of the shard's dead-letter stream>``; the
listing merges the shards' streams newest first, ordered by (entry id, shard).

A RUNNING execution is *stalled* while a dead letter holds a message of it or of one of its
Map/Parallel children (the message's ``x``): the work it waits for will not happen until
the letter is requeued.  The mark is read from the dead-letter streams themselves (no key
of its own to keep in step): requeueing the letter clears it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis import exceptions as rexc

from statemachine.interpreter.children import root_of
from statemachine.interpreter.records import Status
from statemachine.runtime.store.client import TRANSIENT, RedisStore
from statemachine.runtime.store.codec import message_execution
from statemachine.runtime.store.keys import INVOKERS_GROUP, STATS, WORKERS_GROUP, Shard
from statemachine.runtime.store.machines import WAIT_S
from statemachine.runtime.store.pools import known_queues
from statemachine.runtime.store.timings import flush_timings, read_timings
from statemachine.runtime.timings import FAMILIES, Family, Series, Timings

__all__ = ["STALL_SCAN", "DeadRef", "Operations", "RuntimeStats"]

STALL_SCAN = 1_000
"""Dead letters read per shard (newest first) when looking for stalled executions: dead
letters are rare and an operator's to clear, so a shard holding more than this is in
trouble already; the older ones are not looked at."""

DeadRef = tuple[int, int, int]
"""A dead letter's place in the merged listing: (entry ms, entry sequence, shard)."""


@dataclass(slots=True)
class RuntimeStats:
    """What Redis says about the runtime right now, summed over the shards.

    ``executions``: root executions by status (the status indexes: finished ones stay
    counted until the sweeper drops them, once their records have expired); ``waiting``
    and ``pending``: stream entries not yet delivered / delivered and not acknowledged, by
    stream kind (``ready``, ``tasks``), of every queue; ``timers`` set; ``dead`` letters; ``stalled``:
    RUNNING root executions a dead letter holds up; ``counters``: the workers' totals from
    ``sm:stats``; ``busiest_shard``: the most ready work items (waiting + pending) of any one
    shard (one execution and its Map lives on one shard: a hot shard shows here first);
    ``redis_memory``/``redis_maxmemory``: ``INFO memory``'s used_memory and maxmemory
    (0: no limit), summed over the nodes that answer.
    """

    executions: dict[Status, int] = field(default_factory=lambda: dict.fromkeys(Status, 0))
    waiting: dict[str, int] = field(default_factory=lambda: {"ready": 0, "tasks": 0})
    pending: dict[str, int] = field(default_factory=lambda: {"ready": 0, "tasks": 0})
    timers: int = 0
    dead: int = 0
    stalled: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    busiest_shard: int = 0
    redis_memory: int = 0
    redis_maxmemory: int = 0


class Operations:
    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._client = store.client

    async def dead_letters(self, limit: int,
                           after: DeadRef | None) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` dead letters of every shard, newest first, after ``after``; and
        whether more follow.  After a cursor, each shard's XREVRANGE starts at its entry id:
        inclusive on the shards numbered below the cursor's, exclusive on the others."""
        shards = self._store.shards

        async def read() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for shard in shards:
                top = "+"
                if after is not None:
                    top = f"{after[0]}-{after[1]}" if shard.n < after[2] else f"({after[0]}-{after[1]}"
                    if top == "(0-0":  # Redis refuses it; no entry's id is 0-0, so this is equal
                        top = "0-0"
                pipe.xrevrange(shard.dead, top, "-", count=limit + 1)
            return await pipe.execute()  # type: ignore[no-any-return]

        rows: list[tuple[DeadRef, dict[str, Any]]] = []
        for shard, entries in zip(shards, await self._store.retry(read, give_up_s=WAIT_S),
                                  strict=True):
            for entry_id, fields in entries:
                ms, seq = entry_id.decode().split("-")
                rows.append(((int(ms), int(seq), shard.n), _dead_letter(shard, entry_id, fields)))
        rows.sort(key=lambda row: row[0], reverse=True)
        return [letter for _, letter in rows[:limit]], len(rows) > limit

    async def stalls(self, execution_id: str) -> list[dict[str, Any]]:
        """The dead letters (newest first, as :meth:`dead_letters` shows them, without the
        message) holding messages of ``execution_id`` or of its children."""
        shard = self._store.shard(execution_id)
        entries = await self._store.retry(
            lambda: self._client.xrevrange(shard.dead, "+", "-", count=STALL_SCAN),
            give_up_s=WAIT_S)
        found = []
        for entry_id, fields in entries:
            held = message_execution(fields.get(b"m", b""))
            if held is not None and root_of(held) == execution_id:
                letter = _dead_letter(shard, entry_id, fields)
                del letter["message"]
                found.append(letter)
        return found

    async def _stalled(self, shards: list[Shard]) -> int:
        """How many RUNNING root executions the dead letters of ``shards`` hold up."""
        pipe = self._client.pipeline(transaction=False)
        for shard in shards:
            pipe.xrevrange(shard.dead, "+", "-", count=STALL_SCAN)
        roots: dict[str, Shard] = {}
        for shard, entries in zip(shards, await pipe.execute(), strict=True):
            for _, fields in entries:
                held = message_execution(fields.get(b"m", b""))
                if held is not None:
                    roots[root_of(held)] = shard
        pipe = self._client.pipeline(transaction=False)
        for root, shard in roots.items():
            pipe.hget(shard.record(root), "status")
        statuses = await pipe.execute()
        return sum(status == Status.RUNNING.encode() for status in statuses)

    async def requeue(self, shard_number: int, entry_id: str) -> dict[str, Any] | None:
        """Put a dead letter's message back on its stream as a new entry and delete the dead
        letter, atomically (``requeue.lua``): ``{"stream", "kind", "entryId"}``, or None
        when there is no such dead letter."""
        shard = self._store.shards[shard_number]
        found = await self._store.retry(lambda: self._client.xrange(shard.dead, entry_id, entry_id),
                                        give_up_s=WAIT_S)
        stream = found[0][1].get(b"stream", b"").decode() if found else ""
        lane = shard.lane_of_stream(stream) or shard.default  # its queue's streams
        keys = [shard.dead, lane.ready, lane.tasks]
        result = await self._store.retry(lambda: self._store.script("requeue", keys, [entry_id]),
                                         give_up_s=WAIT_S)
        if not result:
            return None
        stream, new_id = (part.decode() for part in result)
        return {"stream": stream, "kind": _stream_kind(shard, stream), "entryId": new_id}

    async def stats(self) -> RuntimeStats:
        """The :class:`RuntimeStats` over every known queue's lanes, read in one pipeline
        after the queues' names (waits at most 2 s for Redis)."""
        shards = self._store.shards
        queues = await self._store.retry(lambda: known_queues(self._store), give_up_s=2.0)

        async def read() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for shard in shards:
                for status in Status:
                    pipe.zcard(shard.index_status(status))
                for lane in map(shard.lane, queues):
                    pipe.xlen(lane.ready)
                    pipe.xpending(lane.ready, WORKERS_GROUP)
                    pipe.xlen(lane.tasks)
                    pipe.xpending(lane.tasks, INVOKERS_GROUP)
                    pipe.zcard(lane.timers)
                pipe.xlen(shard.dead)
            pipe.hgetall(STATS)
            return await pipe.execute(raise_on_error=False)  # type: ignore[no-any-return]

        replies = await self._store.retry(read, give_up_s=2.0)
        stats = RuntimeStats()
        dead_shards: list[Shard] = []
        width = len(Status) + 5 * len(queues) + 1
        for n in range(len(shards)):
            row = [_number(r) for r in replies[n * width:(n + 1) * width]]
            for status, count in zip(Status, row, strict=False):
                stats.executions[status] += count
            busy = 0
            for q in range(len(queues)):
                at = len(Status) + 5 * q
                ready_len, ready_pending, tasks_len, tasks_pending, timers = row[at:at + 5]
                stats.waiting["ready"] += max(0, ready_len - ready_pending)
                stats.waiting["tasks"] += max(0, tasks_len - tasks_pending)
                stats.pending["ready"] += ready_pending
                stats.pending["tasks"] += tasks_pending
                stats.timers += timers
                busy += ready_len
            stats.busiest_shard = max(stats.busiest_shard, busy)
            dead = row[-1]
            stats.dead += dead
            if dead:
                dead_shards.append(shards[n])
        if dead_shards:
            stats.stalled = await self._store.retry(lambda: self._stalled(dead_shards),
                                                    give_up_s=2.0)
        counters = replies[-1] if isinstance(replies[-1], dict) else {}
        stats.counters = {name.decode(): int(value) for name, value in counters.items()}
        nodes = await self._memory()
        stats.redis_memory = sum(int(n.get("used_memory", 0)) for n in nodes)
        stats.redis_maxmemory = sum(int(n.get("maxmemory", 0)) for n in nodes)
        return stats

    async def add_timings(self, timings: Timings) -> None:
        """Add what this process's ``timings`` observed since the last call to Redis."""
        await flush_timings(self._store, timings)

    async def timings(self) -> dict[Family, Series]:
        """The latency histograms summed over every process (waits at most 2 s for Redis)."""
        return await self._store.retry(lambda: read_timings(self._store, FAMILIES),
                                       give_up_s=2.0)

    async def _memory(self) -> list[dict[str, Any]]:
        """``INFO memory`` of every master (none for a user refused INFO, which is
        ``@dangerous``: the gauges then stay 0)."""
        client = self._client
        try:
            if self._store.cluster:
                by_node = await client.info("memory", target_nodes=client.PRIMARIES)
                return list(by_node.values())
            return [await client.info("memory")]
        except (rexc.NoPermissionError, *TRANSIENT):
            return []


def _number(reply: Any) -> int:
    """A count from a stats pipeline reply (XPENDING's summary, an integer; 0 for an error
    such as a consumer group that does not exist yet)."""
    if isinstance(reply, dict):
        return int(reply.get("pending") or 0)
    return int(reply) if isinstance(reply, int) else 0


def _stream_kind(shard: Shard, stream: str) -> str | None:
    lane = shard.lane_of_stream(stream)
    return None if lane is None else "ready" if stream == lane.ready else "tasks"


def _dead_letter(shard: Shard, entry_id: bytes, fields: dict[bytes, bytes]) -> dict[str, Any]:
    """A dead-stream entry as the API shows it (the message as text: it may not be JSON)."""
    def text(name: bytes) -> str:
        return fields.get(name, b"").decode("utf-8", "replace")

    stream, at = text(b"stream"), text(b"at")
    return {
        "id": f"{shard.n}-{entry_id.decode()}", "shard": shard.n, "stream": stream,
        "kind": _stream_kind(shard, stream), "group": text(b"group"), "entryId": text(b"id"),
        "executionId": message_execution(fields.get(b"m", b"")),
        "message": text(b"m"), "error": text(b"error"), "consumer": text(b"consumer"),
        "at": int(at) if at.isdigit() else None,
    }
