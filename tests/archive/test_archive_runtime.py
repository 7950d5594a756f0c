"""Archiving on the durable runtime: a real redis-server, moto's S3 server, the service and
the workers' archiver in process.  What an archived execution shows (describe, history,
listing) is what it showed before; Redis keeps a stub; retention deletes the object; an
S3 outage loses nothing; a redrive restores it first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from statemachine.api.problems import store_trouble
from statemachine.runtime.store import RedisStore
from statemachine.runtime.store.archiving import StoreArchiveError
from statemachine.runtime.store.gateway import open_bucket
from statemachine.runtime.worker.archiver import Archiver
from statemachine.runtime.worker.loops import Guard, Stats
from tests.archive.conftest import s3_client
from tests.conftest import free_port

MACHINE = {"StartAt": "Shape", "States": {
    "Shape": {"Type": "Pass", "Parameters": {"z.$": "$.z", "a.$": "$.a", "n": 1.5},
              "Next": "Decide"},
    "Decide": {"Type": "Choice", "Choices": [
        {"Variable": "$.a", "NumericEquals": 0, "Next": "Broken"}], "Default": "Done"},
    "Broken": {"Type": "Fail", "Error": "Oops", "Cause": "a was 0"},
    "Done": {"Type": "Succeed"}}}


async def everything(service: Any, execution_id: str) -> dict[str, Any]:
    """What a reader sees of an execution: its description, its history forward in pages
    of 2 and backward in pages of 3."""
    forward: list[Any] = []
    cursor = None
    while True:
        page = await service.history(execution_id, limit=2, cursor=cursor)
        forward.append(page)
        if (cursor := page["nextCursor"]) is None:
            break
    backward: list[Any] = []
    cursor = None
    while True:
        page = await service.history(execution_id, limit=3, cursor=cursor, reverse=True)
        backward.append(page)
        if (cursor := page["nextCursor"]) is None:
            break
    described = await service.describe(execution_id)
    described.pop("redriveStatusReason", None)  # says how long is left: depends on now
    return {"describe": described, "forward": forward, "backward": backward}


async def listing(service: Any, **kwargs: Any) -> list[Any]:
    pages, cursor = [], None
    while True:
        page = await service.list_executions(limit=2, cursor=cursor, **kwargs)
        pages.append(page)
        if (cursor := page["nextCursor"]) is None:
            return pages


@asynccontextmanager
async def archiver(conf: Any) -> AsyncIterator[tuple[Archiver, Stats]]:
    """The workers' archiver over its own connection, rounds run by the test."""
    store = await RedisStore.connect(conf)
    stats = Stats()
    bucket = open_bucket(conf)
    assert bucket is not None
    try:
        yield Archiver(store, conf, bucket, stats, Guard(store, stats)), stats
    finally:
        await bucket.close()
        await store.close()


def archive_settings(moto_url: str, bucket: str, **extra: Any) -> dict[str, Any]:
    return {"archive_url": f"s3://{bucket}/runs", "archive_endpoint": moto_url,
            "archive_after_s": 0, **extra}


async def test_archived_executions_read_as_before_and_leave_a_stub(
        runtime: Any, redis: Any, moto_url: str, bucket: str) -> None:
    async with runtime(**archive_settings(moto_url, bucket)) as rt:
        await rt.service.define("shapes", MACHINE)
        ids = [(await rt.service.start("shapes", {"a": a, "z": "last", "b": [1, {"y": 2, "x": 3}]},
                                       name=f"run-{a}"))["executionId"] for a in range(4)]
        await rt.drain()
        before = {x: await everything(rt.service, x) for x in ids}
        listed_before = await listing(rt.service)
        failed_before = await listing(rt.service, status="FAILED")
        shard = rt.service.store.shard(ids[1])
        full = await redis.memory_usage(shard.record(ids[1])) + await redis.memory_usage(
            shard.history(ids[1]))
        ttl = await redis.pttl(shard.record(ids[1]))

        async with archiver(rt.settings) as (part, stats):
            assert await part.round() == 4
            assert await part.round() == 0  # nothing left to archive
        assert stats.counts["archived"] == 4

        record = await redis.hgetall(shard.record(ids[1]))
        assert set(record) == {b"l", b"rev", b"status"}
        assert not await redis.exists(shard.history(ids[1]))
        assert 0 < await redis.pttl(shard.record(ids[1])) <= ttl
        stub = await redis.memory_usage(shard.record(ids[1]))
        assert stub < full / 2, (stub, full)

        keys = [o["Key"] for o in s3_client(moto_url).list_objects_v2(
            Bucket=bucket, Prefix="runs/")["Contents"]]
        assert len(keys) == 4 and all(k.endswith(".json.gz") for k in keys)

        for x in ids:
            assert await everything(rt.service, x) == before[x]
        assert await listing(rt.service) == listed_before
        assert await listing(rt.service, status="FAILED") == failed_before
        assert await rt.service.find_execution("shapes", "run-2") == ids[2]


