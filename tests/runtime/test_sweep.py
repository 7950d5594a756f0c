"""The sweeper: listing-index entries of finished executions go once their records expire."""

from __future__ import annotations

import asyncio
from typing import Any

from statemachine.runtime.store import RedisStore

DONE = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
NAP = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}}


async def test_expired_executions_leave_the_listing_indexes(runtime: Any, redis: Any) -> None:
    # A worker keeps running for its sweeper; the executions' own work is drained.
    async with runtime(worker=True, retention_s=1, sweep_interval_ms=200) as rt:
        service, client = rt.service, redis
        await service.define("done", DONE)
        await service.define("nap", NAP)
        finished_ids = [(await service.start("done", {"i": i}))["executionId"] for i in range(3)]
        await rt.drain()
        for xid in finished_ids:
            assert (await service.describe(xid))["status"] == "SUCCEEDED"
        napping = (await service.start("nap", {}))["executionId"]
        listed = await service.list_executions()
        assert sorted(e["executionId"] for e in listed["executions"]) == sorted(finished_ids + [napping])

        shards = service.store.shards
        deadline = asyncio.get_running_loop().time() + 10
        while True:  # records expire after 1 s; the sweeper runs every 0.2 s
            pipe = client.pipeline(transaction=False)
            for shard in shards:
                pipe.zcard(shard.index_status("SUCCEEDED"))
                pipe.zcard(shard.index_machine("done"))
            if sum(await pipe.execute()) == 0:
                break
            assert asyncio.get_running_loop().time() < deadline, "index entries never swept"
            await asyncio.sleep(0.1)

        listed = await service.list_executions()
        assert [e["executionId"] for e in listed["executions"]] == [napping]
        shard = service.store.shard(napping)
        assert await client.zscore(shard.index_status("RUNNING"), napping) is not None
        assert await client.zscore(shard.index_machine("nap"), napping) is not None
        assert (await service.describe(napping))["status"] == "RUNNING"


async def test_a_sweep_pages_through_an_index_and_starts_over(settings: Any) -> None:
    """sweep.lua directly: a page per call from where the last one stopped, entries whose
    record exists kept, back to the oldest once the cutoff is reached."""
    store = await RedisStore.connect(settings())
    client, shard = store.client, store.shards[5]
    try:
        index = shard.index_status("SUCCEEDED")
        await client.zadd(index, {f"x{i}": 1000 + i for i in range(10)})
        await client.zadd(index, {"young": 10**13})
        await client.hset(shard.record("x3"), "r", "{}")  # still kept
        keys = [shard.sweep, index]
        args = [5000, 4, shard.record("")]
        assert await store.script("sweep", keys, args) == 3  # x0..x3 looked at: x3 kept
        assert await client.hget(shard.sweep, index) == b"1003"
        assert await store.script("sweep", keys, args) == 4  # x4..x7
        assert await store.script("sweep", keys, args) == 2  # x8, x9: the cutoff is reached
        assert await client.hexists(shard.sweep, index) == 0
        assert await client.zrange(index, 0, -1) == [b"x3", b"young"]
        await client.delete(shard.record("x3"))
        assert await store.script("sweep", keys, args) == 1  # started over: x3 now goes
        assert await client.zrange(index, 0, -1) == [b"young"]
    finally:
        await store.close()
