"""The durable worker: work items in, ``advance()``, one atomic commit out.

A :class:`Worker` process runs four kinds of loops against every shard:

* **transitions** — one ``XREADGROUP`` (group "workers", COUNT > 1, BLOCK) over every
  shard's ready stream, plus ``XAUTOCLAIM`` of items idle longer than the lease (a dead
  worker's); N processors load the record, call ``advance()`` (each machine version
  compiled once) and commit everything the decision implies with ``commit.lua``: history,
  the record under a compare-and-set on ``rev``, task dispatches, timers, children,
  indexes, the XACK.  A refused commit (the record moved on) is retried from a fresh load;
  a duplicate item then finds nothing to do and is just acknowledged.
* **invokers** — the same over every shard's outbox (group "invokers"): perform the task with
  :class:`~statemachine.runtime.invokers.Invokers` and apply its result right away: the
  transition it causes commits together with the dispatch's ack, with no hop through the
  ready stream.  A crash in between delivers the dispatch again, with the same
  ``Idempotency-Key``.  Dispatches taken over from another worker whose execution no
  longer waits for that token (stopped, timed out) are dropped unperformed.
* **scheduler** — moves due timers into the ready streams (``promote.lua``), sleeping until
  the next due time; a commit that sets a shard's earliest timer publishes its due time on
  ``sm:timers`` and wakes it earlier.  ``timer_max_sleep_ms`` bounds the sleep only as a
  safety net for a lost message; a Wait of three days costs nothing meanwhile.
* **lease keeper** — re-claims the items this process holds every third of the lease, so a
  long HTTP call is not taken over by another worker while this one is alive.
* **stats** — every ``stats_flush_ms`` adds this process's counters (transitions, tasks by
  result, refused commits, dead letters) to ``sm:stats`` in one MULTI, off the hot path;
  ``Service.stats()`` reads them for ``GET /metrics``.

Dead letters: an entry whose handling raises (a bug, a corrupt record; not Redis being
away, which is retried) stays pending and comes back after its lease; once it has been
delivered ``max_deliveries`` times, ``dead.lua`` moves it to the shard's ``sm:T:dead``
stream with the error, atomically.  The execution is left as it is;
``Service.requeue_dead_letter`` puts the message back once the cause is fixed.

Map and Parallel: ``StartChildren`` writes the children's inputs to a hash (in chunks when
large), the group's counters and spec, and enqueues ``Started`` items for the first
``MaxConcurrency`` children.  No child record exists yet: the worker that takes a child's
``Started`` builds it from the spec and the stored input, under a guard that the record is
missing and the group open.  A child's final commit applies the policy of
:mod:`statemachine.interpreter.children` inside ``commit.lua`` (op ``CHILD``): outcome by
index, counters, the next ``Started`` items, the verdict — atomically with the child's own
end, so siblings finish in parallel without any lock or retry.  The last one enqueues
``ChildrenFinished`` for the parent, whose worker reads the outcomes back by index.

``python -m statemachine.runtime.worker --redis-url URL [--concurrency N]`` runs one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections import Counter
from dataclasses import replace
from typing import Any, assert_never

from statemachine.errors import StoreError
from statemachine.interpreter import children as _children
from statemachine.interpreter.commands import (
    CancelTimer,
    Command,
    Continue,
    Finish,
    InvokeTask,
    StartChildren,
    StartTimer,
    StopChildren,
    invoke_task,
)
from statemachine.interpreter.records import TERMINAL, Execution
from statemachine.interpreter.step import advance, child_execution
from statemachine.language.model import Machine, compile_machine
from statemachine.language.scope import MISSING
from statemachine.runtime import keys as K
from statemachine.runtime.invokers import Invokers, kind
from statemachine.runtime.redis_store import (
    Commit,
    RedisStore,
    dumps,
    loads,
    pack_record,
    unpack_record,
)
from statemachine.runtime.script_pipe import CommandBatch, ScriptBatch
from statemachine.runtime.settings import Settings

log = logging.getLogger(__name__)
Item = tuple[K.Shard, str, bytes, bytes, bool]  # shard, stream, id, message, fresh
Cached = tuple[str, bytes]  # an execution id and its record as just committed
TIMERS_CHANNEL = "sm:timers"
SPEC_CACHE = 256
SWEEP_BATCH = 1_000
FINAL_STATUSES = tuple(sorted(TERMINAL))  # the status indexes the sweeper pages through
MAX_ERROR_BYTES = 2048


def now_ms() -> int:
    return int(time.time() * 1000)


def _error_text(exc: BaseException) -> str:
    """``<type>: <message>`` of an exception, cut to :data:`MAX_ERROR_BYTES` of UTF-8."""
    text = f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")[:MAX_ERROR_BYTES]
    return text.decode("utf-8", "ignore")


def _task_result(event: dict[str, Any] | None) -> str:
    """The ``sm:stats`` field counting a performed task by its result."""
    if event is None:
        return "tasks:sent"  # a callback task: the result comes later
    if event["type"] == "TaskSucceeded":
        return "tasks:succeeded"
    return "tasks:timed_out" if event.get("error") == "States.Timeout" else "tasks:failed"


def _stored_event(event: dict[str, Any]) -> bytes:
    """A history event as stored: without id/previousEventId, which its list position gives."""
    return dumps({k: v for k, v in event.items() if k != "id" and k != "previousEventId"})


def _timer_message(xid: str, command: StartTimer) -> bytes:
    """A timer's work item, or b"" for the plain ``TimerFired`` that promote.lua builds from
    the timer id (``<execution id>:...``) itself, saving a hash entry per parked execution."""
    timer = command.id
    if (command.event == {"type": "TimerFired", "timer": timer} and ":" not in xid
            and timer.startswith(xid + ":") and dumps(timer) == b'"' + timer.encode() + b'"'):
        return b""
    return dumps({"x": xid, "e": command.event})


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
        self._commits: ScriptBatch | None = None
        self._reads: CommandBatch | None = None
        self.invokers: Invokers | None = None
        self._machines: dict[tuple[str, int], Machine] = {}
        self._loading: dict[tuple[str, int], asyncio.Future[Machine | None]] = {}
        self._held: dict[str, set[bytes]] = {}
        self._stopping = asyncio.Event()
        self._done = asyncio.Event()
        self._wake = asyncio.Event()
        self._freed = asyncio.Event()  # an entry in hand was let go
        self._next_due: int | None = None
        self._specs: dict[tuple[str, str], dict[str, Any]] = {}
        self.transitions = 0
        self._counts: Counter[str] = Counter()  # sm:stats fields not flushed yet
        self._flushed_transitions = 0
        self._started = False

    # -- life cycle --------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and work until :meth:`stop`; then finish what is in hand and return."""
        s = self.settings
        self._started = True
        try:
            self.store = await RedisStore.connect(s, wait_s=60.0)
            self._commits = ScriptBatch(self.store, "commit")
            self._reads = CommandBatch(self.store)
            self.invokers = Invokers(s.invokers)
            ready: asyncio.Queue[Item | None] = asyncio.Queue(maxsize=s.concurrency)
            tasks: asyncio.Queue[Item | None] = asyncio.Queue(maxsize=s.invoke_concurrency)
            shards = self.store.shards
            readers = [
                asyncio.create_task(self._reader({sh.ready: sh for sh in shards}, K.WORKERS_GROUP, ready)),
                asyncio.create_task(self._reader({sh.tasks: sh for sh in shards}, K.INVOKERS_GROUP, tasks)),
            ]
            consumers = [asyncio.create_task(self._consume(ready, self._process))
                         for _ in range(s.concurrency)]
            consumers += [asyncio.create_task(self._consume(tasks, self._dispatch))
                          for _ in range(s.invoke_concurrency)]
            background = [asyncio.create_task(self._scheduler()),
                          asyncio.create_task(self._timer_wakeups()),
                          asyncio.create_task(self._lease_keeper()),
                          asyncio.create_task(self._flush_stats()),
                          asyncio.create_task(self._sweeper())]
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
            if self._commits is not None:
                self._commits.close()
            if self._reads is not None:
                self._reads.close()
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

    async def _reader(self, streams: dict[str, K.Shard], group: str,
                      queue: asyncio.Queue[Item | None]) -> None:
        """Feed ``queue`` from every shard's stream: new entries, and idle ones of dead workers.

        One blocking ``XREADGROUP`` covers all the streams, so an idle worker sends one
        command per ``block_ms``, not one per shard.  A companion task claims the entries
        left idle by dead workers (``XAUTOCLAIM`` of every stream, pipelined) every half
        lease, whatever the reading loop is doing.
        """
        assert self.store is not None
        s, client = self.settings, self.store.client
        by_name = {name.encode(): name for name in streams}
        for name in streams:
            self._held.setdefault(name, set())
        capacity = s.concurrency if group == K.WORKERS_GROUP else s.invoke_concurrency

        # XREADGROUP's COUNT applies to each stream: a reader asks every stream for a share
        # of its free hands, so a burst spread over the shards is spread over the workers
        # too; only the streams that filled their share are then read for the rest (a Map's
        # children all live on one shard).
        spread = len(streams)

        async def read() -> list[tuple[str, Any, bool]]:
            room = capacity - self._in_hand(streams)
            count = max(1, min(s.read_count, room // spread))
            reply = await client.xreadgroup(group, self.consumer, dict.fromkeys(streams, ">"),
                                            count=count, block=s.block_ms)
            batches = [(by_name[name], got, True) for name, got in reply or ()]
            full = [name for name, got, _ in batches if len(got) == count]
            left = min(s.read_count, room) - sum(len(got) for _, got, _ in batches)
            if full and left >= len(full):
                more = await client.xreadgroup(group, self.consumer, dict.fromkeys(full, ">"),
                                               count=left // len(full))
                batches += [(by_name[name], got, True) for name, got in more or ()]
            return batches

        claimer = asyncio.create_task(self._claimer(streams, group, queue))
        try:
            while not self._stopped():
                # Take no more than there are free hands for: entries left in the stream go
                # to the other workers, so a burst spreads over them all.
                while self._in_hand(streams) >= capacity and not self._stopped():
                    self._freed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._freed.wait(), timeout=s.block_ms / 1000)
                try:
                    batches = await self.store.retry(read, give_up_s=None, stop=self._stopped)
                except StoreError:
                    return
                await self._enqueue(streams, batches, queue)
        finally:
            claimer.cancel()

    async def _claimer(self, streams: dict[str, K.Shard], group: str,
                       queue: asyncio.Queue[Item | None]) -> None:
        """Every half lease, take over the streams' entries idle longer than the lease."""
        assert self.store is not None
        s, client = self.settings, self.store.client

        async def claim() -> list[tuple[str, Any, bool]]:
            pipe = client.pipeline(transaction=False)
            for name in streams:
                pipe.xautoclaim(name, group, self.consumer, s.lease_ms, "0-0", count=s.read_count)
            replies = await pipe.execute()
            return [(name, reply[1], False) for name, reply in zip(streams, replies, strict=True)]

        while not self._stopped():
            try:
                await self._enqueue(streams, await self.store.retry(claim, give_up_s=None,
                                                                    stop=self._stopped), queue)
            except StoreError:
                return
            await asyncio.sleep(max(s.lease_ms / 2000, 0.05))

    def _in_hand(self, streams: Any) -> int:
        """Entries of ``streams`` this worker holds (queued or being handled)."""
        return sum(len(self._held[name]) for name in streams)

    async def _enqueue(self, streams: dict[str, K.Shard], batches: list[tuple[str, Any, bool]],
                       queue: asyncio.Queue[Item | None]) -> None:
        """Queue the entries not in hand already; from now on the lease keeper keeps them ours."""
        batch: list[Item] = []
        for name, entries, fresh in batches:
            shard, held = streams[name], self._held[name]
            for entry_id, fields in entries:
                if fields and entry_id not in held:
                    held.add(entry_id)
                    # A requeued dead letter is not fresh: its execution may have moved on.
                    batch.append((shard, name, entry_id, fields[b"m"],
                                  fresh and b"requeued" not in fields))
        for item in batch:
            await queue.put(item)

    async def _consume(self, queue: asyncio.Queue[Item | None], handle: Any) -> None:
        """Handle items from ``queue``, and straight after one, the task dispatch its commit
        took (``commit.lua``'s TAKE) with the record the commit left."""
        assert self.store is not None
        follow: tuple[Item, Cached | None] | None = None
        while True:
            if follow is None:
                item = await queue.get()
                if item is None:
                    return
                cached = None
            else:
                (item, cached), follow = follow, None
            shard, stream, entry_id, message, fresh = item
            try:
                follow = await self.store.retry(
                    lambda: handle(shard, entry_id, message, fresh, cached),
                    give_up_s=None, stop=self._stopped)
            except StoreError:
                pass  # Redis gone while stopping: the item stays pending for another worker
            except Exception as exc:
                await self._dead_letter(shard, stream, entry_id, message, exc)
            finally:
                self._held[stream].discard(entry_id)
                self._freed.set()

    async def _dead_letter(self, shard: K.Shard, stream: str, entry_id: bytes, message: bytes,
                           exc: Exception) -> None:
        """After handling an entry raised: leave it pending for another delivery, or, once it
        has been delivered ``max_deliveries`` times, move it to the shard's dead-letter stream
        (``dead.lua``).  Either way one ERROR log record; nothing else happens on success."""
        assert self.store is not None
        store, limit = self.store, self.settings.max_deliveries
        group = K.WORKERS_GROUP if stream == shard.ready else K.INVOKERS_GROUP
        args = [group, entry_id, limit, message, _error_text(exc), self.consumer, now_ms()]
        try:
            delivered, dead = await store.retry(
                lambda: store.script("dead", [stream, shard.dead], args), give_up_s=5.0,
                stop=self._stopped)
        except Exception as failed:
            log.error("work item %s of %s failed; it stays pending (its deliveries could not be "
                      "counted: %s)", entry_id.decode(), stream, failed, exc_info=exc)
            return
        if dead:
            self._counts["dead_lettered"] += 1
            log.error("work item %s of %s failed on each of %d deliveries, last with %s; moved to "
                      "%s as dead letter %d-%s", entry_id.decode(), stream, delivered,
                      _error_text(exc), shard.dead, shard.n, dead.decode())
        else:
            log.error("work item %s of %s failed (delivery %d of %d); it stays pending",
                      entry_id.decode(), stream, delivered, limit, exc_info=exc)

    async def _flush_stats(self) -> None:
        """Add the counters to ``sm:stats`` every ``stats_flush_ms``, and once more at the end."""
        try:
            while True:
                await asyncio.sleep(self.settings.stats_flush_ms / 1000)
                with contextlib.suppress(Exception):  # Redis down: kept for the next round
                    await self._flush()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._flush(), 1.0)

    async def _flush(self) -> None:
        """One MULTI of HINCRBY for the counts since the last flush (put back if it fails)."""
        assert self.store is not None
        counts, self._counts = self._counts, Counter()
        transitions = self.transitions - self._flushed_transitions
        if transitions:
            counts["transitions"] += transitions
        if not counts:
            return
        pipe = self.store.client.pipeline(transaction=True)
        for name, amount in counts.items():
            pipe.hincrby(K.STATS, name, amount)
        try:
            await pipe.execute()
        except BaseException:
            del counts["transitions"]
            self._counts.update(counts)
            raise
        self._flushed_transitions += transitions

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

    async def _process(self, shard: K.Shard, entry_id: bytes, message: bytes, fresh: bool,
                       cached: Cached | None = None) -> tuple[Item, Cached | None] | None:
        """Apply one work item: load, advance, commit; retried from a fresh load when refused."""
        msg = loads(message)
        return await self._apply(shard, msg["x"], msg["e"], msg.get("g"), shard.ready,
                                 K.WORKERS_GROUP, entry_id)

    async def _apply(self, shard: K.Shard, execution_id: str, event: dict[str, Any],
                     link: list[Any] | None, stream: str, group: str, entry_id: bytes,
                     cached: Cached | None = None) -> tuple[Item, Cached | None] | None:
        """Deliver ``event``: load, advance, commit, acknowledging ``entry_id`` of ``stream``
        with the commit (or alone when there is nothing to do).

        The entry is a ready work item, or a task dispatch whose result is applied right
        here: until the commit the dispatch stays pending, so a crash performs it again.
        A commit that sends a task takes that dispatch for this worker (TAKE) and returns it
        with the record just written: it is performed next (by this consumer after a task
        result, else by an invoker it is handed to), with no stream read and no record load
        in between (the record is still guarded by
        its rev, so a change made meanwhile refuses the commit and a fresh load follows).
        """
        assert self.store is not None
        store = self.store
        record_key = shard.record(execution_id)
        if cached is not None and cached[0] != execution_id:
            cached = None
        # After a task result this consumer performs the next task itself.  A first task
        # goes through the outbox, where every worker's invokers compete for it: so new
        # executions spread over the workers, and each keeps the ones it has.
        take = stream == shard.tasks
        for attempt in range(self.settings.commit_retries):
            now = now_ms()
            if stream == shard.ready:
                commit = Commit(shard.ready, entry_id)
            else:
                commit = Commit(shard.ready)
                commit.op("ACK", stream, group, entry_id)
            if attempt == 0 and cached is not None:
                record = self._existing(commit, record_key, cached[1])
            else:
                record = await self._load(shard, commit, record_key, link, now, attempt == 0)
            if record is None:
                await self._ack(stream, group, entry_id)
                return None
            machine = await self._machine(record["machine"], record["machine_version"])
            if machine is None:
                log.error("no definition %s v%s for %s", record["machine"],
                          record["machine_version"], execution_id)
                await self._ack(stream, group, entry_id)
                return None
            current = event
            if current["type"] == "ChildrenFinished" and "total" in current:
                current = await self._with_outcomes(shard, record, current)
            decision = advance(machine, record, current, now=now)
            if decision.execution is record:
                await self._ack(stream, group, entry_id)
                return None
            wake, raw = await self._build(shard, commit, decision.execution, decision.history,
                                          decision.commands, current, now, take)
            applied, _ = await store.commit(commit, self._commits)
            if applied:
                self.transitions += 1
                if wake:
                    self._wake.set()
                return self._taken(shard, commit, execution_id, raw)
            self._counts["conflicts"] += 1
        log.warning("work item %s for %s kept losing its compare-and-set", entry_id, execution_id)
        return None

    def _taken(self, shard: K.Shard, commit: Commit, execution_id: str,
               raw: bytes) -> tuple[Item, Cached | None] | None:
        """The dispatch a commit took (TAKE), held from now on, with the record it wrote."""
        if not commit.taken:
            return None
        entry_id, fields = commit.taken[0]
        self._held[shard.tasks].add(entry_id)
        for late_id, _ in commit.taken[1:]:  # COUNT 1: never, but leave none unheld
            self._held[shard.tasks].add(late_id)
        return (shard, shard.tasks, entry_id, fields[b"m"], True), (execution_id, raw)

    async def _load(self, shard: K.Shard, commit: Commit, record_key: str, link: list[Any] | None,
                    now: int, first: bool) -> Execution | None:
        """The record to advance, with its compare-and-set guard added to ``commit``.

        A lazily started Map/Parallel child (``link`` = [parent id, group, index]) that has
        no record yet gets one built from the group's spec and its stored input, guarded by
        the record being missing and the group still open; None when there is nothing to do.
        The first attempt reads only the input (the child's first commit deletes it, so an
        input still stored means no record yet, barring a race the guards catch); a retry
        reads the record and the group's state too.
        """
        assert self.store is not None and self._reads is not None
        client = self.store.client
        if link is None:
            raw = await self._reads.run("HGET", record_key, "r")
            return self._existing(commit, record_key, raw)
        pid, group, index = link
        gkey, ikey = shard.group(pid, group), shard.group_inputs(pid, group)
        spec = self._specs.get((pid, group))
        pipe = client.pipeline(transaction=False)
        if not first:
            pipe.hget(record_key, "r")
            pipe.hget(gkey, "closed")
        if spec is None:
            pipe.hget(gkey, "spec")
        pipe.hget(ikey, index)
        got = await pipe.execute()
        if not first:
            raw, closed = got[0], got[1]
            if raw is not None or closed != b"0":
                return self._existing(commit, record_key, raw)
        stored = got[-1]
        if spec is None and got[-2] is not None:
            if len(self._specs) >= SPEC_CACHE:
                self._specs.clear()
            spec = self._specs[(pid, group)] = loads(got[-2])
        if stored is None or spec is None:
            return self._existing(commit, record_key, await client.hget(record_key, "r"))
        commit.guard(record_key, "rev", "")
        commit.guard(gkey, "closed", "0")
        commit.op("HDEL", ikey, index)
        child_input, item = loads(stored)
        return child_execution(spec["parent"], group, spec["kind"], spec["paths"], index,
                               child_input, item if spec["items"] else MISSING, spec["vars"],
                               spec["execution_input"], now)

    @staticmethod
    def _existing(commit: Commit, record_key: str, raw: bytes | None) -> Execution | None:
        """A stored record (guarded by its rev), or None when there is none."""
        if raw is None:
            return None
        record: Execution = unpack_record(raw)
        commit.guard(record_key, "rev", str(record["rev"]))
        return record

    async def _ack(self, stream: str, group: str, entry_id: bytes) -> None:
        assert self.store is not None
        pipe = self.store.client.pipeline(transaction=False)
        pipe.xack(stream, group, entry_id)
        pipe.xdel(stream, entry_id)
        await pipe.execute()

    async def _machine(self, name: str, version: int) -> Machine | None:
        """A machine version, read and compiled once however many items ask at the same time."""
        key = (name, version)
        found = self._machines.get(key)
        if found is not None:
            return found
        loading = self._loading.get(key)
        if loading is None:
            loading = self._loading[key] = asyncio.ensure_future(self._compile(name, version))
        try:
            return await asyncio.shield(loading)
        finally:
            if loading.done():
                self._loading.pop(key, None)

    async def _compile(self, name: str, version: int) -> Machine | None:
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
                     commands: list[Command], event: dict[str, Any], now: int,
                     take: bool = False) -> tuple[bool, bytes]:
        """Add the decision's writes to ``commit``; (a timer is due soon, the record written).

        With ``take``, a task dispatch added to the outbox is also taken for this worker."""
        xid = ex["id"]
        record_key = shard.record(xid)
        commit.history(shard.history(xid), shard.record(K.root_of(xid)), map(_stored_event, history))
        token = ex["token"] if ex["waiting"] == "task" and ex["token"] else ""
        raw = pack_record(ex)
        commit.op("HSET", record_key, "r", raw, "rev", ex["rev"], "status", ex["status"],
                  "token", token)
        if event["type"] == "ChildrenFinished":
            self._drop_group(shard, commit, xid, event["group"])
        soon = False
        for command in commands:
            match command:
                case InvokeTask():
                    if self._invoke(shard, commit, xid, command) and take:
                        commit.take(shard.tasks, K.INVOKERS_GROUP, self.consumer)
                case StartTimer():
                    commit.timer(shard, command.id, command.due, _timer_message(xid, command))
                    soon = soon or command.due - now < self.settings.timer_max_sleep_ms
                case CancelTimer(id=timer):
                    commit.op("ZREM", shard.timers, timer)
                    commit.op("HDEL", shard.timer_events, timer)
                case Continue():  # a long run-through goes on in its own work item
                    commit.op("XADD", shard.ready, "m", dumps({"x": xid, "e": {"type": "Continue"}}))
                case StartChildren():
                    await self._start_children(shard, commit, ex, command, now)
                case StopChildren():
                    await self._stop_children(shard, commit, xid, command)
                case Finish():
                    if ex["parent"] is None:
                        self._finish_root(shard, commit, ex)
                    else:
                        self._finish_child(shard, commit, ex, command)
                case _:
                    assert_never(command)
        return soon, raw

    def _invoke(self, shard: K.Shard, commit: Commit, xid: str, command: InvokeTask) -> bool:
        """Outbox the dispatch (True); an activity task goes straight onto its activity's queue."""
        resource = command.resource or ""
        if kind(resource) == "activity":
            name = resource.rsplit(":", 1)[1]
            commit.op("RPUSH", shard.activity(name),
                      dumps({"x": xid, "token": command.token, "input": command.input}))
            return False
        commit.op("XADD", shard.tasks, "m", dumps({"x": xid, "c": command}))
        return True

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
                              command: StartChildren, now: int) -> None:
        """Open a group: inputs by index, counters and spec, ``Started`` for the first children.

        The spec carries what :func:`new_child` needs besides the input: the root's input
        only when the children can read ``$$.Execution.Input``.
        """
        assert self.store is not None
        s = self.settings
        policy = command
        if not policy.max_concurrency:
            policy = replace(command, max_concurrency=s.children_in_flight)
        counters, first = _children.open_group(policy)
        pid, group = parent["id"], command.group
        inputs, items = command.inputs, command.items
        stored = {i: dumps([inputs[i], items[i] if items is not None else None])
                  for i in range(len(inputs))}
        ikey = shard.group_inputs(pid, group)
        if len(stored) <= s.input_chunk:
            if stored:
                commit.op("HSET", ikey, *(v for pair in stored.items() for v in pair))
        else:
            await self.store.hset_chunked(ikey, stored, s.input_chunk)
        execution_input = command.execution_input
        root = parent["root"] or {"id": pid, "name": parent["name"], "input": parent["input"],
                                  "start": parent["start"]}
        if not execution_input:
            root = {**root, "input": None}
        spec = {
            "kind": command.kind, "paths": command.paths, "vars": command.vars or {},
            "items": items is not None, "execution_input": execution_input,
            "parent": {
                "id": pid, "name": parent["name"], "machine": parent["machine"],
                "machine_version": parent["machine_version"], "salt": parent["salt"],
                "input": None, "start": parent["start"], "root": root,
            },
        }
        commit.open_group(shard, pid, group, counters, dumps(spec), first)

    async def _stop_children(self, shard: K.Shard, commit: Commit, parent_id: str,
                             command: StopChildren) -> None:
        """StopRequested to every running child; the group is dropped (late ends are ignored).

        Guarded by the group's ``next``: a child started meanwhile refuses the commit, and
        the retry sees it.  Children not begun yet find the group gone and never begin.
        """
        assert self.store is not None
        group = command.group
        pipe = self.store.client.pipeline(transaction=False)
        pipe.hget(shard.group(parent_id, group), "next")
        pipe.smembers(shard.group_running(parent_id, group))
        nxt, running = await pipe.execute()
        if nxt is None:
            return
        commit.guard(shard.group(parent_id, group), "next", nxt.decode())
        stop = dumps({"type": "StopRequested", "error": command.error, "cause": command.cause})
        for index in sorted(int(i) for i in running):
            child = dumps(f"{parent_id}/{group}/{index}")
            commit.op("XADD", shard.ready, "m", b'{"x":' + child + b',"e":' + stop + b"}")
        self._drop_group(shard, commit, parent_id, group)

    def _finish_child(self, shard: K.Shard, commit: Commit, ex: Execution,
                      command: Finish) -> None:
        """Record a child's end in its group (commit.lua applies the policy atomically)."""
        commit.op("EXPIRE", shard.record(ex["id"]), self.settings.retention_s)
        link = ex["parent"]
        outcome = {"status": command.status, "output": command.output, "error": command.error,
                   "cause": command.cause}
        commit.child_finished(shard, link["id"], link["group"], link["index"], outcome)

    # -- task dispatches ---------------------------------------------------------------------

    async def _dispatch(self, shard: K.Shard, entry_id: bytes, message: bytes, fresh: bool,
                        cached: Cached | None = None) -> tuple[Item, Cached | None] | None:
        """Perform one task and apply its result here, the dispatch acknowledged by the commit.

        No hop through the ready stream: the transition that follows the result commits
        together with the dispatch's ack, so a crash in between performs the task again
        (same ``Idempotency-Key``) and a transition still happens once.  A callback task
        just acks (``result.lua``).  A dispatch taken over from another worker is checked
        first, so one whose execution moved on meanwhile is dropped unperformed.
        """
        assert self.store is not None and self.invokers is not None
        msg = loads(message)
        xid, stored = msg["x"], msg["c"]
        token, record_key = stored["token"], shard.record(xid)
        if fresh or await self._awaits(record_key, token):
            event = await self.invokers.invoke(invoke_task(stored))
            self._counts[_task_result(event)] += 1
            if event is not None:
                event = dict(event)
                event["token"] = token
                return await self._apply(shard, xid, event, None, shard.tasks, K.INVOKERS_GROUP,
                                         entry_id, cached)
        await self.store.script("result", [shard.tasks, shard.ready, record_key], [entry_id, b"", token])
        return None

    async def _awaits(self, record_key: str, token: str) -> bool:
        """Whether the execution is RUNNING and waits for the task with ``token``."""
        assert self.store is not None
        status, awaited = await self.store.client.hmget(record_key, ["status", "token"])
        return status == b"RUNNING" and awaited is not None and awaited.decode() == token

    # -- timers ------------------------------------------------------------------------------

    async def _scheduler(self) -> None:
        """Promote due timers, then sleep until the next due time (or a wake-up)."""
        assert self.store is not None
        store, s = self.store, self.settings
        max_sleep = s.timer_max_sleep_ms / 1000
        while not self._stopped():
            now = now_ms()
            self._wake.clear()
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
            self._next_due = min(dues) if dues else None
            delay = max_sleep if not dues else min(max_sleep, max(0.0, (min(dues) - now) / 1000))
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(delay, 0.002))
            except TimeoutError:
                pass

    async def _sweeper(self) -> None:
        """Every ``sweep_interval_ms``, drop from the listing indexes the finished executions
        whose records have expired (``sweep.lua``: each shard, a page of each index)."""
        assert self.store is not None
        store, s = self.store, self.settings
        while not self._stopped():
            await asyncio.sleep(s.sweep_interval_ms / 1000)
            cutoff = now_ms() - s.retention_s * 1000
            try:
                machines = sorted(k.decode() for k in await store.client.hkeys(K.MACHINES))
                for sh in store.shards:
                    keys = [sh.sweep] + [sh.index_status(status) for status in FINAL_STATUSES]
                    keys += [sh.index_machine(name) for name in machines]
                    await store.script("sweep", keys, [cutoff, SWEEP_BATCH, sh.record("")])
            except Exception:  # Redis away: the next round sweeps
                continue

    async def _timer_wakeups(self) -> None:
        """Wake the scheduler when another process sets a timer earlier than it sleeps to."""
        assert self.store is not None
        while not self._stopped():
            pubsub = self.store.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(TIMERS_CHANNEL)
                self._wake.set()  # a timer may have been set while nobody listened
                async for message in pubsub.listen():
                    due = int(message["data"])
                    if self._next_due is None or due < self._next_due:
                        self._next_due = due
                        self._wake.set()
            except Exception:  # Redis gone: listen again once it is back
                await asyncio.sleep(0.5)
            finally:
                await pubsub.aclose()


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
