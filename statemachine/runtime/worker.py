"""The durable worker: work items in, ``advance()``, one atomic commit out.

A :class:`Worker` process runs four kinds of loops against every shard:

* **transitions** — per shard, ``XREADGROUP`` (group "workers", COUNT > 1) on the ready
  stream, plus ``XAUTOCLAIM`` of items idle longer than the lease (a dead worker's); N
  processors load the record, call ``advance()`` (each machine version compiled once) and
  commit everything the decision implies with ``commit.lua``: history, the record under a
  compare-and-set on ``rev``, task dispatches, timers, children, indexes, the XACK.
  A refused commit (the record moved on) is retried from a fresh load; a duplicate item
  then finds nothing to do and is just acknowledged.
* **invokers** — per shard, the outbox (group "invokers"): perform the task with
  :class:`~statemachine.runtime.invokers.Invokers` and commit the result event together
  with the dispatch's ack (``result.lua``).  A crash in between delivers the dispatch again,
  with the same ``Idempotency-Key``.  Dispatches of executions that no longer wait for that
  token (stopped, timed out) are dropped unperformed.
* **scheduler** — moves due timers into the ready streams (``promote.lua``), sleeping until
  the next due time or ``timer_max_sleep_ms``; a Wait of three days costs nothing.
* **lease keeper** — re-claims the items this process holds every third of the lease, so a
  long HTTP call is not taken over by another worker while this one is alive.

Map and Parallel: ``StartChildren`` writes the children's inputs to a hash in chunks,
creates the first ``MaxConcurrency`` child records and enqueues their ``Started``; each
child's ``Finish`` records its outcome by index and updates the group's counters with the
pure policy of :mod:`statemachine.interpreter.children` under an optimistic compare-and-set
on the counters' version (``cv``), starting the next children lazily.  The last one
enqueues ``ChildrenFinished`` for the parent, whose worker reads the outcomes back by index.

``python -m statemachine.runtime.worker --redis-url URL [--concurrency N]`` runs one.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import time
from typing import Any

from statemachine.errors import StoreError
from statemachine.interpreter import children as _children
from statemachine.interpreter.records import Execution
from statemachine.interpreter.step import advance, new_child
from statemachine.language.model import Machine, compile_machine
from statemachine.runtime import keys as K
from statemachine.runtime.invokers import Invokers, kind
from statemachine.runtime.redis_store import Commit, RedisStore, dumps, loads
from statemachine.runtime.settings import Settings

log = logging.getLogger(__name__)
Item = tuple[K.Shard, str, bytes, bytes]


class _Stale(Exception):
    """What was read for a commit changed meanwhile: load again and retry."""


def now_ms() -> int:
    return int(time.time() * 1000)


class Worker:
    """One worker process's loops; ``run()`` until ``stop()``."""

    def __init__(
        self, redis_url: str | None = None, settings: Settings | None = None,
        concurrency: int | None = None,
    ) -> None:
        base = settings or Settings.from_env()
        self.settings = base.with_(redis_url=redis_url, concurrency=concurrency)
        self.consumer = self.settings.consumer or f"{socket.gethostname()}:{os.getpid()}"
        self.store: RedisStore | None = None
        self.invokers: Invokers | None = None
        self._machines: dict[tuple[str, int], Machine] = {}
        self._held: dict[str, set[bytes]] = {}
        self._stopping = asyncio.Event()
        self._done = asyncio.Event()
        self._wake = asyncio.Event()
        self.transitions = 0
        self._started = False
        self._stripes = [asyncio.Lock() for _ in range(64)]

    # -- life cycle --------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and work until :meth:`stop`; then finish what is in hand and return."""
        s = self.settings
        self._started = True
        try:
            self.store = await RedisStore.connect(s, wait_s=60.0)
            self.invokers = Invokers(s.invokers)
            ready: asyncio.Queue[Item | None] = asyncio.Queue(maxsize=s.concurrency)
            tasks: asyncio.Queue[Item | None] = asyncio.Queue(maxsize=s.invoke_concurrency)
            readers = [
                asyncio.create_task(self._reader(shard, shard.ready, K.WORKERS_GROUP, ready))
                for shard in self.store.shards
            ] + [
                asyncio.create_task(self._reader(shard, shard.tasks, K.INVOKERS_GROUP, tasks))
                for shard in self.store.shards
            ]
            consumers = [asyncio.create_task(self._consume(ready, self._process))
                         for _ in range(s.concurrency)]
            consumers += [asyncio.create_task(self._consume(tasks, self._dispatch))
                          for _ in range(s.invoke_concurrency)]
            background = [asyncio.create_task(self._scheduler()),
                          asyncio.create_task(self._lease_keeper())]
            await self._stopping.wait()
            await asyncio.gather(*readers, return_exceptions=True)
            for queue, n in ((ready, s.concurrency), (tasks, s.invoke_concurrency)):
                for _ in range(n):
                    await queue.put(None)
            _, late = await asyncio.wait(consumers, timeout=10.0)
            for task in [*late, *background]:
                task.cancel()
            await asyncio.gather(*late, *background, return_exceptions=True)
        finally:
            if self.invokers is not None:
                await self.invokers.close()
            if self.store is not None:
                await self.store.close()
            self._done.set()

    async def stop(self) -> None:
        """Stop taking work, finish what is in hand (items left over stay pending), return."""
        self._stopping.set()
        if self._started:
            await self._done.wait()

    def _stopped(self) -> bool:
        return self._stopping.is_set()

    # -- reading streams ---------------------------------------------------------------------

    async def _reader(self, shard: K.Shard, stream: str, group: str,
                      queue: asyncio.Queue[Item | None]) -> None:
        """Feed ``queue`` from one shard's stream: new entries, and idle ones of dead workers."""
        assert self.store is not None
        s, client = self.settings, self.store.client
        held = self._held.setdefault(stream, set())
        claim_every = max(s.lease_ms / 2000, 0.1)
        next_claim = 0.0
        loop = asyncio.get_running_loop()

        async def read() -> list[Any]:
            entries: list[Any] = []
            if loop.time() >= next_claim:
                claimed = await client.xautoclaim(stream, group, self.consumer, s.lease_ms,
                                                  "0-0", count=s.read_count)
                entries.extend(claimed[1])
            if not entries:
                reply = await client.xreadgroup(group, self.consumer, {stream: ">"},
                                                count=s.read_count, block=s.block_ms)
                for _, got in reply or ():
                    entries.extend(got)
            return entries

        while not self._stopped():
            try:
                entries = await self.store.retry(read, give_up_s=None, stop=self._stopped)
            except StoreError:
                return
            if loop.time() >= next_claim:
                next_claim = loop.time() + claim_every
            for entry_id, fields in entries:
                if not fields or entry_id in held:
                    continue
                held.add(entry_id)
                await queue.put((shard, stream, entry_id, fields[b"m"]))

    async def _consume(self, queue: asyncio.Queue[Item | None], handle: Any) -> None:
        assert self.store is not None
        while True:
            item = await queue.get()
            if item is None:
                return
            shard, stream, entry_id, message = item
            try:
                await self.store.retry(lambda: handle(shard, entry_id, message),
                                       give_up_s=None, stop=self._stopped)
            except StoreError:
                pass  # Redis gone while stopping: the item stays pending for another worker
            except Exception:
                log.exception("work item %s on %s failed; it stays pending", entry_id, shard.tag)
            finally:
                self._held[stream].discard(entry_id)

    async def _lease_keeper(self) -> None:
        """Reset the idle time of every item in hand, so XAUTOCLAIM leaves them alone."""
        assert self.store is not None
        client = self.store.client
        group_of = {}
        for shard in self.store.shards:
            group_of[shard.ready] = K.WORKERS_GROUP
            group_of[shard.tasks] = K.INVOKERS_GROUP
        while True:
            await asyncio.sleep(self.settings.lease_ms / 3000)
            try:
                pipe = client.pipeline(transaction=False)
                for stream, ids in self._held.items():
                    if ids:
                        pipe.xclaim(stream, group_of[stream], self.consumer, 0, list(ids), justid=True)
                await pipe.execute()
            except Exception:  # Redis down: the next round tries again
                continue

    # -- transitions -------------------------------------------------------------------------

    async def _process(self, shard: K.Shard, entry_id: bytes, message: bytes) -> None:
        """Apply one work item: load, advance, commit; retried from a fresh load when refused."""
        assert self.store is not None
        store, client = self.store, self.store.client
        msg = loads(message)
        execution_id, event = msg["x"], msg["e"]
        record_key = shard.record(execution_id)
        for _ in range(self.settings.commit_retries):
            raw = await client.hget(record_key, "r")
            if raw is None:
                await self._ack(shard, entry_id)
                return
            record = loads(raw)
            machine = await self._machine(record["machine"], record["machine_version"])
            if machine is None:
                log.error("no definition %s v%s for %s", record["machine"],
                          record["machine_version"], execution_id)
                await self._ack(shard, entry_id)
                return
            current = event
            if current["type"] == "ChildrenFinished" and "total" in current:
                current = await self._with_outcomes(shard, record, current)
            now = now_ms()
            decision = advance(machine, record, current, now=now)
            if decision.execution is record:
                await self._ack(shard, entry_id)
                return
            commit = Commit(shard.ready, entry_id)
            commit.guard(record_key, "rev", str(record["rev"]))
            lock = self._group_lock(decision.execution, decision.commands)
            if lock is not None:
                await lock.acquire()
            try:
                wake = await self._build(shard, commit, decision.execution, decision.history,
                                         decision.commands, current, now)
                applied, _ = await store.commit(commit)
            except _Stale:
                continue
            finally:
                if lock is not None:
                    lock.release()
            if applied:
                self.transitions += 1
                if wake:
                    self._wake.set()
                return
        log.warning("work item %s for %s kept losing its compare-and-set", entry_id, execution_id)

    def _group_lock(self, ex: Execution, commands: list[Any]) -> asyncio.Lock | None:
        """The lock serialising, in this process, the ends of one group's children.

        Their commits compare-and-set the group's counters; without it, dozens of siblings
        finishing at once in one process would mostly refuse each other.
        """
        if ex["parent"] is None or not any(c["type"] == "Finish" for c in commands):
            return None
        link = ex["parent"]
        return self._stripes[hash((link["id"], link["group"])) % len(self._stripes)]

    async def _ack(self, shard: K.Shard, entry_id: bytes) -> None:
        assert self.store is not None
        pipe = self.store.client.pipeline(transaction=False)
        pipe.xack(shard.ready, K.WORKERS_GROUP, entry_id)
        pipe.xdel(shard.ready, entry_id)
        await pipe.execute()

    async def _machine(self, name: str, version: int) -> Machine | None:
        found = self._machines.get((name, version))
        if found is None:
            assert self.store is not None
            stored = await self.store.machine_definition(name, version)
            if stored is None:
                return None
            found = self._machines[(name, version)] = compile_machine(stored["definition"])
        return found

    async def _with_outcomes(self, shard: K.Shard, record: Execution, event: dict[str, Any]) -> dict[str, Any]:
        """A ``ChildrenFinished`` with the outcomes read back by index (when still awaited)."""
        if record["waiting"] != "children" or record["group"] != event["group"]:
            return event
        assert self.store is not None
        key = shard.group_results(record["id"], event["group"])
        values = await self.store.hmget_chunked(key, list(range(event["total"])),
                                                self.settings.input_chunk)
        outcomes = [loads(v) if v is not None else {"status": "FAILED", "error": "States.Runtime",
                                                    "cause": "lost child outcome"} for v in values]
        return {"type": "ChildrenFinished", "group": event["group"], "outcomes": outcomes}

    async def _build(self, shard: K.Shard, commit: Commit, ex: Execution, history: list[Any],
                     commands: list[Any], event: dict[str, Any], now: int) -> bool:
        """Add the decision's writes to ``commit``; True when a timer is due soon."""
        xid = ex["id"]
        record_key = shard.record(xid)
        commit.history(shard.history(xid), shard.record(K.root_of(xid)), map(dumps, history))
        token = ex["token"] if ex["waiting"] == "task" and ex["token"] else ""
        commit.op("HSET", record_key, "r", dumps(ex), "rev", ex["rev"], "status", ex["status"],
                  "token", token)
        if event["type"] == "ChildrenFinished":
            self._drop_group(shard, commit, xid, event["group"])
        soon = False
        for command in commands:
            kind_ = command["type"]
            if kind_ == "InvokeTask":
                self._invoke(shard, commit, xid, command)
            elif kind_ == "StartTimer":
                commit.op("ZADD", shard.timers, command["due"], command["id"])
                commit.op("HSET", shard.timer_events, command["id"],
                          dumps({"x": xid, "e": command["event"]}))
                soon = soon or command["due"] - now < self.settings.timer_max_sleep_ms
            elif kind_ == "CancelTimer":
                commit.op("ZREM", shard.timers, command["id"])
                commit.op("HDEL", shard.timer_events, command["id"])
            elif kind_ == "StartChildren":
                await self._start_children(shard, commit, ex, command, now)
            elif kind_ == "StopChildren":
                await self._stop_children(shard, commit, xid, command)
            elif kind_ == "Finish":
                if ex["parent"] is None:
                    self._finish_root(shard, commit, ex)
                else:
                    await self._finish_child(shard, commit, ex, command, now)
        return soon

    def _invoke(self, shard: K.Shard, commit: Commit, xid: str, command: dict[str, Any]) -> None:
        """Outbox the dispatch; an activity task goes straight onto its activity's queue."""
        resource = command.get("resource") or ""
        if kind(resource) == "activity":
            name = resource.rsplit(":", 1)[1]
            commit.op("RPUSH", shard.activity(name),
                      dumps({"x": xid, "token": command["token"], "input": command["input"]}))
        else:
            commit.op("XADD", shard.tasks, "m", dumps({"x": xid, "c": command}))

    def _finish_root(self, shard: K.Shard, commit: Commit, ex: Execution) -> None:
        xid, keep = ex["id"], self.settings.retention_s
        commit.op("ZREM", shard.index_status("RUNNING"), xid)
        commit.op("ZADD", shard.index_status(ex["status"]), ex["start"], xid)
        commit.op("EXPIRE", shard.record(xid), keep)
        commit.op("EXPIRE", shard.history(xid), keep)
        commit.op("EXPIRE", shard.name(ex["machine"], ex["name"]), keep)

    @staticmethod
    def _drop_group(shard: K.Shard, commit: Commit, parent_id: str, group: str) -> None:
        for key in (shard.group(parent_id, group), shard.group_inputs(parent_id, group),
                    shard.group_results(parent_id, group), shard.group_running(parent_id, group)):
            commit.op("DEL", key)

    # -- children ----------------------------------------------------------------------------

    async def _start_children(self, shard: K.Shard, commit: Commit, parent: Execution,
                              command: dict[str, Any], now: int) -> None:
        """Open a group: inputs in chunks, counters, the first children under MaxConcurrency."""
        assert self.store is not None
        s = self.settings
        policy = dict(command)
        if not policy.get("max_concurrency"):
            policy["max_concurrency"] = s.children_in_flight
        counters, first = _children.open_group(policy)
        pid, group = parent["id"], command["group"]
        inputs, items = command["inputs"], command.get("items")
        rest = {i: dumps([inputs[i], items[i] if items is not None else None])
                for i in range(len(first), len(inputs))}
        if rest:
            await self.store.hset_chunked(shard.group_inputs(pid, group), rest, s.input_chunk)
        spec = {
            "group": group, "kind": command["kind"], "paths": command["paths"],
            "vars": command.get("vars") or {}, "items": items is not None,
            "parent": {
                "id": pid, "name": parent["name"], "machine": parent["machine"],
                "machine_version": parent["machine_version"], "salt": parent["salt"],
                "input": None, "start": parent["start"],
                "root": parent["root"] or {"id": pid, "name": parent["name"],
                                           "input": parent["input"], "start": parent["start"]},
            },
        }
        commit.op("HSET", shard.group(pid, group), "c", dumps(counters), "cv", 1, "spec", dumps(spec))
        for i in first:
            self._create_child(shard, commit, spec, i, inputs[i],
                               items[i] if items is not None else None, now)

    def _create_child(self, shard: K.Shard, commit: Commit, spec: dict[str, Any], index: int,
                      input: Any, item: Any, now: int) -> None:
        command = {"group": spec["group"], "paths": spec["paths"], "inputs": {index: input},
                   "items": {index: item} if spec["items"] else None, "vars": spec["vars"]}
        child = new_child(spec["parent"], command, index, now)
        if spec["kind"] == "map" and child["item"] is None:
            child["item"] = {"Index": index}
        cid = child["id"]
        commit.op("HSET", shard.record(cid), "r", dumps(child), "rev", 0, "status", "RUNNING",
                  "token", "")
        commit.op("XADD", shard.ready, "m", dumps({"x": cid, "e": {"type": "Started"}}))
        commit.op("SADD", shard.group_running(spec["parent"]["id"], spec["group"]), cid)

    async def _stop_children(self, shard: K.Shard, commit: Commit, parent_id: str,
                             command: dict[str, Any]) -> None:
        """StopRequested to every running child; the group is dropped (late ends are ignored)."""
        assert self.store is not None
        group = command["group"]
        pipe = self.store.client.pipeline(transaction=False)
        pipe.hget(shard.group(parent_id, group), "cv")
        pipe.smembers(shard.group_running(parent_id, group))
        cv, running = await pipe.execute()
        if cv is None:
            return
        commit.guard(shard.group(parent_id, group), "cv", cv.decode())
        stop = dumps({"type": "StopRequested", "error": command.get("error"), "cause": command.get("cause")})
        for child in sorted(running):
            commit.op("XADD", shard.ready, "m", b'{"x":' + dumps(child.decode()) + b',"e":' + stop + b"}")
        self._drop_group(shard, commit, parent_id, group)

    async def _finish_child(self, shard: K.Shard, commit: Commit, ex: Execution,
                            command: dict[str, Any], now: int) -> None:
        """Record a child's outcome; start the next children; tell the parent when done."""
        assert self.store is not None
        client, s = self.store.client, self.settings
        commit.op("EXPIRE", shard.record(ex["id"]), s.retention_s)
        link = ex["parent"]
        pid, group, index = link["id"], link["group"], link["index"]
        gkey = shard.group(pid, group)
        raw, cv, spec_raw = await client.hmget(gkey, ["c", "cv", "spec"])
        if raw is None:
            return
        outcome = {k: command.get(k) for k in ("status", "output", "error", "cause")}
        counters, start, verdict = _children.child_finished(loads(raw), index, outcome)
        if counters.get("closed") and verdict is None:
            return
        commit.guard(gkey, "cv", cv.decode())
        commit.op("HSET", gkey, "c", dumps(counters), "cv", int(cv) + 1)
        commit.op("HSET", shard.group_results(pid, group), index, dumps(outcome))
        commit.op("SREM", shard.group_running(pid, group), ex["id"])
        if start:
            spec = loads(spec_raw)
            ikey = shard.group_inputs(pid, group)
            for i, value in zip(start, await client.hmget(ikey, start), strict=True):
                if value is None:  # another child started it since we read the counters
                    raise _Stale
                child_input, item = loads(value)
                self._create_child(shard, commit, spec, i, child_input, item, now)
            commit.op("HDEL", ikey, *start)
        if verdict is None:
            return
        if "failed" in verdict:
            running = await client.smembers(shard.group_running(pid, group))
            stop = b'"e":{"type":"StopRequested","error":null,"cause":null}}'
            for child in sorted(running - {ex["id"].encode()}):
                commit.op("XADD", shard.ready, "m", b'{"x":' + dumps(child.decode()) + b"," + stop)
            event = {"type": "ChildrenFinished", "group": group, "failed": verdict["failed"]}
        else:
            event = {"type": "ChildrenFinished", "group": group, "total": counters["total"]}
        commit.op("XADD", shard.ready, "m", dumps({"x": pid, "e": event}))

    # -- task dispatches ---------------------------------------------------------------------

    async def _dispatch(self, shard: K.Shard, entry_id: bytes, message: bytes) -> None:
        """Perform one task and commit its result with the dispatch's ack."""
        assert self.store is not None and self.invokers is not None
        msg = loads(message)
        xid, command = msg["x"], msg["c"]
        status, token = await self.store.client.hmget(shard.record(xid), ["status", "token"])
        result = b""
        if status == b"RUNNING" and token is not None and token.decode() == command["token"]:
            event = await self.invokers.invoke(command)
            if event is not None:
                event = dict(event)
                event["token"] = command["token"]
                result = dumps({"x": xid, "e": event})
        await self.store.retry(
            lambda: self.store.script("result", [shard.tasks, shard.ready], [entry_id, result]),
            give_up_s=None, stop=self._stopped,
        )

    # -- timers ------------------------------------------------------------------------------

    async def _scheduler(self) -> None:
        """Promote due timers, sleeping until the next one (or the max sleep, or a local wake)."""
        assert self.store is not None
        store, s = self.store, self.settings
        max_sleep = s.timer_max_sleep_ms / 1000
        while not self._stopped():
            now = now_ms()
            try:
                results = await asyncio.gather(*(
                    store.script("promote", [sh.timers, sh.timer_events, sh.ready], [now, s.timer_batch])
                    for sh in store.shards
                ))
            except Exception:
                await asyncio.sleep(max_sleep)
                continue
            if any(int(r[0]) >= s.timer_batch for r in results):
                continue
            dues = [int(r[1]) for r in results if int(r[1]) >= 0]
            delay = max_sleep if not dues else min(max_sleep, max(0.0, (min(dues) - now) / 1000))
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(delay, 0.002))
            except TimeoutError:
                pass


def main(argv: list[str] | None = None) -> int:
    """``python -m statemachine.runtime.worker``: one worker until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="statemachine.runtime.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default=None, help="Redis URL (default $REDIS_URL)")
    parser.add_argument("--concurrency", type=int, default=None, help="work items in flight")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def serve() -> None:
        worker = Worker(args.redis_url, concurrency=args.concurrency)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(worker.stop()))
        await worker.run()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
