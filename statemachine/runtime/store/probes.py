"""What ``cli.py bench`` measures of Redis itself, through the gateway like everything else.

:class:`Probe` holds a client configured like the store's own and answers the benchmark's
questions: how many sequential script round trips Redis serves per second (the ceiling of
one durable commit per transition), how much memory it uses, how many commands it has
processed, how many clients block on the workers' streams, and the sizes of one sorted set
per shard.  It also empties the database before a workload.  :meth:`Probe.snapshot` takes
the counters the ``costs`` workload subtracts (commands by name, their CPU, network bytes,
memory) in one ``INFO`` call, and :meth:`Probe.memory_usage` sizes one key.

On a Redis Cluster (detected as the store does, :func:`~.client.cluster_mode`) it asks
every master: memory, commands, blocked clients and the snapshot's counters are their sums,
the flush empties them all; the round trips are one shard's master's (the script's keys
share a slot).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from statemachine.runtime.store.client import cluster_mode

# A small HSET + XADD + ZADD script: what one commit of a transition writes, roughly.
RTT_SCRIPT = """
redis.call('HSET', KEYS[1], 'v', ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000', '*', 'e', ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[1], 'timer')
return 1
"""
RTT_KEYS = ("bench:{rtt}:record", "bench:{rtt}:history", "bench:{rtt}:timers")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Redis's cumulative counters at one moment (``INFO``): calls and CPU µs by command
    (lower case, ``evalsha``, ``xreadgroup``, ...; a script's µs include the commands it
    calls, which are counted under their own names too), network bytes in and out, the
    memory the data uses (``used_memory_dataset``: without client buffers and other
    overhead, which come and go with connections), and the server's own CPU seconds (user +
    system, every thread)."""

    calls: dict[str, int] = field(default_factory=dict)
    usec: dict[str, int] = field(default_factory=dict)
    net_in: int = 0
    net_out: int = 0
    dataset_memory: int = 0
    cpu_s: float = 0.0


INFO_SECTIONS = ("commandstats", "stats", "memory", "cpu")


class Probe:
    """One client to a Redis (or a Redis Cluster) under measurement; :meth:`close` it."""

    def __init__(self, url: str, *, cluster: bool = False) -> None:
        self.cluster = cluster
        kind = aioredis.RedisCluster if cluster else aioredis.Redis
        self._client: Any = kind.from_url(url, decode_responses=False, socket_keepalive=True)

    @classmethod
    async def open(cls, url: str) -> Probe:
        """A probe of the Redis at ``url``, or of the whole cluster that node belongs to."""
        return cls(url, cluster=await cluster_mode(url))

    async def close(self) -> None:
        await self._client.aclose()

    async def flush(self) -> None:
        """Empty the database (the benchmark's own Redis, or one it was told to use; on a
        cluster, every master's)."""
        if self.cluster:
            await self._client.flushdb(target_nodes=aioredis.RedisCluster.PRIMARIES)
        else:
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
        """``field`` of INFO ``section`` (on a cluster, summed over the masters)."""
        if not self.cluster:
            return int((await self._client.info(section))[field])
        by_node = await self._client.info(section, target_nodes=aioredis.RedisCluster.PRIMARIES)
        return sum(int(info[field]) for info in by_node.values())

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

    async def snapshot(self) -> Snapshot:
        """:class:`Snapshot` of the counters, one ``INFO`` (it counts as one ``info`` call;
        on a cluster one per master, summed)."""
        if not self.cluster:
            return _snapshot([await self._client.execute_command("INFO", *INFO_SECTIONS)])
        by_node = await self._client.execute_command(
            "INFO", *INFO_SECTIONS, target_nodes=aioredis.RedisCluster.PRIMARIES)
        return _snapshot(list(by_node.values()))

    async def memory_usage(self, key: str) -> int:
        """``MEMORY USAGE key SAMPLES 0`` (every element counted): 0 for a missing key."""
        size = await self._client.execute_command("MEMORY", "USAGE", key, "SAMPLES", "0")
        return int(size or 0)


def _snapshot(infos: list[dict[str, Any]]) -> Snapshot:
    """One :class:`Snapshot` of the ``INFO`` replies of one or more nodes (summed)."""
    calls: dict[str, int] = {}
    usec: dict[str, int] = {}
    net_in = net_out = memory = 0
    cpu = 0.0
    for info in infos:
        for name, value in info.items():
            if name.startswith("cmdstat_") and isinstance(value, dict):
                command = name[len("cmdstat_"):].lower()
                calls[command] = calls.get(command, 0) + int(value.get("calls", 0))
                usec[command] = usec.get(command, 0) + int(value.get("usec", 0))
        net_in += int(info["total_net_input_bytes"])
        net_out += int(info["total_net_output_bytes"])
        memory += int(info["used_memory_dataset"])
        cpu += float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return Snapshot(calls, usec, net_in, net_out, memory, cpu)
