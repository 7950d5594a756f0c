"""Nested executions by parent: which children a parent's ``states:startExecution`` tasks
started (``sm:T:nx:<root id>``, on the parent's shard), for stop and describe.  A task inside
a Map or Parallel counts for the root execution: stopping the root reaches those children too.

The link is written right after the child's start, outside the start script (the child may
live on another shard); a crash in between loses only this index entry — the child's own
record still names its parent (``started_by``).
"""

from __future__ import annotations

from statemachine.interpreter.children import root_of
from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.machines import WAIT_S

__all__ = ["NestedLinks"]

RUNNING_TTL_S = 400 * 24 * 3600
"""How long links live while their root runs (longer than AWS's one-year limit of a STANDARD
execution); the commit that ends the root cuts it to the retention."""


class NestedLinks:
    def __init__(self, store: RedisStore) -> None:
        self._store = store

    async def add(self, parent_id: str, child_id: str, pattern: str) -> None:
        """Record ``child_id`` as started by ``parent_id``'s task waiting as ``pattern``."""
        root = root_of(parent_id)
        key = self._store.shard(root).nested(root)

        async def write() -> None:
            await self._store.write("HSET", key, child_id, pattern)
            await self._store.write("EXPIRE", key, RUNNING_TTL_S)
        await self._store.retry(write, give_up_s=WAIT_S)

    async def children(self, parent_id: str) -> dict[str, str]:
        """Child id -> pattern, of every nested execution ``parent_id`` started."""
        key = self._store.shard(parent_id).nested(parent_id)
        found = await self._store.retry(lambda: self._store.client.hgetall(key), give_up_s=WAIT_S)
        return {k.decode(): v.decode() for k, v in found.items()}
