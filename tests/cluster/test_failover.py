"""A Redis Cluster master ``kill -9``ed in the middle of 200 executions, its replica taking over.

The crash test's payment workflow (tests/runtime/test_crash.py: an HTTP task, a Wait, a Map
of HTTP tasks, a callback answered through the Service) runs on two ``cli.py worker``
processes and the in-process Service against a cluster of the test's own (3 masters, 3
replicas).  While executions start in waves, the master of the cluster URL's node is
killed with ``kill -9`` and its replica promoted.

* ``--min-replicas-ack 1``: every acknowledged write is on a replica before it is
  acknowledged, so the failover loses none: every execution SUCCEEDED, each logical effect
  happened once under one Idempotency-Key, every history is gap-free, and no history the
  killed master held is longer than what its replica kept.
* without it: replication is asynchronous, so writes of the last moments before the kill
  may be lost (the test measures how many history events the replica missed).  What is
  guaranteed still holds: transitions lost are redone from the record the replica kept
  (same event ids, so histories stay gap-free), task dispatches lost are sent again with the
  same Idempotency-Key (the service deduplicates), every execution finishes.  One thing an
  API caller was told can be lost too: a callback, whose execution then waits again for a
  callback that comes only if its request is sent again; when the request had left well
  before (the approver slow to answer), nobody answers, and the state's TimeoutSeconds
  ends it (``States.Timeout``).  A Map child's outcome can be lost while its count
  survives (they live in different slots): the Map then fails as ``States.Runtime`` ("lost
  child outcome"), never completing as if the child had a result.  The test counts what
  was re-run and lost and prints it.

Callers behave as an API client should: a start or a callback refused as unavailable
(StoreError, the API's 503) is retried as it was (a start by the same name); a callback
request delivered again (same key) is answered again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from statemachine.errors import InvalidToken, NotFound, StoreError, TaskTimedOut
from statemachine.interpreter.failures import LOST_OUTCOME
from tests.cluster.servers import LocalCluster, Node
from tests.runtime.test_crash import Payments, Workers, definition, expected_output, order

EXECUTIONS = 200
WAVE = 20
WAVE_GAP_S = 0.5
KILL_AFTER = 80  # executions started before the master is killed
FINISH_S = 60.0
APPROVAL_TIMEOUT_S = 20
"""The callback's TimeoutSeconds: what ends an execution whose acknowledged callback a
failover without replica acknowledgement lost (never reached with it)."""
LAG_S = 0.5  # the killed master's replica is cut off that long before the kill


@pytest.fixture
def redis_url(fresh_cluster: LocalCluster) -> str:
    """The runtime's fixtures on this test's own cluster (it kills a master)."""
    return fresh_cluster.url


class Ledger(Payments):
    """Payments that also counts deliveries per Idempotency-Key, and hands an approval's
    token out again when its request comes again (the approver then answers again)."""

    def __init__(self) -> None:
        super().__init__()
        self.deliveries: Counter[str] = Counter()

    def handler(self, op: str) -> Any:
        inner = super().handler(op)

        async def handle(request: web.Request) -> web.Response:
            key = request.headers["Idempotency-Key"]
            self.deliveries[key] += 1
            again = key in self.answers
            response: web.Response = await inner(request)
            if op == "approve" and again:
                await self.tokens.put((await request.json())["token"])
            return response
        return handle


@dataclass
class Failover:
    """What the kill did: the killed master's history lengths before, its replica's right
    after (what survives), the replication offsets, and how long the promotion took."""

    victim: int = 0
    promoted: int = 0
    took_s: float = 0.0  # from the kill to the replica serving as master
    rejoined_s: float = 0.0  # ... to the killed node back, as the new master's replica
    before: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    offsets: tuple[int, int] = (0, 0)  # the master's before the kill, the replica's after

    def events_lost(self) -> dict[str, int]:
        return {key: n - self.kept.get(key, 0) for key, n in self.before.items()
                if n > self.kept.get(key, 0)}


def history_lengths(node: Node, keys: list[str], *, replica: bool = False) -> dict[str, int]:
    """LLEN of the history lists ``keys`` that ``node`` serves (others answer MOVED: skipped)."""
    client = node.client()
    try:
        if replica:
            client.readonly()
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.llen(key)
        got = pipe.execute(raise_on_error=False)
    finally:
        client.close()
    return {k: int(n) for k, n in zip(keys, got, strict=True) if not isinstance(n, Exception)}


def kill_master(cluster: LocalCluster, histories: Callable[[], list[str]]) -> Failover:
    """``kill -9`` the URL's node's master (every process met the cluster there) and wait
    for its replica; the histories it held are read just before and, from the replica,
    just after."""
    victim = next(n for n in cluster.nodes if n.proc is not None and n.role() == "master")
    replica = cluster.replica_of(victim)
    result = Failover(victim=victim.port)
    # The worst moment to die: the replica has fallen behind (stopped, its link cut), so
    # the master's writes of the last LAG_S exist on the master only.
    assert replica.proc is not None
    os.kill(replica.proc.pid, signal.SIGSTOP)
    try:
        client = victim.client()
        client.client_kill_filter(_type="replica")
        client.close()
        time.sleep(LAG_S)
        keys = histories()  # of every execution started so far
        result.before = history_lengths(victim, keys)
        master_offset = int(victim.client().info("replication")["master_repl_offset"])
    finally:
        victim.kill()
        os.kill(replica.proc.pid, signal.SIGCONT)

    def killed() -> None:
        time.sleep(0.5)  # the replica applies what it had received (not promoted before 2 s)
        result.kept = history_lengths(replica, keys, replica=True)
        offset = int(replica.client().info("replication")["slave_repl_offset"])
        result.offsets = (master_offset, offset)

    began = time.monotonic()
    promoted = cluster.fail_over(victim, killed=killed)
    result.took_s = time.monotonic() - began
    result.promoted = promoted.port
    cluster.rejoin(victim)  # as a supervisor would: the new master has a replica again
    result.rejoined_s = time.monotonic() - began
    return result


async def status_of(service: Any, execution_id: str) -> str:
    """The execution's status; LOST when it is gone (its acknowledged start was lost)."""
    try:
        return str((await service.describe(execution_id))["status"])
    except NotFound:
        return "LOST"


