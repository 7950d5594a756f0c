"""The schedulers' side of the timers: promoting due ones, hearing of earlier ones.

A shard's timers are a sorted set (timer id -> due ms); ``promote.lua`` moves the due ones
into the ready stream, so any number of schedulers may run side by side.  A commit that
sets a shard's earliest timer publishes its due time on :data:`~keys.TIMERS_CHANNEL`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.keys import TIMERS_CHANNEL
from statemachine.runtime.store.scripts import PromoteReply

__all__ = ["promote", "timer_wakeups"]


async def promote(store: RedisStore, now: int, limit: int,
                  late: Callable[[int], None] | None = None) -> list[tuple[int, int | None]]:
    """Promote the timers due at ``now`` on every shard, up to ``limit`` per shard: for each
    shard, (timers promoted, the next due time left, or None).  ``late`` is told each
    promoted timer's lateness (``now`` - its due, ms)."""
    results = await asyncio.gather(*(
        store.script("promote", [shard.timers, shard.timer_events, shard.ready], [now, limit],
                     confirmed=False)
        for shard in store.shards))
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
