"""The schedulers' side of the timers: promoting due ones, hearing of earlier ones.

A lane's timers (a queue's on a shard: :class:`~.keys.Lane`) are a sorted set (timer id ->
due ms); ``promote.lua`` moves the due ones into the lane's ready stream, so any number of
schedulers may run side by side.  A commit that sets a lane's earliest timer publishes its
due time on :data:`~keys.TIMERS_CHANNEL` (whatever the queue: a scheduler of other queues
wakes for nothing, once).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable

from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.keys import TIMERS_CHANNEL
from statemachine.runtime.store.scripts import PromoteReply

__all__ = ["promote", "timer_wakeups"]


async def promote(store: RedisStore, now: int, limit: int,
                  lanes: Iterable[str | None] | None = None,
                  late: Callable[[int], None] | None = None) -> list[tuple[int, int | None]]:
    """Promote the timers due at ``now`` of the queues ``lanes`` (default:
    ``Settings.lanes``) on every shard, up to ``limit`` per lane: for each lane, (timers
    promoted, the next due time left, or None).  ``late`` is told each promoted timer's
    lateness (``now`` - its due, ms)."""
    queues = tuple(store.settings.lanes if lanes is None else lanes)
    results = await asyncio.gather(*(
        store.script("promote", [lane.timers, lane.timer_events, lane.ready], [now, limit],
                     confirmed=False)
        for lane in (shard.lane(queue) for shard in store.shards for queue in queues)))
    if late is not None:
        for _, _, *lateness in results:
            for ms in lateness:
                late(int(ms))
    return [(int(promoted), None if int(nxt) == PromoteReply.NO_TIMER else int(nxt))
            for promoted, nxt, *_ in results]


async def timer_wakeups(store: RedisStore) -> AsyncIterator[int | None]:
    """The due times commits publish, from now on: None first, once subscribed (a timer may
    have been set while nobody listened), then each due time.  Ends by raising when the
    connection is lost: subscribe again."""
    pubsub = store.client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(TIMERS_CHANNEL)
        yield None
        async for message in pubsub.listen():
            yield int(message["data"])
    finally:
        await pubsub.aclose()
