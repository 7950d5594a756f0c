"""The scheduler: due timers moved into the ready streams, and nothing sleeping in between.

It promotes the due timers of every shard (``promote.lua``), observing each one's lateness
(due → fired), and sleeps until the next due time.  A commit that sets a shard's earliest
timer publishes its due time on ``sm:timers``; the scheduler listens and wakes earlier when
it must, and this worker's own transitions wake it directly (:meth:`Scheduler.wake`).
``timer_max_sleep_ms`` bounds the sleep only as a safety net for a lost message: a Wait of
three days costs nothing meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib

from statemachine.runtime.clock import now_ms
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import RedisStore
from statemachine.runtime.store.timers import promote, timer_wakeups
from statemachine.runtime.timings import TIMER_LATENESS, Timings
from statemachine.runtime.worker.loops import Guard

__all__ = ["Scheduler"]

WAKEUP_RETRY_S = 0.5
"""Pause before listening again after the wake-up subscription was lost."""


class Scheduler:
    """Promotes due timers; :meth:`wake` makes it look again at once."""

    def __init__(self, store: RedisStore, settings: Settings, guard: Guard,
                 timings: Timings) -> None:
        """``timings``: where each timer's lateness (due → fired) is observed."""
        self._store = store
        self._settings = settings
        self._guard = guard
        self._timings = timings
        self._wake = asyncio.Event()
        self._next_due: int | None = None

    def wake(self) -> None:
        """A timer was set that may be due before the scheduler wakes up."""
        self._wake.set()

    async def run(self) -> None:
        """Promote and listen until cancelled."""
        listener = asyncio.create_task(self._listen())
        try:
            await self._promoter()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _promoter(self) -> None:
        s = self._settings
        max_sleep = s.timer_max_sleep_ms / 1000
        delay = max_sleep
        results: list[tuple[int, int | None]] = []
        now = 0

        def late(ms: int) -> None:
            self._timings.observe(TIMER_LATENESS, ms / 1000)

        async def promote_due() -> None:
            results[:] = await promote(self._store, now, s.timer_batch, late=late)

        while True:
            now = now_ms()
            self._wake.clear()
            if await self._guard.round("promoting timers", promote_due):
                if any(promoted >= s.timer_batch for promoted, _ in results):
                    continue  # more are due: promote the next batch at once
                dues = [due for _, due in results if due is not None]
                self._next_due = min(dues) if dues else None
                delay = max_sleep if not dues else min(max_sleep, max(0.0, (min(dues) - now) / 1000))
            else:
                delay = max_sleep
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(delay, 0.002))

    async def _listen(self) -> None:
        """Wake the promoter when another process sets a timer earlier than it sleeps to."""
        async def listen_once() -> None:
            async for due in timer_wakeups(self._store):
                if due is None:  # (re)subscribed: a timer may have been set meanwhile
                    self._wake.set()
                elif self._next_due is None or due < self._next_due:
                    self._next_due = due
                    self._wake.set()

        while True:
            if not await self._guard.round("listening for timer wake-ups", listen_once):
                await asyncio.sleep(WAKEUP_RETRY_S)
