"""Where the API listens, recorded for the workers' egress policy (``sm:listeners``).

``cli.py serve`` records each ``host:port`` it listens on, with an expiry it renews while it
runs (and drops on a clean shutdown); every worker — in ``serve`` or a standalone ``cli.py
worker`` — reads the live ones, so that task requests cannot reach the API (and loopback is
closed when the API listens elsewhere).  An entry left by a crashed ``serve`` lapses.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.keys import LISTENERS

__all__ = ["announce", "listeners", "withdraw"]

WAIT_S = 5.0


def _ms() -> int:
    return int(time.time() * 1000)


async def announce(store: RedisStore, endpoints: Sequence[str], ttl_s: float) -> None:
    """Record ``endpoints`` (``host:port``) as live for ``ttl_s`` from now."""
    if not endpoints:
        return
    until = _ms() + int(ttl_s * 1000)
    mapping = dict.fromkeys(endpoints, until)
    await store.retry(lambda: store.client.hset(LISTENERS, mapping=mapping), give_up_s=WAIT_S)


async def withdraw(store: RedisStore, endpoints: Sequence[str]) -> None:
    if endpoints:
        await store.retry(lambda: store.client.hdel(LISTENERS, *endpoints), give_up_s=WAIT_S)


async def listeners(store: RedisStore) -> tuple[str, ...]:
    """The live ``host:port``s the API listens on, sorted."""
    raw = await store.retry(lambda: store.client.hgetall(LISTENERS), give_up_s=WAIT_S)
    now = _ms()
    return tuple(sorted(k.decode() for k, v in raw.items() if int(v) > now))
