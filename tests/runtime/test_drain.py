"""Drain mode: a worker that returns by itself once no work is left (like arq's burst)."""

from __future__ import annotations

from typing import Any

from statemachine.runtime.worker import Worker

NAP = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}}
BLINK = {"StartAt": "Blink", "States": {"Blink": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
                                        "Done": {"Type": "Pass", "End": True}}}


async def test_a_draining_worker_waits_for_soon_timers_and_leaves_later_ones(runtime: Any,
                                                                             redis: Any) -> None:
    async with runtime() as rt:
        service = rt.service
        await service.define("nap", NAP)
        await service.define("blink", BLINK)
        napping = (await service.start("nap", {}))["executionId"]
        blinking = (await service.start("blink", {}))["executionId"]
        worker = await rt.drain()
        assert (await service.describe(blinking))["status"] == "SUCCEEDED"
        assert (await service.describe(napping))["status"] == "RUNNING"
        assert worker.transitions >= 3
        shard = service.store.shard(napping)
        assert await redis.zcard(shard.timers) == 1
        for shard in service.store.shards:
            assert await redis.xlen(shard.ready) == 0 and await redis.xlen(shard.tasks) == 0


async def test_a_draining_worker_with_nothing_to_do_returns_at_once(settings: Any) -> None:
    conf = settings()
    worker = Worker(conf.redis_url, conf, 2)
    await worker.run(drain=True)
    assert worker.transitions == 0
