"""The start path: ids built on the right shard, the shard copies of the latest version,
batched start scripts, and the HTTP invoker's environment check."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from statemachine.errors import Conflict
from statemachine.runtime.invokers.http import proxy_configured
from statemachine.runtime.store import keys as K
from statemachine.runtime.store.ids import id_on_shard, self_named_id
from statemachine.runtime.store.pipe import BATCHES_IN_FLIGHT
from statemachine.service import Service

HELLO = {"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "End": True}}}
BYE = {"StartAt": "Bye", "States": {"Bye": {"Type": "Succeed"}}}


@pytest.mark.parametrize("shards", [1, 3, 16, 64])
def test_ids_are_uuid4s_on_the_wanted_shard(shards: int) -> None:
    for wanted in range(shards):
        made = id_on_shard(wanted, shards)
        assert K.shard_of(made, shards) == wanted
        assert str(uuid.UUID(made)) == made and uuid.UUID(made).version == 4
    for _ in range(50):
        made = self_named_id("hello", shards)
        assert K.shard_of(made, shards) == K.shard_of_name("hello", made, shards)
        assert uuid.UUID(made).version == 4
    assert len({id_on_shard(0, shards) for _ in range(200)}) == 200


@pytest.fixture
async def parts(redis_url: str, settings: Any) -> AsyncIterator[tuple[Service, aioredis.Redis]]:
    """A connected Service and a raw client on the test's Redis; both closed afterwards."""
    service = await Service.connect(redis_url, settings=settings())
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield service, client
    finally:
        await client.aclose()
        await service.close()


async def _record_version(client: aioredis.Redis, service: Service, execution_id: str) -> int:
    raw = await client.hget(service.store.shard(execution_id).record(execution_id), "r")
    return int(orjson.loads(raw)["machine_version"])


async def test_the_next_start_uses_a_version_posted_by_another_service(redis_url: str,
                                                                        settings: Any) -> None:
    conf = settings()
    api = await Service.connect(redis_url, settings=conf)
    other = await Service.connect(redis_url, settings=conf)
    client = aioredis.Redis.from_url(redis_url)
    try:
        await api.define("hello", HELLO)
        first = await api.start("hello", {}, name="one")
        assert first["version"] == 1
        assert await _record_version(client, api, first["executionId"]) == 1
        await other.define("hello", BYE)
        for name in ("two", None):
            started = await api.start("hello", {}, name=name)
            assert started["version"] == 2
            assert await _record_version(client, api, started["executionId"]) == 2
        assert (await api.get_machine("hello"))["definition"] == BYE
        assert (await api.get_machine("hello", 1))["definition"] == HELLO
    finally:
        await client.aclose()
        await api.close()
        await other.close()


async def test_start_without_shard_copies_reads_the_global_version(parts: tuple[Service, aioredis.Redis]) -> None:
    service, client = parts
    await service.define("hello", HELLO)
    await service.define("hello", BYE)
    await client.delete(*(shard.versions for shard in service.store.shards))
    started = await service.start("hello", {"a": 1}, name="late")
    assert started["created"] and started["version"] == 2
    shard = service.store.shard(started["executionId"])
    assert await client.hget(shard.versions, "hello") == b"2"
    again = await service.start("hello", {"a": 1}, name="late")
    assert not again["created"] and again["executionId"] == started["executionId"]


async def test_concurrent_starts_share_a_round_trip_past_a_script_flush(parts: tuple[Service, aioredis.Redis]) -> None:
    service, client = parts
    await service.define("hello", HELLO)
    await client.script_flush()
    started = await asyncio.gather(*(service.start("hello", {"i": i}) for i in range(40)))
    assert all(s["created"] and s["version"] == 1 for s in started)
    assert len({s["executionId"] for s in started}) == 40
    named = await asyncio.gather(
        *(service.start("hello", {"i": 1}, name="same") for _ in range(5)))
    assert sum(s["created"] for s in named) == 1
    assert len({s["executionId"] for s in named}) == 1
    ready = sum([await client.xlen(shard.ready) for shard in service.store.shards])
    assert ready == 41


