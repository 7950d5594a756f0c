"""Time skipping for a test service (``serve --time-skipping``): when no work is in flight,
the virtual clock jumps to the next due timer.

No work is in flight when, on every shard, the ready and tasks streams are empty (an entry
stays in its stream until it is acknowledged: that covers the work items being handled
and the tasks being performed by the workers) and no running execution waits for a task's
result.  A task awaiting a callback (``.waitForTaskToken``) or an activity worker counts
as in flight, like a task being performed: the clock then waits in real time for the
answer, or for the task's own TimeoutSeconds/HeartbeatSeconds to pass in real time.
A real HTTP task in flight likewise holds the clock.

Then the skipper stores the new offset (``sm:clock``, so a restart resumes it), moves the
clock (:func:`statemachine.runtime.clock.go_virtual`) and promotes the timers now due itself
(promoting is safe beside the workers' schedulers), so the work they start is picked up at
once.  It looks at Redis every few tens of milliseconds while things move and backs off to
:data:`MAX_PAUSE_S` while nothing changes; it runs only in a time-skipping ``serve``.

Races are harmless: a start arriving while the skipper jumps may take its first step after
the jump (it reads as started just before it), and an execution whose dispatch went to the
dead letters holds the clock until it is requeued or stopped.
"""

from __future__ import annotations

import asyncio
import logging

from statemachine.runtime import clock
from statemachine.runtime.store import UNAVAILABLE, RedisStore, backlog
from statemachine.runtime.store.timers import promote
from statemachine.runtime.store.virtual_clock import awaited_tasks, save_offset

__all__ = ["TimeSkipper"]

MIN_PAUSE_S = 0.02
MAX_PAUSE_S = 0.5
"""The skipper's pause between two looks: doubled from the first to this while nothing
can be skipped, back to the first after a skip."""
PROMOTE_BATCH = 500

log = logging.getLogger(__name__)


class TimeSkipper:
    """Jumps the process's virtual clock to the next timer whenever the service is idle."""

    def __init__(self, store: RedisStore) -> None:
        assert clock.virtual(), "the clock must be virtual before it can skip"
        self._store = store
        self.skips = 0

    async def run(self) -> None:
        """Look, skip when idle, pause; until cancelled."""
        pause = MIN_PAUSE_S
        while True:
            try:
                skipped = await self.skip_once()
            except UNAVAILABLE as exc:  # Redis away: the workers wait it out, and so do we
                log.warning("time skipping paused: %s", exc)
                skipped = False
            pause = MIN_PAUSE_S if skipped else min(pause * 2, MAX_PAUSE_S)
            await asyncio.sleep(pause)

    async def skip_once(self) -> bool:
        """Skip to the next timer if no work is in flight; whether the clock moved."""
        before = await backlog(self._store)
        if before.entries or before.next_timer is None:
            return False
        if before.next_timer > clock.now_ms() and await awaited_tasks(self._store):
            return False
        after = await backlog(self._store)  # nothing began while we looked at the records
        if after != before:
            return False
        due = after.next_timer
        moved = due is not None and due > clock.now_ms()
        if due is not None and moved:
            offset = clock.offset_ms() + (due - clock.now_ms())
            await save_offset(self._store, offset)  # first: a restart never goes back
            clock.go_virtual(offset)
            self.skips += 1
            log.info("time skipping: the clock jumped to %d (%+d ms from wall time)",
                     due, offset)
        await promote(self._store, clock.now_ms(), PROMOTE_BATCH)
        return moved