@dataclass
class Calls:
    """The API calls the test made as a client: how many were refused as unavailable (503)
    and retried, and the longest any took (retries included)."""

    unavailable: Counter[str] = field(default_factory=Counter)
    longest_s: dict[str, float] = field(default_factory=dict)
    answered: Counter[str] = field(default_factory=Counter)

    async def retried(self, what: str, call: Any) -> Any:
        began = time.monotonic()
        try:
            while True:
                try:
                    return await call()
                except StoreError:
                    self.unavailable[what] += 1
                    await asyncio.sleep(0.2)
        finally:
            self.longest_s[what] = max(self.longest_s.get(what, 0.0), time.monotonic() - began)


async def run_with_failover(rt: Any, cluster: LocalCluster, ledger: Ledger, base: str,
                            redis_url: str) -> dict[str, Any]:
    """The run: waves of starts, the kill, until every execution has finished; a report."""
    service = rt.service
    core = service.store.core
    calls = Calls()
    payment = definition(base)
    payment["States"]["Approve"]["TimeoutSeconds"] = APPROVAL_TIMEOUT_S
    await service.define("payment", payment)

    async def approver() -> None:
        while True:
            token = await ledger.tokens.get()

            async def answer(token: str = token) -> None:
                tries = 0

                async def once() -> None:
                    nonlocal tries
                    tries += 1
                    await service.send_task_success(token, {"approved": True})
                try:
                    await calls.retried("callback", once)
                    calls.answered["ok"] += 1
                except (TaskTimedOut, InvalidToken):
                    # applied by a try that answered 503, or answered before (the request
                    # was sent again)
                    calls.answered["ok after 503" if tries > 1 else "refused"] += 1
            asyncio.create_task(answer())

    ids: list[str] = []

    async def start_in_waves() -> None:
        for first in range(0, EXECUTIONS, WAVE):
            for i in range(first, min(first + WAVE, EXECUTIONS)):
                started = await calls.retried("start", lambda i=i: service.start(
                    "payment", order(i), name=f"pay-{i}"))
                ids.append(started["executionId"])
            await asyncio.sleep(WAVE_GAP_S)

    workers = Workers(redis_url)
    approving = asyncio.create_task(approver())
    workers.spawn()
    workers.spawn()
    began = time.monotonic()
    starting = asyncio.create_task(start_in_waves())
    try:
        while len(ids) < KILL_AFTER:
            await asyncio.sleep(0.05)
        kill_at = time.monotonic() - began
        failover = await asyncio.to_thread(
            kill_master, cluster, lambda: [core.shard(x).history(x) for x in list(ids)])
        await starting
        deadline = time.monotonic() + FINISH_S
        while time.monotonic() < deadline:
            counts = Counter([await status_of(service, x) for x in ids])
            if counts["RUNNING"] == 0:
                break
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - began
        # A worker that exited (a failover error taken for a bug) leaves its work to the
        # other; both gone, every execution would stay RUNNING.
        exited = {name: proc.returncode for name, proc in workers.procs.items()
                  if proc.poll() is not None}
    finally:
        workers.stop_all()
        approving.cancel()
        starting.cancel()
    lost = failover.events_lost()
    report = {
        "elapsed_s": round(elapsed, 1), "kill_at_s": round(kill_at, 1),
        "promotion_s": round(failover.took_s, 1), "rejoined_s": round(failover.rejoined_s, 1),
        "statuses": dict(counts), "workers_exited": exited,
        "histories_on_killed_master": len(failover.before),
        "histories_rolled_back": len(lost), "history_events_lost": sum(lost.values()),
        "replication_bytes_behind": max(0, failover.offsets[0] - failover.offsets[1]),
        "http_requests": sum(ledger.deliveries.values()),
        "tasks_resent_same_key": sum(n - 1 for n in ledger.deliveries.values()),
        "callbacks": dict(calls.answered), "api_503_retries": dict(calls.unavailable),
        "longest_api_call_s": {k: round(v, 1) for k, v in calls.longest_s.items()},
    }
    report["ids"] = ids
    return report


