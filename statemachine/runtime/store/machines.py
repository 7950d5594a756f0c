"""State machine definitions: their revisions, and every shard's copy of the latest.

``sm:machine:<name>`` holds each revision (``v:<n>`` -> ``{"definition", "createdAt", ...}``;
called "versions" here and in the records' ``machine_version``, they are what AWS calls
revisions: AWS's published versions are :mod:`.catalog`'s) and ``latest``; ``sm:machines``
lists the names.  A define also raises the latest revision in every shard's ``sm:T:mv``
(``raise_version.lua``), so a start reads it on its own shard; a delete sets a tombstone
there instead.  These are written one key at a time, each idempotently (no transaction
spans them: on a Redis Cluster they live on different nodes); the workers'
housekeeping completes any that were cut short (:meth:`Machines.reconcile`).  Revisions never change once written: each is read and decoded once, then
served from a small cache (:data:`VERSION_CACHE`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.codec import dumps, loads
from statemachine.runtime.store.keys import MACHINES, catalog, machine, tags

__all__ = ["VERSION_CACHE", "Machines"]

VERSION_CACHE = 256
"""Decoded state machine versions kept (they never change)."""
WAIT_S = 10.0
"""How long a request waits for an unreachable Redis before it fails."""


class Machines:
    """Define state machines and read their versions."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._client = store.client
        self._versions: dict[tuple[str, int], dict[str, Any]] = {}

    async def define(self, name: str, definition: dict[str, Any], created: str, *,
                     config: dict[str, Any] | None = None, type: str = "STANDARD") -> int:
        """Store ``definition`` (with ``config``: revisionId, roleArn, logging and tracing)
        as ``name``'s next revision; returns its number.  ``type``: the machine's, when
        this define creates it (a machine's type never changes).

        Written key by key (a Redis Cluster keeps them on different nodes): the revision
        first, then every shard's copy of the latest, then ``latest`` itself; each step is
        idempotent, and a define cut short is completed by :meth:`reconcile`.
        """
        key, write = machine(name), self._write
        entry = dumps({"definition": definition, "createdAt": created, **(config or {})})
        version = int(await write("HINCRBY", key, "seq", 1))
        await write("HSET", key, f"v:{version}", entry)
        await self._raise(name, version)
        await write("HSETNX", MACHINES, name, created)
        await write("HSETNX", catalog(name), "type", type)
        return version

    async def delete(self, name: str) -> None:
        """Delete the machine: its listing entry, catalog (versions, aliases) and tags go, its
        latest revision becomes a tombstone everywhere (starts are refused); its revisions
        stay for the executions still running them.  The tombstone is set on ``latest``
        first, so a delete cut short is completed by :meth:`reconcile`."""
        key, write = machine(name), self._write
        tombstone = -int(await write("HINCRBY", key, "seq", 1))
        await self._raise_one(key, "latest", tombstone)
        await write("HDEL", MACHINES, name)
        await write("DEL", catalog(name))
        await write("DEL", tags("m", name))
        await self._raise(name, tombstone)

    async def _write(self, *command: Any) -> Any:
        return await self._store.retry(lambda: self._store.write(*command), give_up_s=WAIT_S)

    async def _raise(self, name: str, version: int) -> None:
        """Raise ``name``'s version on every shard, then its ``latest``."""
        await asyncio.gather(*(self._raise_one(shard.versions, name, version)
                               for shard in self._store.shards))
        await self._raise_one(machine(name), "latest", version)

    async def _raise_one(self, key: str, field: str, version: int) -> None:
        await self._store.retry(lambda: self._store.script("raise_version", [key],
                                                           [field, version]), give_up_s=WAIT_S)

    async def reconcile(self) -> int:
        """Complete the defines and deletes that were cut short: every machine's version
        raised to the highest any shard or its ``latest`` holds.  Returns how many were."""
        client, shards = self._client, self._store.shards
        copies = await asyncio.gather(*(client.hgetall(shard.versions) for shard in shards))
        names = sorted({field.decode() for copy in copies for field in copy})
        if not names:
            return 0
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.hget(machine(name), "latest")
        latest = await pipe.execute()
        behind = 0
        for name, top in zip(names, latest, strict=True):
            held = [int(top or 0)] + [int(copy.get(name.encode(), 0)) for copy in copies]
            target = max(held, key=abs)
            if any(value != target for value in held):
                behind += 1
                await self._raise(name, target)
        return behind

    async def names(self) -> list[str]:
        """Every state machine's name, sorted."""
        names = await self._store.retry(lambda: self._client.hkeys(MACHINES), give_up_s=WAIT_S)
        return sorted(n.decode() for n in names)

    async def latest(self, name: str) -> int | None:
        """The latest version number of ``name`` (None: no such state machine)."""
        latest = await self._store.retry(lambda: self._client.hget(machine(name), "latest"),
                                         give_up_s=WAIT_S)
        return None if latest is None or int(latest) < 1 else int(latest)

    async def version(self, name: str, version: int) -> dict[str, Any] | None:
        """``{"definition", "createdAt"}`` of one version (shared with the cache: callers
        must not modify it), or None."""
        stored = self._versions.get((name, version))
        if stored is None:
            raw = await self._store.retry(lambda: self._client.hget(machine(name), f"v:{version}"),
                                          give_up_s=WAIT_S)
            if raw is None:
                return None
            if len(self._versions) >= VERSION_CACHE:
                del self._versions[next(iter(self._versions))]
            stored = self._versions[(name, version)] = loads(raw)
        return stored
