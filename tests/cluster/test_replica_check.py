"""``--min-replicas-ack N`` at start: a master short of replicas is waited for (a process that
starts during a failover finds the promoted master without one until the old master
rejoins), and refused only when the shortfall outlasts the grace period."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from statemachine.bench.cluster import until
from statemachine.runtime.store import RedisStore, Refused
from statemachine.runtime.store import client as store_client
from tests.cluster.servers import LocalCluster


async def test_a_start_waits_for_a_missing_replica_and_refuses_one_that_stays_away(
        fresh_cluster: LocalCluster, settings: Any, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    fresh_cluster.wait_replicas()
    master = fresh_cluster.masters()[0]
    replica = fresh_cluster.replica_of(master)
    replica.kill()
    wanted = settings(redis_url=fresh_cluster.url, min_replicas_ack=1,
                      min_replicas_timeout_ms=200)

    monkeypatch.setattr(store_client, "REPLICAS_GRACE_S", 1.0)
    with pytest.raises(Refused, match=r"--min-replicas-ack 1 asks for more replicas than the "
                                      r"Redis master of shard \d+ has \(0 connected\)"):
        await RedisStore.connect(wanted, wait_s=5)

    monkeypatch.setattr(store_client, "REPLICAS_GRACE_S", 60.0)
    caplog.set_level(logging.WARNING, logger="statemachine.runtime.store.client")

    def rejoin_once_waiting() -> None:
        for _ in range(600):  # the start is waiting once it has said so
            if any("waiting up to" in r.getMessage() for r in caplog.records):
                break
            threading.Event().wait(0.05)
        fresh_cluster.rejoin(replica)

    rejoining = threading.Thread(target=rejoin_once_waiting)
    rejoining.start()
    try:
        store = await RedisStore.connect(wanted, wait_s=5)
        replica_was_back = replica.proc is not None  # before the rejoin's own waiting ends
    finally:
        await asyncio.to_thread(rejoining.join)
    try:
        assert store.cluster
        assert replica_was_back  # it connected only once the replica was started again
        assert any("has 0 of the 1 replicas" in r.getMessage() for r in caplog.records)
    finally:
        await store.close()


async def test_a_master_demoted_under_a_stale_slot_map_is_asked_again(
        fresh_cluster: LocalCluster, settings: Any) -> None:
    """A process that read the slot map during a failover still takes the old master for
    one; ``WAIT`` there answers "cannot be used with replica instances" (no MOVED: it
    names no key). That is a stale map, read again, not a failure that stops a worker
    starting (it did, in the failover test, when both workers started mid-failover)."""
    fresh_cluster.wait_replicas()
    store = await RedisStore.connect(settings(redis_url=fresh_cluster.url, min_replicas_ack=1),
                                     wait_s=10)
    try:
        old = fresh_cluster.masters()[0]
        new = fresh_cluster.replica_of(old)
        new.client().execute_command("CLUSTER", "FAILOVER")  # graceful: old becomes its replica

        def swapped() -> bool:
            return new.role() == "master" and old.role() == "slave"
        await asyncio.to_thread(until, swapped, "the manual failover did not finish", 30)
        await asyncio.to_thread(fresh_cluster.wait_replicas)
        await store._check_replicas()  # with the map read before the failover
    finally:
        await store.close()