@pytest.mark.slow
@pytest.mark.parametrize("ack", [1, 0], ids=["min-replicas-ack-1", "no-replica-ack"])
async def test_a_master_killed_mid_run(ack: int, fresh_cluster: LocalCluster, redis_url: str,
                                       runtime: Any, serve_app: Any, gap_free: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEMACHINE_MIN_REPLICAS_ACK", str(ack))  # for the worker processes
    ledger = Ledger()
    async with serve_app(ledger.app()) as base, runtime(min_replicas_ack=ack) as rt:
        assert rt.service.store.core.cluster
        report = await run_with_failover(rt, fresh_cluster, ledger, base, redis_url)
        ids = report.pop("ids")
        survivors = {i: xid for i, xid in enumerate(ids)
                     if await status_of(rt.service, xid) != "LOST"}
        lost = {order(i)["order"] for i in range(EXECUTIONS) if i not in survivors}
        report["orphan_effects"] = sum(n for logical, n in ledger.effects.items()
                                       if logical[1] in lost)
        described = {i: await rt.service.describe(xid) for i, xid in survivors.items()}
        timed_out = {i for i, d in described.items()
                     if d["status"] == "FAILED" and d.get("error") == "States.Timeout"}
        report["callbacks_lost_then_timed_out"] = len(timed_out)
        lost_outcome = {i for i, d in described.items() if d["status"] == "FAILED"
                        and d.get("error") == "States.Runtime" and d.get("cause") == LOST_OUTCOME}
        report["child_outcomes_lost"] = len(lost_outcome)
        print(f"\nfailover, --min-replicas-ack {ack}: {report}")
        assert report["histories_on_killed_master"] > 0
        assert not report["workers_exited"], report
        # What holds with and without replica acknowledgement: every execution there is
        # finishes with the right output (or, its acknowledged callback lost, by the
        # callback's timeout), its history gap-free, each of its effects once under one key.
        failed = timed_out | lost_outcome
        assert report["statuses"] == {k: v for k, v in {
            "SUCCEEDED": len(survivors) - len(failed), "FAILED": len(failed),
            "LOST": len(lost)}.items() if v}, report
        for i, xid in survivors.items():
            if i in failed:
                gap_free(await rt.events(xid), "ExecutionFailed")
                continue
            assert described[i]["output"] == expected_output(i)
            gap_free(await rt.events(xid))
        for logical, count in ledger.effects.items():
            if logical[1] not in lost:
                assert count == 1, logical
                assert len(ledger.keys[logical]) == 1, logical
        # Reserve and each line always; Approve unless a lost child outcome failed the Map
        # first; Capture only when the execution succeeded.
        assert len([e for e in ledger.effects if e[1] not in lost]) == sum(
            1 + len(order(i)["lines"]) + (i not in lost_outcome) + (i not in failed)
            for i in survivors)
        if ack:
            # Nothing the API acknowledged was lost: no start (every execution is there)
            # and no callback (each execution's was answered once: a lost one would have
            # been answered again when its request came again).  Writes the failover did
            # lose were the workers' own, redone (history_events_lost).
            assert not lost and not failed, report
            callbacks = report["callbacks"]
            assert callbacks.get("ok", 0) + callbacks.get("ok after 503", 0) == EXECUTIONS, report
