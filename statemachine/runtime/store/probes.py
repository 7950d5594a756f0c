"""What ``cli.py bench`` measures of Redis itself, through the gateway like everything else.

:class:`Probe` holds a client configured like the store's own and answers the benchmark's
questions: how many sequential script round trips Redis serves per second (the ceiling of
one durable commit per transition), how much memory it uses, how many commands it has
processed, how many clients block on the workers' streams, and the sizes of one sorted set
per shard.  It also empties the database before a workload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import redis.asyncio as aioredis

# A small HSET + XADD + ZADD script: what one commit of a transition writes, roughly.
RTT_SCRIPT = """
redis.call('HSET', KEYS[1], 'v', ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000', '*', 'e', ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[1], 'timer')
return 1
"""
RTT_KEYS = ("bench:{rtt}:record", "bench:{rtt}:history", "bench:{rtt}:timers")


class Probe:
    """One client to a Redis under measurement; :meth:`close` it."""

    def __init__(self, url: str) -> None:
        self._client: Any = aioredis.Redis.from_url(url, decode_responses=False,
                                                    socket_keepalive=True)

    async def close(self) -> None:
        await self._client.aclose()

    async def flush(self) -> None:
        """Empty the database (the benchmark's own Redis, or one it was told to use)."""
        await self._client.flushdb()

    async def rtt_rate(self, seconds: float = 2.0) -> float:
        """Sequential EVALSHA round trips per second of :data:`RTT_SCRIPT`."""
        client = self._client
        sha = await client.script_load(RTT_SCRIPT)
        loop = asyncio.get_running_loop()
        count, started = 0, loop.time()
        deadline = started + seconds
        while True:
            for _ in range(50):
                await client.evalsha(sha, len(RTT_KEYS), *RTT_KEYS, count)
                count += 1
            if loop.time() >= deadline:
                break
        elapsed = loop.time() - started
        await client.delete(*RTT_KEYS)
        return round(count / elapsed, 1)

    async def _info(self, section: str, field: str) -> int:
        info = await self._client.info(section)
        return int(info[field])

    async def used_memory(self) -> int:
        return await self._info("memory", "used_memory")

    async def commands_processed(self) -> int:
        return await self._info("stats", "total_commands_processed")

    async def blocked_clients(self) -> int:
        return await self._info("clients", "blocked_clients")

    async def zcard_total(self, shards: Iterable[Any], key_of: Callable[[Any], str]) -> int:
        """The sizes of one sorted set per shard (``key_of(shard)``), summed (one pipeline)."""
        pipe = self._client.pipeline(transaction=False)
        for shard in shards:
            pipe.zcard(key_of(shard))
        return sum(await pipe.execute())
