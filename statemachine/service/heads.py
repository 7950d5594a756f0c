"""Machines' heads (latest version, type, queue: :class:`~statemachine.runtime.store.catalog.
Head`) as the starts read them: at most once per :data:`HEAD_TTL_S` and name, one read shared
by the starts that wait for it, so that a flood of starts stays on the start script's one
round trip.

A start needs the machine's type (an EXPRESS machine's start is flagged as such) and its
queue (the new record keeps it).  A type never changes while the machine exists; a queue
changed by this process is seen at once (:meth:`Heads.forget`), one changed by another API
process (a define, an AWS TagResource) at most a second late.
"""

from __future__ import annotations

import asyncio
import time

from statemachine.runtime.store.catalog import Catalog, Head

__all__ = ["HEAD_TTL_S", "Heads"]

HEAD_TTL_S = 1.0
"""How long a machine's head read for a start is reused."""
MAX_NAMES = 10_000
"""Names kept at most (all are dropped past it: a name's next start reads again)."""


class Heads:
    """The heads of the machines this process starts executions of."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._cached: dict[str, tuple[float, Head]] = {}
        self._reading: dict[str, asyncio.Future[Head]] = {}

    async def of(self, name: str) -> Head:
        """Machine ``name``'s head, read at most once per :data:`HEAD_TTL_S`."""
        cached = self._cached.get(name)
        if cached is not None and time.monotonic() - cached[0] < HEAD_TTL_S:
            return cached[1]
        reading = self._reading.get(name)
        if reading is None:
            reading = self._reading[name] = asyncio.ensure_future(self._read(name))
            reading.add_done_callback(lambda _: self._reading.pop(name, None))
        return await asyncio.shield(reading)

    def forget(self, name: str) -> None:
        """Read ``name``'s head afresh next time (this process changed it)."""
        self._cached.pop(name, None)

    async def _read(self, name: str) -> Head:
        head = await self._catalog.head(name)
        if head.latest is None:  # no such machine: not kept, its create is seen at once
            return head
        if len(self._cached) >= MAX_NAMES:
            self._cached.clear()
        self._cached[name] = (time.monotonic(), head)
        return head