async def test_an_unnamed_start_keeps_no_name_entry_and_its_name_stays_taken(parts: tuple[Service, aioredis.Redis]) -> None:
    service, client = parts
    await service.define("hello", HELLO)
    await service.define("other", HELLO)
    unnamed = await service.start("hello", {"a": 1})
    xid = unnamed["executionId"]
    assert unnamed["name"] == xid and (await service.describe(xid))["name"] == xid
    names = [k for shard in service.store.shards
             async for k in client.scan_iter(match=f"sm:{shard.tag}:n:*")]
    assert names == []
    with pytest.raises(Conflict):  # the unnamed execution's name is its id
        await service.start("hello", {"a": 1}, name=xid)
    elsewhere = await service.start("other", {"a": 1}, name=xid)  # names are per machine
    assert elsewhere["created"] and elsewhere["name"] == xid
    named = await service.start("hello", {"a": 2}, name="kept")
    shard = service.store.shard(named["executionId"])
    assert await client.hget(shard.name("hello", "kept"), "id") == named["executionId"].encode()


async def test_starts_on_an_open_connection_ride_out_a_flushed_script_cache(redis_url: str,
                                                                           settings: Any) -> None:
    """Written straight onto the open connection, calls refused with NOSCRIPT go the slow
    way (load the script, send again) without the caller noticing."""
    service = await Service.connect(redis_url, settings=settings())
    client = aioredis.Redis.from_url(redis_url)
    try:
        await service.define("hello", HELLO)
        assert (await service.start("hello", {}))["created"]  # the connection is open now
        await client.script_flush()
        started = await asyncio.gather(*(service.start("hello", {"i": i}) for i in range(30)))
        assert all(s["created"] for s in started)
        assert len({s["executionId"] for s in started}) == 30
    finally:
        await client.aclose()
        await service.close()


def test_the_http_client_reads_the_environment_only_when_asked_to() -> None:
    assert not proxy_configured({})
    assert not proxy_configured({"NO_PROXY": "localhost", "HTTP_PROXY": ""})
    assert proxy_configured({"https_proxy": "http://proxy:3128"})
    assert proxy_configured({"NETRC": "/run/secrets/netrc"})


async def test_a_flood_of_starts_holds_few_redis_connections(parts: tuple[Service, aioredis.Redis]) -> None:
    service, client = parts
    await service.define("hello", HELLO)
    before = int((await client.info("clients"))["connected_clients"])
    tasks = []
    for i in range(400):  # arriving over many loop turns, more than the pool's 100
        tasks.append(asyncio.create_task(service.start("hello", {"i": i})))
        if i % 7 == 0:
            await asyncio.sleep(0)
    started = await asyncio.gather(*tasks)
    assert all(s["created"] for s in started)
    assert len({s["executionId"] for s in started}) == 400
    after = int((await client.info("clients"))["connected_clients"])
    assert after - before <= BATCHES_IN_FLIGHT + 1


async def test_starts_ride_out_a_killed_connection(parts: tuple[Service, aioredis.Redis]) -> None:
    service, client = parts
    await service.define("hello", HELLO)
    assert (await service.start("hello", {}, name="before"))["created"]
    await client.client_setname("test-observer")
    await client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    after = await service.start("hello", {}, name="after")
    assert after["created"] and after["version"] == 1


async def test_the_lean_connection_authenticates_and_selects_the_database(redis_url: str,
                                                                          settings: Any) -> None:
    admin = aioredis.Redis.from_url(redis_url)
    base = redis_url.rsplit("/", 1)[0].replace("redis://", "redis://starter:secret@")
    await admin.execute_command("ACL", "SETUSER", "starter", "on", ">secret", "~*", "&*", "+@all")
    service = await Service.connect(f"{base}/5", settings=settings(redis_url=f"{base}/5"))
    try:
        await service.define("hello", HELLO)
        started = await service.start("hello", {})
        assert started["created"]
        record = service.store.shard(started["executionId"]).record(started["executionId"])
        db5 = aioredis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/5")
        try:
            assert await db5.exists(record) == 1 and await admin.exists(record) == 0
        finally:
            await db5.flushdb()
            await db5.aclose()
    finally:
        await service.close()
        await admin.execute_command("ACL", "DELUSER", "starter")
        await admin.aclose()
