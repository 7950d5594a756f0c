"""A Map Run is found by its ARN's id through one key: its index on the shard the id picks,
written as the run starts and given the retention when it ends (against a real Redis)."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from statemachine.runtime.store.plan import RUN_INDEX_TTL_S

DEFINITION = {"StartAt": "M", "States": {"M": {
    "Type": "Map", "ItemsPath": "$.items", "End": True,
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                      "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}}


async def test_a_map_run_is_found_by_its_index_alone(runtime: Any) -> None:
    async with runtime() as rt:
        service = rt.service
        await service.define("indexed", DEFINITION)
        xid = (await service.start("indexed", {"items": [1, 2, 3]}))["executionId"]
        assert (await rt.finished(xid))["status"] == "SUCCEEDED"
        [run] = await service.map_runs.of_execution(xid)
        run_id = run["mapRunId"]
        store = service.store
        index = store.shard(run_id).map_run_arn(run_id)
        owner = store.shard(xid).map_run_arn(run_id)
        client = aioredis.Redis.from_url(rt.settings.redis_url)
        try:
            value = await client.get(index)
            assert isinstance(value, bytes) and value.decode().startswith(f"{xid} {xid}/r")
            ttl = await client.ttl(index)
            assert 0 < ttl <= rt.settings.retention_s < RUN_INDEX_TTL_S  # ended: retention
            if owner != index:  # the owner shard's copy is not what a lookup reads
                await client.delete(owner)
            described = await service.map_runs.describe(run_id)
            assert (described["mapRunArn"], described["status"]) == (run["mapRunArn"],
                                                                      "SUCCEEDED")
        finally:
            await client.aclose()
