"""A shard's slot held half-migrated: the lean connections follow ``ASK``.

While ``redis-cli --cluster reshard`` moves a slot, its keys are on two masters: the source
(``MIGRATING``) serves the keys it still has and answers ``ASK`` for the others, the target
(``IMPORTING``) serves a command preceded by ``ASKING``.  A reshard moves a slot's keys in
moments; here the slot is held in that state while the store's calls go through it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.crc import key_slot

from statemachine.runtime.settings import Settings
from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.keys import Shard
from statemachine.runtime.store.timers import promote
from tests.cluster.servers import LocalCluster, Node


def owner(cluster: LocalCluster, slot: int) -> Node:
    for start, end, master, *_ in cluster.nodes[0].client().execute_command("CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return next(n for n in cluster.nodes if n.port == int(master[1]))
    raise AssertionError(f"slot {slot} is served by no master")


@asynccontextmanager
async def migrating(cluster: LocalCluster, slot: int, keys: list[bytes],
                    target: Node | None = None) -> AsyncIterator[Node]:
    """``slot`` held half-migrated from its master to ``target`` (another master if None),
    ``keys`` moved already; yields the target, which owns the slot afterwards."""
    source = owner(cluster, slot)
    target = target or next(n for n in cluster.masters() if n.port != source.port)
    src, dst = source.client(), target.client()
    dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", cluster.node_id(source))
    src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", cluster.node_id(target))
    src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
    try:
        yield target
    finally:
        rest = src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000)
        if rest:
            src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *rest)
        for node in cluster.masters():
            node.client().execute_command("CLUSTER", "SETSLOT", slot, "NODE",
                                          cluster.node_id(target))


async def connected(cluster: LocalCluster) -> RedisStore:
    return await RedisStore.connect(Settings.from_env(redis_url=cluster.url))


async def test_lean_commands_follow_ask_to_the_importing_node(cluster_url: str,
                                                              redis_cluster: LocalCluster) -> None:
    shard = Shard(14)
    moved, stayed, new = (shard.record(x).encode() for x in ("moved", "stayed", "new"))
    slot = key_slot(moved)
    store = await connected(redis_cluster)
    nodes = store.lean_connections()
    try:
        source = owner(redis_cluster, slot).client()
        source.hset(moved, "r", "1")
        source.hset(stayed, "r", "2")
        async with migrating(redis_cluster, slot, [moved]) as target:
            got = await nodes.execute([(moved, ("HGET", moved, "r")),
                                       (stayed, ("HGET", stayed, "r")),
                                       (new, ("HSET", new, "r", "3"))])
            # the source has no such key: the new one was made on the target (ASK)
            assert got == [b"1", b"2", 1]
        assert target.client().hget(new, "r") == b"3"
        assert owner(redis_cluster, slot).port == target.port
    finally:
        nodes.close()
        await store.close()


async def test_a_script_runs_on_an_importing_node_that_never_loaded_it(
        cluster_url: str, redis_cluster: LocalCluster) -> None:
    """The target of an ``ASK`` may be a master added for the resharding, after the store
    loaded its scripts: EVALSHA meets NOSCRIPT there, and the script still runs there."""
    store = await connected(redis_cluster)
    added = redis_cluster.add_master()
    try:
        shard = store.shards[10]
        slot = key_slot(shard.ready.encode())
        source = owner(redis_cluster, slot).client()
        source.zadd(shard.timers, {"x10:t1": 1})
        source.hset(shard.timer_events, "x10:t2", "kept")
        source.xadd(shard.ready, {"m": "before"})
        keys = [shard.timers.encode(), shard.timer_events.encode(), shard.ready.encode()]
        async with migrating(redis_cluster, slot, keys, added) as target:
            promoted = await promote(store, now=2, limit=10)
            assert promoted[10] == (1, None)
        entries = target.client().xrange(shard.ready)
        messages = [fields[b"m"] for _, fields in entries]
        assert messages[0] == b"before" and b"TimerFired" in messages[1]
    finally:
        await store.close()
