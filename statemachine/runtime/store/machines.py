"""State machine definitions: their revisions, and every shard's copy of the latest.

``sm:machine:<name>`` holds each revision (``v:<n>`` -> ``{"definition", "createdAt", ...}``;
called "versions" here and in the records' ``machine_version``, they are what AWS calls
revisions: AWS's published versions are :mod:`.catalog`'s) and ``latest``; ``sm:machines``
lists the names.  A define also raises the latest revision in every shard's ``sm:T:mv``
(``raise_version.lua``), so a start reads it on its own shard; a delete sets a tombstone
there instead.  Revisions never change once written: each is read and decoded once, then
served from a small cache (:data:`VERSION_CACHE`).
"""

from __future__ import annotations

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
        this define creates it (a machine's type never changes)."""
        key, client = machine(name), self._client
        # EVAL, not EVALSHA: inside MULTI a NOSCRIPT (a restarted Redis) cannot be retried
        raise_version = self._store.scripts["raise_version"]
        entry = dumps({"definition": definition, "createdAt": created, **(config or {})})

        async def write() -> int:
            version = int(await client.hincrby(key, "seq", 1))
            pipe = client.pipeline(transaction=True)
            pipe.hset(key, f"v:{version}", entry)
            pipe.hsetnx(MACHINES, name, created)
            pipe.hsetnx(catalog(name), "type", type)
            for shard in self._store.shards:
                pipe.eval(raise_version.source, 1, shard.versions, name, version)
            pipe.eval(raise_version.source, 1, key, "latest", version)
            await pipe.execute()
            return version

        return await self._store.retry(write, give_up_s=WAIT_S)

    async def delete(self, name: str) -> None:
        """Delete the machine: its listing entry, catalog (versions, aliases) and tags go, its
        latest revision becomes a tombstone everywhere (starts are refused); its revisions
        stay for the executions still running them."""
        key, client = machine(name), self._client
        raise_version = self._store.scripts["raise_version"]

        async def write() -> None:
            tombstone = -int(await client.hincrby(key, "seq", 1))
            pipe = client.pipeline(transaction=True)
            pipe.hdel(MACHINES, name)
            pipe.delete(catalog(name), tags("m", name))
            for shard in self._store.shards:
                pipe.eval(raise_version.source, 1, shard.versions, name, tombstone)
            pipe.eval(raise_version.source, 1, key, "latest", tombstone)
            await pipe.execute()

        await self._store.retry(write, give_up_s=WAIT_S)

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
