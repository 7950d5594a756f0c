"""The store and its Lua scripts against a real redis-server."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import orjson
import pytest

from statemachine.interpreter.commands import StartTimer
from statemachine.interpreter.step import new_execution
from statemachine.runtime.store import Plan, Records, RedisStore
from statemachine.runtime.store import keys as K
from statemachine.runtime.store.codec import pack_record, timer_item, unpack_record


def _timer_message(xid: str, command: StartTimer) -> bytes:
    return timer_item(xid, command.id, command.event)


async def test_shard_count_is_fixed_at_first_start(settings: Any) -> None:
    first = await RedisStore.connect(settings(shards=4))
    second = await RedisStore.connect(settings(shards=32))
    try:
        assert len(first.shards) == len(second.shards) == 4
        child = "abc/3/17/9/2"
        assert first.shard(child).n == first.shard("abc").n
        assert first.shard(child).record(child).startswith("sm:{s")
    finally:
        await first.close()
        await second.close()


async def test_commit_applies_everything_or_nothing(settings: Any) -> None:
    store = await RedisStore.connect(settings())
    client, shard = store.client, store.shards[0]
    records = Records(store)
    try:
        record = shard.record("x1")
        await client.hset(record, mapping={"rev": 3, "status": "RUNNING"})
        item = await client.xadd(shard.ready, {"m": b"{}"})
        await client.xreadgroup(K.WORKERS_GROUP, "c", {shard.ready: ">"}, count=10)

        stale = Plan(shard, item)
        stale.guard(record, "rev", "2")
        stale.op("HSET", record, "rev", 4)
        stale.op("ZADD", shard.timers, 1, "t")
        assert await records.commit(stale) == (False, 1)
        assert await client.zcard(shard.timers) == 0
        assert (await client.xpending(shard.ready, K.WORKERS_GROUP))["pending"] == 1

        good = Plan(shard, item)
        good.guard(record, "rev", "3")
        good.guard(shard.group("x1", "5"), "closed", "")
        good.append_history("x1", [b'{"type":"A"}', b'{"type":"B"}'])
        good.op("HSET", record, "rev", 4)
        good.op("ZADD", shard.timers, 1, "t")
        assert await records.commit(good) == (True, 0)
        assert await client.zcard(shard.timers) == 1
        assert (await client.xpending(shard.ready, K.WORKERS_GROUP))["pending"] == 0
        assert await client.lrange(shard.history("x1"), 0, -1) == [b'{"type":"A"}', b'{"type":"B"}']
        assert await records.commit(good) == (False, 1)
    finally:
        records.close()
        await store.close()


async def test_commit_takes_the_dispatch_it_adds_for_the_committing_worker(settings: Any) -> None:
    """TAKE hands the outbox entry the commit wrote to this consumer (in its pending list,
    invisible to the other consumers' reads); a second commit behaves the same."""
    store = await RedisStore.connect(settings())
    client, shard = store.client, store.shards[2]
    records = Records(store)
    try:
        record = shard.record("x2")
        await client.hset(record, mapping={"rev": 0, "status": "RUNNING"})
        for rev in (0, 1):
            commit = Plan(shard)
            commit.guard(record, "rev", str(rev))
            commit.op("HSET", record, "rev", rev + 1)
            commit.op("XADD", shard.tasks, "m", b'{"n":%d}' % rev)
            commit.take(shard.tasks, K.INVOKERS_GROUP, "me")
            assert await records.commit(commit) == (True, 0)
            [(entry_id, fields)] = commit.taken
            assert fields == {b"m": b'{"n":%d}' % rev}
            pending = await client.xpending_range(shard.tasks, K.INVOKERS_GROUP, "-", "+", 10)
            assert [(p["message_id"], p["consumer"]) for p in pending][-1] == (entry_id, b"me")
        assert await client.xreadgroup(K.INVOKERS_GROUP, "other", {shard.tasks: ">"}) == []

        refused = Plan(shard)
        refused.guard(record, "rev", "0")
        refused.op("XADD", shard.tasks, "m", b"{}")
        refused.take(shard.tasks, K.INVOKERS_GROUP, "me")
        assert await records.commit(refused) == (False, 1)
        assert refused.taken == [] and await client.xlen(shard.tasks) == 2
    finally:
        records.close()
        await store.close()


async def test_command_batch_pipelines_concurrent_reads_on_one_connection(settings: Any) -> None:
    from redis import exceptions as rexc

    from statemachine.runtime.store.pipe import CommandBatch

    store = await RedisStore.connect(settings())
    client = store.client
    reads = CommandBatch(store)
    try:
        await client.hset("h", mapping={str(i): f"v{i}" for i in range(50)})
        before = int((await client.info("clients"))["connected_clients"])
        got = await asyncio.gather(*(reads.run("HGET", "h", str(i)) for i in range(60)))
        assert got == [f"v{i}".encode() for i in range(50)] + [None] * 10
        assert int((await client.info("clients"))["connected_clients"]) - before <= 1
        await client.set("plain", "x")
        wrong = reads.run("HGET", "plain", "f")
        fine = reads.run("HGET", "h", "0")
        with pytest.raises(rexc.ResponseError):
            await wrong
        assert await fine == b"v0"  # an error reply fails its own call only
        await client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        assert await reads.run("HGET", "h", "1") == b"v1"  # reconnects by itself
    finally:
        reads.close()
        await store.close()


async def test_scripts_survive_a_flushed_script_cache(settings: Any) -> None:
    store = await RedisStore.connect(settings())
    try:
        await store.client.script_flush()
        shard = store.shards[1]
        assert await store.script("promote", [shard.timers, shard.timer_events, shard.ready], [0, 10]) == [0, -1]
    finally:
        await store.close()


async def test_timers_are_promoted_once_by_racing_schedulers(settings: Any) -> None:
    store = await RedisStore.connect(settings())
    client, shard = store.client, store.shards[2]
    try:
        for i in range(300):
            await client.zadd(shard.timers, {f"t{i}": 1000 + i})
            await client.hset(shard.timer_events, f"t{i}", orjson.dumps({"x": f"e{i}", "e": {}}))
        await client.zadd(shard.timers, {"later": 10**13})
        await client.hset(shard.timer_events, "later", b"{}")
        keys = [shard.timers, shard.timer_events, shard.ready]
        results = await asyncio.gather(*(store.script("promote", keys, [5000, 50]) for _ in range(10)))
        assert sum(r[0] for r in results) == 300
        assert await client.xlen(shard.ready) == 300
        # The racing calls ran in no particular order; once they are all done, nothing is due
        # and the next due time is the far-future timer.
        assert await store.script("promote", keys, [5000, 50]) == [0, 10**13]
    finally:
        await store.close()


async def test_a_plain_timer_keeps_no_event_and_fires_with_its_timer_fired(settings: Any) -> None:
    """Most timers' work item is TimerFired{timer}: promote.lua builds it from the timer id,
    so only other items take a timer-events entry."""
    store = await RedisStore.connect(settings())
    client, shard = store.client, store.shards[4]
    records = Records(store)
    try:
        xid = "0b6f0e4e-3c52-4e0c-9a51-1d8f8a1c2b3d/2/7"
        plain = StartTimer(id=f"{xid}:wait:3", due=1000,
                           event={"type": "TimerFired", "timer": f"{xid}:wait:3"})
        other = StartTimer(id=f"{xid}:odd", due=1001,
                           event={"type": "TimerFired", "timer": f"{xid}:odd", "extra": 1})
        assert _timer_message(xid, plain) == b""
        assert orjson.loads(_timer_message(xid, other)) == {"x": xid, "e": other.event}
        quoted = replace(plain, id='x"y:wait:1', event={"type": "TimerFired", "timer": 'x"y:wait:1'})
        assert _timer_message('x"y', quoted) != b""
        commit = Plan(shard)
        for command in (plain, other):
            commit.set_timer(xid, command.id, command.due, command.event)
        assert await records.commit(commit) == (True, 0)
        assert await client.hkeys(shard.timer_events) == [other.id.encode()]
        keys = [shard.timers, shard.timer_events, shard.ready]
        # two promoted, none left, then each one's lateness (ms)
        assert await store.script("promote", keys, [5000, 50]) == [2, -1, 4000, 3999]
        items = [orjson.loads(fields[b"m"]) for _, fields in await client.xrange(shard.ready)]
        assert items == [{"x": xid, "e": plain.event}, {"x": xid, "e": other.event}]
        assert await client.exists(shard.timer_events) == 0
    finally:
        records.close()
        await store.close()


def test_a_record_is_stored_without_its_default_fields() -> None:
    record = new_execution(execution_id="abc", name="abc", machine="m", machine_version=1,
                           input={"k": [1, None]}, now=5, salt="s")
    record.update(state="A", state_input={}, vars={"v": None}, output=None)
    packed = orjson.loads(pack_record(record))
    assert set(packed) == {"id", "machine", "machine_version", "status", "input", "rev", "seq",
                           "entered", "start", "salt", "state", "state_input", "vars"}
    assert unpack_record(pack_record(record)) == record
    named = {**record, "name": "other", "path": [0], "retry": {"A": 1}, "error": ""}
    assert unpack_record(pack_record(named)) == named

