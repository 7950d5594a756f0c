"""The workers' side of the streams: reading, claiming, leases, acks, dead letters.

Each shard has two streams per queue (a lane: :class:`~.keys.Lane`) with a consumer group
each: ``ready`` (work items, group "workers") and ``tasks`` (task dispatches, group
"invokers").  A :class:`StreamGroup` is one kind of them over every shard, for the queues a
worker takes (``Settings.queues``); a worker's consumer reads each kind through its own.
On a single Redis one XREADGROUP reads every shard's streams; a Redis Cluster refuses a
command over keys of several slots (even on one node), so there each shard's streams are
read by a reader of their own (:meth:`StreamGroup.read_sets`); claims and leases go as
pipelines, which the cluster client splits by node.
Entries come back as ``(stream, [(entry id, fields), ...])``, the stream by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from redis import exceptions as rexc

from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.keys import INVOKERS_GROUP, WORKERS_GROUP, Shard

__all__ = ["Backlog", "Entries", "StreamGroup", "backlog", "leases"]

_UNBLOCKED = "UNBLOCKED"
"""The error a blocked XREADGROUP gets when its stream is deleted under it."""

Entries = list[tuple[bytes, dict[bytes, bytes]]]
"""A stream's entries as read: (entry id, fields); fields are empty for an entry deleted
after it was delivered (XAUTOCLAIM reports those)."""


class StreamGroup:
    """One kind of stream (``ready`` or ``tasks``) on every shard, of the queues ``lanes``
    (default: ``Settings.lanes``), and its consumer group."""

    def __init__(self, store: RedisStore, kind: Literal["ready", "tasks"],
                 lanes: Iterable[str | None] | None = None) -> None:
        self._store = store
        self._client = store.client
        self.kind = kind
        self.group = WORKERS_GROUP if kind == "ready" else INVOKERS_GROUP
        queues = tuple(store.settings.lanes if lanes is None else lanes)
        self.shards: dict[str, Shard] = {}
        for shard in store.shards:
            for lane in map(shard.lane, queues):
                self.shards[lane.ready if kind == "ready" else lane.tasks] = shard
        self._by_name = {name.encode(): name for name in self.shards}

    def read_sets(self) -> list[list[str]]:
        """The streams one XREADGROUP may read together: all of them on a single Redis,
        a shard's (one hash slot) on a Redis Cluster."""
        names = list(self.shards)
        if not self._store.cluster:
            return [names]
        by_shard: dict[int, list[str]] = {}
        for name, shard in self.shards.items():
            by_shard.setdefault(shard.n, []).append(name)
        return list(by_shard.values())

    async def read(self, consumer: str, streams: Iterable[str], count: int,
                   block_ms: int | None = None) -> list[tuple[str, Entries]]:
        """New entries of ``streams`` for ``consumer``, up to ``count`` per stream (one
        XREADGROUP for them all, blocking up to ``block_ms`` when none has any)."""
        names = list(streams)
        command: list[Any] = ["XREADGROUP", "GROUP", self.group, consumer, "COUNT", count]
        if block_ms is not None:
            command += ["BLOCK", block_ms]
        command += ["STREAMS", *names, *(">" for _ in names)]
        try:
            if self._store.cluster:
                # Sent to the stream's master by name: left to find the slot itself, the
                # cluster client would first ask a node COMMAND GETKEYS (XREADGROUP's keys
                # move), one more round trip for every read.
                node = self._client.get_node_from_key(names[0])
                reply = await self._client.execute_command(*command, target_nodes=node)
            else:
                reply = await self._client.execute_command(*command)
        except (rexc.MovedError, rexc.AskError):
            # Aimed by name, the read is not redirected by the client: read the slot map
            # again and let the caller's retry try anew (an ASK: until the slot has moved).
            await self._client.nodes_manager.initialize()
            raise
        except rexc.ResponseError as exc:
            if not str(exc).startswith(_UNBLOCKED):
                raise
            # A resharding moved the stream to another node while we waited on it (MIGRATE
            # deletes it here): nothing read; the next read meets MOVED or ASK and follows.
            return []
        return [(self._by_name[name], entries) for name, entries in reply or ()]

    async def claim_idle(self, consumer: str, lease_ms: int, count: int) -> list[tuple[str, Entries]]:
        """Take over every stream's entries idle longer than ``lease_ms`` (a dead worker's),
        up to ``count`` per stream (XAUTOCLAIM, pipelined)."""
        pipe = self._client.pipeline(transaction=False)
        for name in self.shards:
            pipe.xautoclaim(name, self.group, consumer, lease_ms, "0-0", count=count)
        replies = await pipe.execute()
        return [(name, reply[1]) for name, reply in zip(self.shards, replies, strict=True)]

    async def ack(self, stream: str, entry_id: bytes) -> None:
        """Acknowledge and delete an entry handled without a commit."""
        pipe = self._client.pipeline(transaction=False)
        pipe.xack(stream, self.group, entry_id)
        pipe.xdel(stream, entry_id)
        await pipe.execute()

    async def dead_letter(self, stream: str, entry_id: bytes, message: bytes, error: str,
                          consumer: str, now: int) -> tuple[int, str | None]:
        """After handling an entry raised: (deliveries so far, the dead letter's id once the
        entry has been moved to its shard's dead-letter stream, else None), see dead.lua."""
        shard = self.shards[stream]
        args = [self.group, entry_id, self._store.settings.max_deliveries, message, error,
                consumer, now]
        delivered, dead = await self._store.script("dead", [stream, shard.dead], args,
                                                   confirmed=False)
        return int(delivered), (f"{shard.n}-{dead.decode()}" if dead else None)


async def leases(store: RedisStore, consumer: str, held: Mapping[str, Iterable[bytes]],
                 group_of: Mapping[str, str]) -> None:
    """Reset the idle time of the entries ``consumer`` holds (by stream, each stream's
    consumer group in ``group_of``), so XAUTOCLAIM leaves them alone."""
    pipe = store.client.pipeline(transaction=False)
    for stream, ids in held.items():
        ids = list(ids)
        if ids:
            pipe.xclaim(stream, group_of[stream], consumer, 0, ids, justid=True)
    await pipe.execute()


@dataclass(frozen=True, slots=True)
class Backlog:
    """What is left to do over every shard: stream entries (waiting or delivered and not
    acknowledged: an acknowledged entry is deleted) and the earliest timer's due time."""

    entries: int
    next_timer: int | None


async def backlog(store: RedisStore, lanes: Iterable[str | None] | None = None) -> Backlog:
    """The :class:`Backlog` of the queues ``lanes`` (default: ``Settings.lanes``) now: one
    MULTI (on a Redis Cluster, one per shard), so no commit or promotion (which move work
    between a shard's streams and timers atomically) falls between two of its reads of a
    shard."""
    groups = [[shard] for shard in store.shards] if store.cluster else [store.shards]
    queues = tuple(store.settings.lanes if lanes is None else lanes)

    async def read(shards: list[Shard]) -> list[Any]:
        pipe = store.client.pipeline(transaction=True)
        for lane in (shard.lane(queue) for shard in shards for queue in queues):
            pipe.zrange(lane.timers, 0, 0, withscores=True)
            pipe.xlen(lane.ready)
            pipe.xlen(lane.tasks)
        return cast(list[Any], await pipe.execute())

    replies = [reply for part in await asyncio.gather(*map(read, groups)) for reply in part]
    entries = sum(replies[n] for n in range(len(replies)) if n % 3 != 0)
    dues = [int(reply[0][1]) for reply in replies[0::3] if reply]
    return Backlog(entries, min(dues) if dues else None)
