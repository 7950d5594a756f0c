"""Connections as stored: one hash field per connection, its secrets already sealed.

``sm:connections`` maps a connection name to its entry (orjson)::

    {"name", "arn", "authorizationType", "description", "creationTime",
     "public": authParameters without secrets, "sealed": the whole authParameters
     encrypted with the service key (security.connections.seal)}

The store never sees a secret in clear: the caller seals before :meth:`Connections.create`
and unseals what :meth:`Connections.get` returns (statemachine.runtime.connections).
"""

from __future__ import annotations

from typing import Any

from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.codec import dumps, loads
from statemachine.runtime.store.keys import CONNECTIONS
from statemachine.runtime.store.machines import WAIT_S

__all__ = ["Connections"]


class Connections:
    """Create, read, list and delete stored connection entries."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._client = store.client

    async def create(self, name: str, entry: dict[str, Any]) -> bool:
        """Store ``entry`` as connection ``name``; False when that name is taken."""
        data = dumps(entry)
        made = await self._store.retry(lambda: self._store.write("HSETNX", CONNECTIONS, name, data),
                                       give_up_s=WAIT_S)
        return bool(made)

    async def get(self, name: str) -> dict[str, Any] | None:
        raw = await self._store.retry(lambda: self._client.hget(CONNECTIONS, name),
                                      give_up_s=WAIT_S)
        return None if raw is None else dict(loads(raw))

    async def all(self) -> list[dict[str, Any]]:
        """Every entry, by name."""
        raw = await self._store.retry(lambda: self._client.hgetall(CONNECTIONS), give_up_s=WAIT_S)
        return [dict(loads(raw[name])) for name in sorted(raw)]

    async def delete(self, name: str) -> bool:
        """Drop connection ``name``; False when there was none."""
        gone = await self._store.retry(lambda: self._store.write("HDEL", CONNECTIONS, name),
                                       give_up_s=WAIT_S)
        return bool(gone)
