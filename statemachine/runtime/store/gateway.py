"""The store as the service uses it: one connection and its named operations.

``await Store.connect(settings)`` connects (riding out a Redis that is still starting)
and offers the operations by subject: :attr:`~Store.machines`, :attr:`~Store.catalog`, :attr:`~Store.executions`,
:attr:`~Store.callbacks`, :attr:`~Store.activities`, :attr:`~Store.operations`,
:attr:`~Store.apikeys` (API keys, dashboard sessions, login tokens), :attr:`~Store.connections`,
:attr:`~Store.nested` (the nested executions a parent started).  The
workers build their own parts over a :class:`~statemachine.runtime.store.client.RedisStore`
(see :mod:`statemachine.runtime.worker`).
"""

from __future__ import annotations

from statemachine.runtime.archive import Bucket, parse_archive_url
from statemachine.runtime.settings import Settings
from statemachine.runtime.store.apikeys import ApiKeys
from statemachine.runtime.store.callbacks import Activities, Callbacks
from statemachine.runtime.store.catalog import Catalog
from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.connections import Connections
from statemachine.runtime.store.executions import Executions
from statemachine.runtime.store.keys import Shard
from statemachine.runtime.store.machines import Machines
from statemachine.runtime.store.map_runs import MapRuns
from statemachine.runtime.store.nested import NestedLinks
from statemachine.runtime.store.operations import Operations

__all__ = ["Store", "open_bucket"]


class Store:
    """Definitions, executions, callbacks, activities and operations over one Redis."""

    def __init__(self, core: RedisStore) -> None:
        self.core = core
        self.settings = core.settings
        self.bucket = open_bucket(core.settings)
        self.machines = Machines(core)
        self.catalog = Catalog(core)
        self.executions = Executions(core, self.bucket)
        self.callbacks = Callbacks(core)
        self.activities = Activities(core)
        self.operations = Operations(core)
        self.apikeys = ApiKeys(core)
        self.connections = Connections(core)
        self.nested = NestedLinks(core)
        self.map_runs = MapRuns(core)

    @classmethod
    async def connect(cls, settings: Settings, *, wait_s: float = 30.0) -> Store:
        return cls(await RedisStore.connect(settings, wait_s=wait_s))

    @property
    def shards(self) -> list[Shard]:
        return self.core.shards

    def shard(self, execution_id: str) -> Shard:
        return self.core.shard(execution_id)

    async def healthy(self) -> bool:
        """Redis answers PING within two seconds."""
        return await self.core.reachable(2.0)

    async def close(self) -> None:
        self.executions.close()
        if self.bucket is not None:
            await self.bucket.close()
        await self.core.close()


def open_bucket(settings: Settings) -> Bucket | None:
    """The archive bucket the settings name (not contacted yet), or None without one;
    ValueError for a malformed ``archive_url``."""
    if not settings.archive_url:
        return None
    # The region comes from the AWS chain like the credentials (AWS_REGION...), not from
    # the ARNs' region, which names where the service pretends to be.
    return Bucket(parse_archive_url(settings.archive_url), settings.archive_endpoint or None)
