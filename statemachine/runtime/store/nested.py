"""Nested executions by parent: which children a parent's ``states:startExecution`` tasks
started (``sm:T:nx:<root id>``, on the parent's shard), for stop and describe.  A task inside
a Map or Parallel counts for the root execution: stopping the root reaches those children too.

The link is written right after the child's start, outside the start script (the child may
live on another shard); a crash in between loses only this index entry — the child's own
record still names its parent (``started_by``).
"""

from __future__ import annotations

from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.keys import root_of
from statemachine.runtime.store.machines import WAIT_S

__all__ = ["NestedLinks"]


class NestedLinks:
    def __init__(self, store: RedisStore, retention_s: int) -> None:
        self._store = store
        self._retention_s = retention_s

    async def add(self, parent_id: str, child_id: str, pattern: str) -> None:
        """Record ``child_id`` as started by ``parent_id``'s task waiting as ``pattern``; the
        entry lives while the parent may (a running parent's retention is renewed here)."""
        root = root_of(parent_id)
        key = self._store.shard(root).nested(root)

        async def write() -> None:
            await self._store.write("HSET", key, child_id, pattern)
            await self._store.write("EXPIRE", key, self._retention_s * 2)
        await self._store.retry(write, give_up_s=WAIT_S)

    async def children(self, parent_id: str) -> dict[str, str]:
        """Child id -> pattern, of every nested execution ``parent_id`` started."""
        key = self._store.shard(parent_id).nested(parent_id)
        found = await self._store.retry(lambda: self._store.client.hgetall(key), give_up_s=WAIT_S)
        return {k.decode(): v.decode() for k, v in found.items()}
