"""Worker pools: which workers take each queue's work, and how much work each queue holds.

A worker announces the queues it takes (``sm:pool:<queue>``: its consumer name -> until
when the announcement holds, renewed every :data:`ANNOUNCE_S`, removed when it stops; one
that died lapses after :data:`HOLD_S`).  Queues other than the default one are listed in
``sm:queues`` by whoever names them first: a define (the machine's queue, its Tasks'
``x-queue``), a tag, a worker.  :func:`figures` reads, for every queue, the work waiting in
its lanes and the live workers, so a queue with work and no worker shows on ``/metrics``
as such, not as a silent stall.  One pipeline per scrape: a few commands per queue and
shard, nothing on any hot path.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from statemachine.language.queues import DEFAULT_QUEUE
from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.keys import QUEUES, pool

__all__ = ["ANNOUNCE_S", "HOLD_S", "QueueFigures", "announce", "figures", "known_queues",
           "live_workers", "register", "retire"]

ANNOUNCE_S = 5.0
"""How often a worker renews its announcement."""
HOLD_S = 15.0
"""How long an announcement holds: a worker silent this long counts as gone."""
WAIT_S = 5.0
SCRAPE_WAIT_S = 2.0
"""How long a scrape waits for Redis (as the other gauges of /metrics)."""


def _wall_ms() -> int:
    """Wall time, not the virtual clock: announcements are about processes being alive."""
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """One queue now: ``work``, its stream entries (work items and task dispatches waiting
    or being handled) plus its timers due but not yet promoted (no scheduler of the queue
    runs: nothing promotes them), and ``workers``, its live workers."""

    queue: str
    work: int
    workers: int


async def register(store: RedisStore, queues: Iterable[str]) -> None:
    """List ``queues`` (the default one needs no listing) among the known queues."""
    named = sorted({q for q in queues if q != DEFAULT_QUEUE})
    if named:
        await store.retry(lambda: store.client.sadd(QUEUES, *named), give_up_s=WAIT_S)


async def announce(store: RedisStore, consumer: str, queues: Iterable[str]) -> None:
    """``consumer`` takes the work of ``queues`` for :data:`HOLD_S` from now."""
    until = _wall_ms() + int(HOLD_S * 1000)
    names = list(dict.fromkeys(queues))
    pipe = store.client.pipeline(transaction=False)
    for queue in names:
        pipe.zadd(pool(queue), {consumer: until})
    named = [q for q in names if q != DEFAULT_QUEUE]
    if named:
        pipe.sadd(QUEUES, *named)
    await pipe.execute()


async def retire(store: RedisStore, consumer: str, queues: Iterable[str]) -> None:
    """``consumer`` stopped: it no longer counts among the workers of ``queues``."""
    pipe = store.client.pipeline(transaction=False)
    for queue in dict.fromkeys(queues):
        pipe.zrem(pool(queue), consumer)
    await pipe.execute()


async def live_workers(store: RedisStore, queue: str) -> int:
    """How many workers take ``queue``'s work now."""
    return int(await store.retry(lambda: store.client.zcount(pool(queue), _wall_ms(), "+inf"),
                                 give_up_s=WAIT_S))


async def known_queues(store: RedisStore) -> list[str]:
    """Every known queue: the default one first, then the others by name (one SMEMBERS)."""
    named = await store.client.smembers(QUEUES)
    return [DEFAULT_QUEUE, *sorted(q.decode() for q in named)]


async def figures(store: RedisStore, now: int) -> list[QueueFigures]:
    """Every known queue's :class:`QueueFigures` (the default queue first, then by name);
    ``now``: the service's clock (virtual under time skipping), for the timers due."""
    queues = await store.retry(lambda: known_queues(store), give_up_s=SCRAPE_WAIT_S)
    wall = _wall_ms()

    async def read() -> list[Any]:
        pipe = store.client.pipeline(transaction=False)
        for queue in queues:
            pipe.zcount(pool(queue), wall, "+inf")
            for lane in (shard.lane(queue) for shard in store.shards):
                pipe.xlen(lane.ready)
                pipe.xlen(lane.tasks)
                pipe.zcount(lane.timers, "-inf", now)
        return await pipe.execute()  # type: ignore[no-any-return]

    replies = await store.retry(read, give_up_s=SCRAPE_WAIT_S)
    width = 1 + 3 * len(store.shards)
    return [QueueFigures(queue, sum(replies[n * width + 1:(n + 1) * width]), replies[n * width])
            for n, queue in enumerate(queues)]
