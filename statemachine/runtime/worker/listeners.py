"""Keeping the egress policy told where the API listens.

The API may run in another process than this worker (``cli.py worker``), started before or
after it: ``serve`` records its listeners in Redis (``sm:listeners``, renewed while it
runs), and this loop reads them when the worker starts and every ``REFRESH_S`` after, so
task requests can reach neither the API nor, once it listens beyond loopback, loopback.
Listeners given in the settings (``serve`` hands its in-process worker its own) are kept.
"""

from __future__ import annotations

import asyncio

from statemachine.runtime.invokers import Invokers
from statemachine.runtime.store import RedisStore, api_listeners
from statemachine.runtime.worker.loops import Guard

__all__ = ["REFRESH_S", "ListenerWatch"]

REFRESH_S = 15.0


class ListenerWatch:
    """Reads the API's listeners into the invokers' egress policy, now and then."""

    def __init__(self, store: RedisStore, invokers: Invokers, guard: Guard) -> None:
        self._store = store
        self._invokers = invokers
        self._guard = guard
        self._configured = invokers.settings.api_endpoints

    async def refresh(self) -> bool:
        """One read; False when Redis could not be read (the policy stays as it was)."""
        async def read() -> None:
            found = await api_listeners(self._store)
            self._invokers.protect(tuple(sorted({*self._configured, *found})))
        return await self._guard.round("reading the API's listeners", read)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            await self.refresh()
