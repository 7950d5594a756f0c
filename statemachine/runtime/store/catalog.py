"""The state machine catalog as AWS has it: a machine's type, published versions, aliases,
and the tags of machines and activities.

Revisions (the immutable unit an execution runs) are :mod:`.machines`'; a published
version (``p:<n>`` of ``sm:catalog:<name>``) names one of them, an alias (``a:<alias>``)
routes starts to one or two versions by weight.  The writes that must check something
first are scripts on the catalog hash alone (``publish.lua``, ``unpublish.lua``,
``alias.lua``, ``tag.lua``), so concurrent API instances cannot publish a revision twice,
delete a version an alias routes to, or pass the tag limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from statemachine.language.queues import QUEUE_TAG, lane_name
from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.codec import dumps, loads
from statemachine.runtime.store.keys import MACHINES, catalog, machine, tags
from statemachine.runtime.store.machines import WAIT_S
from statemachine.runtime.store.scripts import AliasReply, PublishReply, TagReply, UnpublishReply

__all__ = ["Catalog", "Head"]


@dataclass(frozen=True, slots=True)
class Head:
    """What a describe needs first: the latest revision (None: no such machine), the type,
    the creation date (None when the machine does not exist) and the queue its executions
    go to (its ``statemachine:queue`` tag; None: the default queue)."""

    latest: int | None
    type: str
    created: str | None
    queue: str | None = None


class Catalog:
    """Types, published versions, aliases and tags."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._client = store.client

    async def _retry(self, call: Any) -> Any:
        return await self._store.retry(call, give_up_s=WAIT_S)

    async def head(self, name: str) -> Head:
        """Latest revision, type, creation date and queue, in one round trip."""
        async def read() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            pipe.hget(machine(name), "latest")
            pipe.hget(catalog(name), "type")
            pipe.hget(MACHINES, name)
            pipe.hget(tags("m", name), QUEUE_TAG)
            return await pipe.execute()  # type: ignore[no-any-return]

        latest, kind, created, queue = await self._retry(read)
        alive = latest is not None and int(latest) > 0
        return Head(int(latest) if alive else None, kind.decode() if kind else "STANDARD",
                    created.decode() if alive and created else None,
                    lane_name(queue.decode()) if alive and queue else None)

    async def listing(self) -> dict[str, str]:
        """Every state machine: name -> creationDate."""
        raw = await self._retry(lambda: self._client.hgetall(MACHINES))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def types(self, names: list[str]) -> list[str]:
        """The type of each machine named (STANDARD when it has none recorded)."""
        async def read() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for name in names:
                pipe.hget(catalog(name), "type")
            return await pipe.execute()  # type: ignore[no-any-return]

        return [t.decode() if t else "STANDARD" for t in await self._retry(read)] if names else []

    async def claim(self, name: str, created: str) -> bool:
        """Claim ``name`` for a new machine (False: a machine of that name exists)."""
        return bool(await self._retry(lambda: self._store.write("HSETNX", MACHINES, name, created)))

    async def release(self, name: str, created: str) -> None:
        """Give back a claim whose machine could not be written (only that claim)."""
        async def release() -> None:
            held = await self._client.hget(MACHINES, name)
            if held is not None and held.decode() == created:
                await self._client.hdel(MACHINES, name)
        await self._retry(release)

    # -- published versions ------------------------------------------------------------------

    async def publish(self, name: str, revision: int, entry: dict[str, Any],
                      limit: int) -> tuple[PublishReply, int]:
        """Publish ``revision`` as the next version (or find the version that is it)."""
        args = [revision, dumps({"revision": revision, **entry}), limit]
        reply = await self._retry(lambda: self._store.script("publish", [catalog(name)], args))
        if PublishReply(reply[0]) == PublishReply.GONE and await self._adopt(name):
            reply = await self._retry(lambda: self._store.script("publish", [catalog(name)], args))
        code = PublishReply(reply[0])
        return code, int(reply[1]) if len(reply) > 1 else 0

    async def versions(self, name: str) -> dict[int, dict[str, Any]]:
        """Every published version: number -> ``{"revision", "description"?, "creationDate"}``."""
        return {int(k[2:]): v for k, v in (await self._fields(name, "p:")).items()}

    async def version(self, name: str, version: int) -> dict[str, Any] | None:
        raw = await self._retry(lambda: self._client.hget(catalog(name), f"p:{version}"))
        return None if raw is None else loads(raw)

    async def unpublish(self, name: str, version: int) -> tuple[UnpublishReply, str]:
        """Delete a version unless an alias routes to it (then: ROUTED and the alias)."""
        reply = await self._retry(
            lambda: self._store.script("unpublish", [catalog(name)], [version]))
        return UnpublishReply(reply[0]), reply[1].decode() if len(reply) > 1 else ""

    # -- aliases -------------------------------------------------------------------------------

    async def aliases(self, name: str) -> dict[str, dict[str, Any]]:
        """Every alias: name -> its entry (see ``keys``)."""
        return {k[2:]: v for k, v in (await self._fields(name, "a:")).items()}

    async def alias(self, name: str, alias: str) -> dict[str, Any] | None:
        raw = await self._retry(lambda: self._client.hget(catalog(name), f"a:{alias}"))
        return None if raw is None else loads(raw)

    async def save_alias(self, name: str, alias: str, entry: dict[str, Any], *, create: bool,
                         limit: int) -> tuple[AliasReply, Any]:
        """Create the alias (or find it: TAKEN with the stored one), or update some of its
        fields; every version routed to must exist (NO_VERSION with its number)."""
        args = ["create" if create else "update", alias, dumps(entry), limit]
        reply = await self._retry(lambda: self._store.script("alias", [catalog(name)], args))
        if AliasReply(reply[0]) == AliasReply.GONE and await self._adopt(name):
            reply = await self._retry(lambda: self._store.script("alias", [catalog(name)], args))
        code = AliasReply(reply[0])
        match code:
            case AliasReply.SAVED | AliasReply.TAKEN:
                return code, loads(reply[1])
            case AliasReply.NO_VERSION:
                return code, int(reply[1])
            case _:
                return code, None

    async def delete_alias(self, name: str, alias: str) -> bool:
        """False when there was no such alias."""
        return bool(await self._retry(lambda: self._client.hdel(catalog(name), f"a:{alias}")))

    async def _adopt(self, name: str) -> bool:
        """Give a machine defined before the catalog existed (no ``type``) its catalog entry
        (a STANDARD machine); False when there is no such machine."""
        latest = await self._retry(lambda: self._client.hget(machine(name), "latest"))
        if latest is None or int(latest) < 1:
            return False
        await self._retry(lambda: self._client.hsetnx(catalog(name), "type", "STANDARD"))
        return True

    async def _fields(self, name: str, prefix: str) -> dict[str, Any]:
        raw = await self._retry(lambda: self._client.hgetall(catalog(name)))
        found = {}
        for key, value in raw.items():
            text = key.decode()
            if text.startswith(prefix):
                found[text] = loads(value)
        return found

    # -- tags ----------------------------------------------------------------------------------

    async def tags(self, kind: str, name: str) -> dict[str, str]:
        """A resource's tags (kind "m": a state machine, "a": an activity)."""
        raw = await self._retry(lambda: self._client.hgetall(tags(kind, name)))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def tag(self, kind: str, name: str, given: dict[str, str], limit: int) -> int | None:
        """Add or overwrite tags; the new count, or None (nothing written) when it would
        pass ``limit``."""
        flat = [part for pair in given.items() for part in pair]
        reply = await self._retry(
            lambda: self._store.script("tag", [tags(kind, name)], [limit, *flat]))
        return int(reply[1]) if TagReply(reply[0]) == TagReply.TAGGED else None

    async def untag(self, kind: str, name: str, keys: list[str]) -> None:
        if keys:
            await self._retry(lambda: self._client.hdel(tags(kind, name), *keys))

    async def forget_tags(self, kind: str, name: str) -> None:
        """Drop every tag of a resource that is deleted (a machine's go with
        ``Machines.delete``; DeleteActivity calls this)."""
        await self._retry(lambda: self._client.delete(tags(kind, name)))
