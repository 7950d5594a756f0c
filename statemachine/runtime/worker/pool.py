"""The worker's place in its pools: its queues announced while it runs, withdrawn when it stops.

``sm:pool:<queue>`` (:mod:`statemachine.runtime.store.pools`) counts the live workers of
each queue for ``/metrics`` and describe: a queue whose work waits with no worker shows as
such.  The announcement is renewed every :data:`~statemachine.runtime.store.pools.ANNOUNCE_S`
and holds :data:`~statemachine.runtime.store.pools.HOLD_S`, so a worker killed with
SIGKILL stops counting soon after.
"""

from __future__ import annotations

import asyncio
import contextlib

from statemachine.runtime.settings import Settings
from statemachine.runtime.store import RedisStore
from statemachine.runtime.store.pools import ANNOUNCE_S, announce, retire
from statemachine.runtime.worker.loops import Guard

__all__ = ["PoolMembership"]

LEAVE_WAIT_S = 1.0


class PoolMembership:
    """Announces one worker process among the workers of its queues."""

    def __init__(self, store: RedisStore, settings: Settings, consumer: str, guard: Guard) -> None:
        self._store = store
        self._queues = settings.queues
        self._consumer = consumer
        self._guard = guard

    async def join(self) -> bool:
        """Announce now (before the first read: a scrape then sees the worker at once)."""
        return await self._guard.round("announcing the worker's queues",
                                       lambda: announce(self._store, self._consumer, self._queues))

    async def run(self) -> None:
        """Renew the announcement until cancelled."""
        while True:
            await asyncio.sleep(ANNOUNCE_S)
            await self.join()

    async def leave(self) -> None:
        """Withdraw the announcement (best effort: else it lapses by itself)."""
        with contextlib.suppress(Exception):  # Redis away while stopping: the entry lapses
            await asyncio.wait_for(retire(self._store, self._consumer, self._queues), LEAVE_WAIT_S)
