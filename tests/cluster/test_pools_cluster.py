"""Worker pools on a real Redis Cluster: a worker of two queues reads both queues' streams
of each shard with one XREADGROUP per shard (one hash slot), promotes both queues' timers,
and takes the dispatches of a Task naming the other queue."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.runtime.test_pools import until, workflow


async def test_a_worker_of_two_queues_finishes_both_on_a_cluster(runtime: Any, serve_app: Any,
                                                                 redis: Any) -> None:
    async def work(request: web.Request) -> web.Response:
        return web.json_response({"ok": await request.json() is not None})

    tasks = web.Application()
    tasks.router.add_post("/work", work)
    async with serve_app(tasks) as base, runtime(worker=True,
                                                 queues=("default", "payments")) as rt:
        service = rt.service
        await service.define("ledger", workflow(base))
        await service.define("settle", workflow(base), queue="payments")
        await service.define("refund", workflow(base, task_queue="payments"))
        ids = [(await service.start(machine, {}))["executionId"]
               for machine in ("ledger", "settle", "refund") for _ in range(3)]

        async def done() -> bool:
            return [(await service.describe(x))["status"] for x in ids] == ["SUCCEEDED"] * 9
        await until(done, "finished on the cluster")
        settled = await service.describe(ids[3])
        assert settled["queue"] == "payments"
        assert settled["output"]["each"] == [{"ok": True}, {"ok": True}]
        stats = await service.stats()  # /metrics' figures, read over the cluster's nodes
        for queue in ("default", "payments"):
            assert stats["queue_workers_current"][(("queue", queue),)] == 1
            assert stats["queue_work_current"][(("queue", queue),)] == 0
        for shard in service.store.shards:  # every stream worked off, both queues
            for lane in (shard.lane(None), shard.lane("payments")):
                assert await redis.xlen(lane.ready) == 0
                assert await redis.xlen(lane.tasks) == 0