async def test_a_redrive_restores_an_archived_execution_first(
        runtime: Any, redis: Any, moto_url: str, bucket: str) -> None:
    async with runtime(**archive_settings(moto_url, bucket)) as rt:
        await rt.service.define("shapes", MACHINE)
        xid = (await rt.service.start("shapes", {"a": 0, "z": 1}))["executionId"]
        await rt.drain()
        before = await everything(rt.service, xid)
        assert before["describe"]["status"] == "FAILED"
        async with archiver(rt.settings) as (part, _):
            assert await part.round() == 1
        shard = rt.service.store.shard(xid)
        assert await redis.hexists(shard.record(xid), "l")

        redriven = await rt.service.redrive(xid)
        assert redriven["redriveCount"] == 1
        assert await redis.llen(shard.history(xid)) == len(
            [e for page in before["forward"] for e in page["events"]])
        await rt.drain()
        after = await rt.service.describe(xid)
        assert after["status"] == "FAILED" and after["redriveCount"] == 1
        events = await rt.events(xid)
        assert [e["type"] for e in events][-2:] == ["FailStateEntered", "ExecutionFailed"]
        assert "ExecutionRedriven" in [e["type"] for e in events]
        # Ended anew: archived again, with its redrive.
        again = await everything(rt.service, xid)
        redriven_listing = await listing(rt.service, redrive_filter="REDRIVEN")
        assert [e["executionId"] for p in redriven_listing for e in p["executions"]] == [xid]
        async with archiver(rt.settings) as (part, _):
            assert await part.round() == 1
        assert await redis.hexists(shard.record(xid), "l")
        assert await everything(rt.service, xid) == again
        assert await listing(rt.service, redrive_filter="REDRIVEN") == redriven_listing
        assert await listing(rt.service, redrive_filter="NOT_REDRIVEN") == [
            {"executions": [], "nextCursor": None}]


async def test_retention_deletes_the_archived_object(
        runtime: Any, redis: Any, moto_url: str, bucket: str) -> None:
    async with runtime(**archive_settings(moto_url, bucket, retention_s=1)) as rt:
        await rt.service.define("shapes", MACHINE)
        xid = (await rt.service.start("shapes", {"a": 1, "z": 1}))["executionId"]
        await rt.drain()
        async with archiver(rt.settings) as (part, stats):
            # Archived by this round, or already by the drained worker's own archiver (it
            # runs one too: on a loaded machine it can get there first).
            await part.round()
            s3 = s3_client(moto_url)
            assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 1
            shard = rt.service.store.shard(xid)
            while await redis.exists(shard.record(xid)):  # the stub expires with retention
                await redis.pexpire(shard.record(xid), 1)  # (a second at most; no sleep)
            while await redis.zcard(shard.archived) and stats.counts["archive_deleted"] == 0:
                await part.round()
        assert stats.counts["archive_deleted"] == 1
        assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


async def test_an_s3_outage_loses_nothing(runtime: Any, redis: Any) -> None:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    url = f"http://127.0.0.1:{port}"
    async with runtime(**archive_settings(url, "outage-bucket")) as rt:
        await rt.service.define("shapes", MACHINE)
        xid = (await rt.service.start("shapes", {"a": 1, "z": 1}))["executionId"]
        await rt.drain()
        before = await everything(rt.service, xid)
        shard = rt.service.store.shard(xid)
        async with archiver(rt.settings) as (part, stats):
            assert await part.round() == 0  # nothing listens
            assert stats.counts["archive_failures"] == 1
            assert await redis.hexists(shard.record(xid), "r")
            assert await redis.zscore(shard.finished, xid) is not None
            server.start()
            try:
                assert await part.round() == 0  # up, but the bucket is not there
                assert stats.counts["archive_failures"] == 2
                s3_client(url).create_bucket(Bucket="outage-bucket")
                assert await part.round() == 1
                assert await everything(rt.service, xid) == before
            finally:
                server.stop()
        assert await redis.hexists(shard.record(xid), "l")


async def test_a_map_child_reads_its_archived_roots_history(
        runtime: Any, redis: Any, moto_url: str, bucket: str) -> None:
    async with runtime(**archive_settings(moto_url, bucket)) as rt:
        await rt.service.define("mapped", {"StartAt": "Each", "States": {"Each": {
            "Type": "Map", "ItemsPath": "$.items", "End": True, "ItemProcessor": {
                "StartAt": "One", "States": {"One": {"Type": "Pass", "End": True}}}}}})
        xid = (await rt.service.start("mapped", {"items": [1, 2]}))["executionId"]
        await rt.drain()
        shard = rt.service.store.shard(xid)
        children = sorted(k.decode().rpartition(":x:")[2]
                          for k in await redis.keys(shard.record(xid) + "/*"))
        assert len(children) == 2
        before = {x: await everything(rt.service, x) for x in [xid, *children]}
        async with archiver(rt.settings) as (part, _):
            assert await part.round() == 1
        assert not await redis.exists(shard.history(xid))
        for x, seen in before.items():
            assert await everything(rt.service, x) == seen


async def test_a_missing_object_is_reported_without_naming_the_bucket(
        runtime: Any, moto_url: str, bucket: str) -> None:
    """The API hands a caller this error's own words (StoreError.public): they say what
    happened, not where the archive lives."""
    async with runtime(**archive_settings(moto_url, bucket)) as rt:
        await rt.service.define("shapes", MACHINE)
        xid = (await rt.service.start("shapes", {"a": 1, "z": 1}))["executionId"]
        await rt.drain()
        async with archiver(rt.settings) as (part, _):
            assert await part.round() == 1
        s3 = s3_client(moto_url)
        for item in s3.list_objects_v2(Bucket=bucket)["Contents"]:
            s3.delete_object(Bucket=bucket, Key=item["Key"])
        with pytest.raises(StoreArchiveError) as caught:
            await rt.service.describe(xid)
        said = store_trouble(caught.value)
        assert "missing from the archive" in said
        assert bucket not in said and "runs" not in said
