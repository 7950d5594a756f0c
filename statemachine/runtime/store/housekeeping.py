"""The workers' upkeep: sweeping the listing indexes and adding up their counters."""

from __future__ import annotations

from collections.abc import Mapping

from statemachine.interpreter.records import TERMINAL
from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.keys import MACHINES, STATS

__all__ = ["flush_stats", "sweep"]

FINAL_STATUSES = tuple(sorted(TERMINAL))  # the status indexes the sweeper pages through


async def sweep(store: RedisStore, cutoff: int, batch: int) -> int:
    """Drop from the listing indexes (final statuses, every state machine's) the finished
    executions started before ``cutoff`` (ms) whose records have expired, a page of up to
    ``batch`` entries of each index per call (``sweep.lua``, shard by shard)."""
    machines = sorted(name.decode() for name in await store.client.hkeys(MACHINES))
    removed = 0
    for shard in store.shards:
        keys = [shard.sweep] + [shard.index_status(status) for status in FINAL_STATUSES]
        keys += [shard.index_machine(name) for name in machines]
        removed += int(await store.script("sweep", keys, [cutoff, batch, shard.record("")],
                                          confirmed=False))
    return removed


async def flush_stats(store: RedisStore, counts: Mapping[str, int]) -> None:
    """Add ``counts`` to ``sm:stats`` (every worker's counters summed) in one MULTI."""
    if not counts:
        return
    pipe = store.client.pipeline(transaction=True)
    for name, amount in counts.items():
        pipe.hincrby(STATS, name, amount)
    await pipe.execute()
