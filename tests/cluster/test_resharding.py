"""Resharding under load: shards' slots move to other masters while their executions run.

A service and a worker (in process) run a steady stream of executions (an HTTP task against
a local server recording Idempotency-Keys, a Wait of 1 s, a small Map, a Pass) on a real
local Redis Cluster, while the slots of shards 14 and 10 (slots 299 and 431) move away from
their master, as an operator moves them:

* shard 14's by hand to another master, held half-migrated for a while (``CLUSTER SETSLOT
  ... IMPORTING``/``MIGRATING``, ``MIGRATE`` of its records, then of the rest, ``SETSLOT
  ... NODE``): meanwhile a script over keys on both sides, or not made yet, is answered
  ``TRYAGAIN``, and a blocked XREADGROUP loses its stream;
* slots 0..499 (shard 10's among them) with ``redis-cli --cluster reshard`` to a master
  added meanwhile (``redis-cli --cluster add-node``), which the store has not seen yet and
  which has none of its scripts: keys, streams, consumer groups and pending entries move.

Afterwards every execution SUCCEEDED with the right output, every history is gap-free,
each HTTP task took effect once under one key, no stream entry is left, and the slots
really changed owner.  (``ASK`` on the lean connections: tests/cluster/test_migrating_slot.py.)
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import Counter, defaultdict
from typing import Any

from aiohttp import web
from redis.crc import key_slot

from statemachine.runtime.settings import Settings
from statemachine.runtime.store.streams import backlog
from statemachine.runtime.worker import Worker
from statemachine.service import Service
from tests.cluster.servers import LocalCluster, Node
from tests.runtime.conftest import FAST, _gap_free

EXECUTIONS = 160
WAVE = 10
WAVE_GAP_S = 0.4
MOVED_SHARDS = (14, 10)  # slots 299 and 431: both in 0..499, the first master's
HELD_S = 2.0  # how long the hand-moved slot stays half-migrated


class Effects:
    """An HTTP endpoint that deduplicates by Idempotency-Key and counts logical effects."""

    def __init__(self) -> None:
        self.effects: Counter[str] = Counter()
        self.keys: dict[str, set[str]] = defaultdict(set)
        self.answers: dict[str, Any] = {}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/charge", self.charge)
        return app

    async def charge(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = request.headers["Idempotency-Key"]
        if key not in self.answers:
            self.effects[body["order"]] += 1
            self.keys[body["order"]].add(key)
            self.answers[key] = {"charged": body["order"]}
        return web.json_response(self.answers[key])


def definition(base: str) -> dict[str, Any]:
    return {"StartAt": "Charge", "States": {
        "Charge": {"Type": "Task", "Resource": f"{base}/charge",
                   "Parameters": {"order.$": "$.order"}, "ResultPath": "$.charge", "Next": "Settle"},
        "Settle": {"Type": "Wait", "Seconds": 1, "Next": "Lines"},
        "Lines": {"Type": "Map", "ItemsPath": "$.lines", "ResultPath": "$.lines",
                  "ItemProcessor": {"StartAt": "Line", "States": {
                      "Line": {"Type": "Pass", "Parameters": {"line.$": "$"}, "End": True}}},
                  "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    }}


def order(i: int) -> dict[str, Any]:
    return {"order": f"o{i}", "lines": [f"o{i}-a", f"o{i}-b"]}


def expected(i: int) -> dict[str, Any]:
    return {"order": f"o{i}", "charge": {"charged": f"o{i}"},
            "lines": [{"line": f"o{i}-a"}, {"line": f"o{i}-b"}]}


def owner(cluster: LocalCluster, slot: int) -> Node:
    """The master serving ``slot``."""
    for start, end, master, *_ in cluster.nodes[0].client().execute_command("CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return next(n for n in cluster.nodes if n.port == int(master[1]))
    raise AssertionError(f"slot {slot} is served by no master")


async def run(*command: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 0, (command, err.decode())


async def move_slot_by_hand(cluster: LocalCluster, slot: int, source: Node, target: Node) -> None:
    """Move ``slot`` as ``redis-cli --cluster reshard`` does, but hold it half-migrated for
    :data:`HELD_S` seconds while the work goes on: its execution records moved first (a
    worker's load of one is answered ``ASK``), its streams, histories and indexes after
    (a commit, whose keys are then on both nodes, is answered ``TRYAGAIN`` meanwhile)."""
    src, dst = source.client(), target.client()
    src_id, dst_id = cluster.node_id(source), cluster.node_id(target)
    dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
    src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)

    def migrate(records: bool) -> None:
        keys = [key for key in src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100_000)
                if b":x:" in key or not records]
        for start in range(0, len(keys), 50):
            src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS",
                                *keys[start : start + 50])

    await asyncio.to_thread(migrate, True)
    await asyncio.sleep(HELD_S)
    await asyncio.to_thread(migrate, False)
    for node in cluster.masters():
        node.client().execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)


async def reshard(cluster: LocalCluster, source: Node, target: Node, slots: int) -> None:
    """``redis-cli --cluster reshard``: ``slots`` slots of ``source`` to ``target``."""
    await run(shutil.which("redis-cli") or "redis-cli", "--cluster", "reshard",
              f"127.0.0.1:{source.port}", "--cluster-from", cluster.node_id(source),
              "--cluster-to", cluster.node_id(target), "--cluster-slots", str(slots),
              "--cluster-yes")


async def test_executions_ride_out_a_resharding(fresh_cluster: LocalCluster, serve_app: Any) -> None:
    cluster = fresh_cluster
    slots = [key_slot(f"{{s{n}}}".encode()) for n in MOVED_SHARDS]
    first = owner(cluster, 0)
    second = next(n for n in cluster.masters() if n.port != first.port)
    before = {slot: owner(cluster, slot).port for slot in slots}
    assert set(before.values()) == {first.port}

    settings = Settings.from_env(redis_url=cluster.url, **FAST)
    service = await Service.connect(settings.redis_url, settings=settings)
    worker = Worker(settings.redis_url, settings, 16)
    working = asyncio.create_task(worker.run())
    effects = Effects()
    ids: dict[int, str] = {}
    began = time.monotonic()
    try:
        async with serve_app(effects.app()) as base:
            await service.define("charge", definition(base))

            async def start(i: int) -> None:
                ids[i] = (await service.start("charge", order(i), name=f"c-{i}"))["executionId"]

            async def start_in_waves() -> None:
                waves = []
                for first_i in range(0, EXECUTIONS, WAVE):
                    waves.append(asyncio.gather(*map(start, range(first_i, first_i + WAVE))))
                    await asyncio.sleep(WAVE_GAP_S)
                await asyncio.gather(*waves)

            starting = asyncio.create_task(start_in_waves())
            added = await asyncio.to_thread(cluster.add_master)
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - began)))
            # Shard 14's slot, held half-migrated to the second master, then moved.
            await move_slot_by_hand(cluster, slots[0], first, second)
            # A master added, and slots 0..499 of the first (shard 10's among them: all that
            # is left of 0..499 after the hand move) moved to it, the operator's way.
            await reshard(cluster, first, added, 499)
            moved_at = time.monotonic() - began
            await starting
            while True:
                statuses = Counter([(await service.describe(x))["status"] for x in ids.values()])
                if statuses["RUNNING"] == 0 or time.monotonic() - began > 45:
                    break
                await asyncio.sleep(0.3)
        elapsed = time.monotonic() - began
        after = {slot: owner(cluster, slot).port for slot in slots}
        print(f"\nresharding: {EXECUTIONS} executions in {elapsed:.1f} s (slots moved by "
              f"{moved_at:.1f} s); slot owners (ports) {before} -> {after}")
        assert statuses == Counter({"SUCCEEDED": EXECUTIONS}), statuses
        assert after == {slots[0]: second.port, slots[1]: added.port}
        assert (await backlog(service.store.core)).entries == 0
        for i, xid in sorted(ids.items()):
            described = await service.describe(xid)
            assert described["output"] == expected(i), xid
            _gap_free(await _events(service, xid))
        assert effects.effects == Counter({f"o{i}": 1 for i in range(EXECUTIONS)})
        assert all(len(keys) == 1 for keys in effects.keys.values())
    finally:
        await worker.stop()
        await working
        await service.close()


async def _events(service: Service, execution_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        got = await service.history(execution_id, limit=1000, cursor=cursor)
        events += got["events"]
        cursor = got["nextCursor"]
        if cursor is None:
            return events

