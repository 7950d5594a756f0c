"""What a worker's transitions read and write: records, definitions, groups, commits.

Loads of records go through one :class:`~statemachine.runtime.store.pipe.CommandBatch`
and commits through one :class:`~statemachine.runtime.store.pipe.ScriptBatch` of
``commit.lua``, so the transitions of one event-loop turn share a round trip.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.codec import awaits_token, handed_over, loads
from statemachine.runtime.store.keys import INVOKERS_GROUP, Lane, Shard, machine
from statemachine.runtime.store.nodes import ReplicaAckShort
from statemachine.runtime.store.pipe import CommandBatch, ScriptBatch
from statemachine.runtime.store.plan import GroupState, Plan
from statemachine.runtime.store.scripts import CommitReply

__all__ = ["ChildStart", "Records"]


@dataclass(slots=True)
class ChildStart:
    """What a lazy child's ``Started`` finds: its record if it has one (then there is
    nothing to build), else its stored input and its group's spec (None when gone)."""

    record: bytes | None
    input: bytes | None
    spec: bytes | None


class Records:
    """The transitions' reads and the commit, over the store's connection."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._client = store.client
        self._commits = ScriptBatch(store, "commit")
        self._reads = CommandBatch(store)

    def close(self) -> None:
        self._commits.close()
        self._reads.close()

    async def load(self, shard: Shard, execution_id: str) -> bytes | None:
        """The stored record (codec.unpack_record), or None."""
        raw: bytes | None = await self._reads.run("HGET", shard.record(execution_id), "r")
        return raw

    async def load_child(self, shard: Shard, child_id: str, parent_id: str, group: str,
                         index: int, *, first: bool, spec: bool) -> ChildStart:
        """A lazy child's state in one round trip.  The first attempt reads only the input
        (and the spec when ``spec``): the child's first commit deletes the input, so one
        still stored means no record yet, barring a race the commit's guards catch.  A
        retry reads the record and the group's ``closed`` too: a record, or a closed group,
        means there is no child to begin."""
        record_key = shard.record(child_id)
        group_key = shard.group(parent_id, group)
        # Through the reads' batch, not a redis-py pipeline: the children of a Map starting
        # in one turn share one pipeline on their shard's node (a redis-py pipeline per
        # child costs more, most of all the cluster client's).
        reads = self._reads
        calls = []
        if not first:
            calls += [reads.run("HGET", record_key, "r"), reads.run("HGET", group_key, "closed")]
        if spec:
            calls.append(reads.run("HGET", group_key, "spec"))
        calls.append(reads.run("HGET", shard.group_inputs(parent_id, group), index))
        got = await asyncio.gather(*calls)
        if not first and (got[0] is not None or got[1] != b"0"):
            return ChildStart(got[0], None, None)
        found = ChildStart(None, got[-1], got[-2] if spec else None)
        if found.input is None or (spec and found.spec is None):
            # begun already, or its group is gone: whatever record it has
            return ChildStart(await reads.run("HGET", record_key, "r"), None, None)
        return found

    async def hand_over(self, lane: Lane, tasks: str, execution_id: str, result: Any,
                        entry_id: bytes) -> None:
        """Move a performed task's ``result`` (its event) from its dispatch, ``entry_id`` on
        the tasks stream ``tasks``, to the ready stream of the execution's ``lane`` as a
        work item (``codec.handed_over``), in one script (``hand_over.lua``): from then on a
        failure to apply it is retried (and dead-lettered) there, and no later delivery
        performs the task again."""
        await self._store.script("hand_over", [lane.ready, tasks],
                                 [handed_over(execution_id, result), entry_id, INVOKERS_GROUP],
                                 confirmed=False)

    async def definition(self, name: str, version: int) -> dict[str, Any] | None:
        """A stored state machine version: ``{"definition", "createdAt"}``."""
        raw = await self._client.hget(machine(name), f"v:{version}")
        return None if raw is None else loads(raw)

    async def outcomes(self, shard: Shard, parent_id: str, group: str,
                       total: int) -> list[bytes | None]:
        """A finished group's children's outcomes by index (None: lost)."""
        key = shard.group_results(parent_id, group)
        return await self._store.hmget_chunked(key, list(range(total)),
                                               self._store.settings.input_chunk)

    async def group_head(self, shard: Shard, parent_id: str,
                         group: str) -> tuple[bytes | None, int, int]:
        """A group's spec, ``next`` (children begun or asked to) and ``total`` (spec None:
        the group is gone)."""
        spec, nxt, total = await self._client.hmget(shard.group(parent_id, group),
                                                    ["spec", "next", "total"])
        return spec, int(nxt or 0), int(total or 0)

    async def inputs(self, shard: Shard, parent_id: str, group: str,
                     indexes: list[int]) -> list[bytes | None]:
        """The stored inputs of children ``indexes`` (None: begun, its input moved to its
        record)."""
        key = shard.group_inputs(parent_id, group)
        return await self._store.hmget_chunked(key, indexes, self._store.settings.input_chunk)
    async def outcome_page(self, parent_id: str, group: str, start: int,
                           count: int) -> list[bytes | None]:
        """Outcomes ``start .. start+count-1`` a finished Map Run keeps for its ResultWriter
        (None: lost); one page, so the writer never holds them all."""
        key = self._store.shard(parent_id).group_results(parent_id, group)
        found: list[bytes | None] = await self._client.hmget(key, list(range(start, start + count)))
        return found

    async def group_state(self, shard: Shard, parent_id: str, group: str) -> GroupState | None:
        """A group's ``next`` counter and running children (None: the group is gone)."""
        pipe = self._client.pipeline(transaction=False)
        pipe.hget(shard.group(parent_id, group), "next")
        pipe.smembers(shard.group_running(parent_id, group))
        nxt, running = await pipe.execute()
        if nxt is None:
            return None
        return GroupState(nxt.decode(), sorted(int(i) for i in running))

    async def reopened(self, shard: Shard, execution_id: str) -> bool:
        """Whether the record's status field says RUNNING (read when its record says it has
        ended: then a redrive re-opened it and the worker applying its Redriven has not
        committed yet)."""
        status = await self._client.hget(shard.record(execution_id), "status")
        return bool(status == b"RUNNING")

    async def awaits(self, shard: Shard, execution_id: str, token: str) -> bool:
        """Whether the execution is RUNNING and waits for the task with ``token``."""
        status, awaited = await self._client.hmget(shard.record(execution_id), ["status", "token"])
        return awaits_token(status, awaited, token)

    async def commit(self, plan: Plan) -> tuple[bool, int]:
        """Run ``commit.lua`` for ``plan``: (True, 0) when applied, (False, guard number)
        when refused.  Sent in one pipeline with the other commits of the same event-loop
        turn; dispatches the commit took (TAKE) are left in ``plan.taken``."""
        for key, mapping in plan.prewrites:
            await self._store.hset_chunked(key, mapping, self._store.settings.input_chunk)
        await self._index_runs(plan, before=True)
        try:
            result = await self._commits.run(plan.keys, plan.args())
        except ReplicaAckShort as short:  # applied; a failover now may undo it: redone then
            result = self._store.short(short)
        if result[0] != CommitReply.APPLIED:
            return False, int(result[1])
        await self._index_runs(plan, before=False)
        if len(result) > 1:
            plan.taken = [(entry_id, _fields(flat)) for entry_id, flat in result[1]]
        return True, 0

    async def _index_runs(self, plan: Plan, *, before: bool) -> None:
        """A Map Run's index on the shard its ARN's id picks (``store/map_runs.py``): written
        before the commit that starts the run (so it exists once the run does; the same value
        again if that commit is refused and redone), given the retention after the commit
        that ends it.  Outside ``commit.lua``, whose keys are all its own shard's."""
        for run_uuid, value, ttl in plan.run_index:
            if (value is not None) != before:
                continue
            key = self._store.shard(run_uuid).map_run_arn(run_uuid)
            if value is not None:
                await self._client.set(key, value, ex=ttl)
            else:
                await self._client.expire(key, ttl)


def _fields(flat: list[bytes]) -> dict[bytes, bytes]:
    """A stream entry's fields as XREADGROUP gives them inside a script (a flat list)."""
    return dict(zip(flat[::2], flat[1::2], strict=True))
