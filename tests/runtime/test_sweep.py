"""The sweeper: listing-index entries of finished executions go once their records expire."""

from __future__ import annotations

import asyncio

from tests.runtime import finished, service_and_worker

DONE = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
NAP = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}}


async def test_expired_executions_leave_the_listing_indexes(redis_url: str) -> None:
    async with service_and_worker(redis_url, retention_s=1, sweep_interval_ms=200) as (service, _):
        client = service.client
        await service.define("done", DONE)
        await service.define("nap", NAP)
        finished_ids = [(await service.start("done", {"i": i}))["executionId"] for i in range(3)]
        for xid in finished_ids:
            assert (await finished(service, xid))["status"] == "SUCCEEDED"
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
