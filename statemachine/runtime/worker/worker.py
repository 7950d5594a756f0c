"""The Worker: the parts of one worker process, composed, started and stopped together.

``Worker(redis_url, settings, concurrency).run()`` connects, builds the parts already
connected, and runs them until :meth:`Worker.stop`; with ``drain=True`` it returns by
itself once no work is left (see :meth:`Worker.run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from statemachine.runtime.clock import now_ms
from statemachine.runtime.connections import ConnectionBook
from statemachine.runtime.invokers import Invokers
from statemachine.runtime.invokers.aws.sfn import SfnApi
from statemachine.runtime.nested import StoreStarter
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import (
    Callbacks,
    Connections,
    Records,
    RedisStore,
    StreamGroup,
    backlog,
)
from statemachine.runtime.store.gateway import open_bucket
from statemachine.runtime.worker.archiver import Archiver
from statemachine.runtime.worker.consumer import Consumer, Inbox
from statemachine.runtime.worker.destinations import PARK_FACTOR, DestinationGate, default_cap
from statemachine.runtime.worker.dispatcher import Dispatcher
from statemachine.runtime.worker.housekeeping import Housekeeping
from statemachine.runtime.worker.listeners import ListenerWatch
from statemachine.runtime.worker.loops import Guard, Stats
from statemachine.runtime.worker.plan import Planner
from statemachine.runtime.worker.pool import PoolMembership
from statemachine.runtime.worker.scheduler import Scheduler
from statemachine.runtime.worker.transitions import Transitions

if TYPE_CHECKING:
    from statemachine.runtime.tracing.exporter import Tracer

__all__ = ["Worker"]

STOP_WAIT_S = 10.0
"""How long stopping waits for the entries in hand; later ones stay pending for others."""
DRAIN_CHECK_S = 0.05
"""How often a draining worker looks whether work is left (and at most how long a stream
read blocks while draining, so the worker returns soon after the last item)."""
CONNECT_WAIT_S = 60.0


class Worker:
    """One worker process's parts; ``run()`` until ``stop()`` (or, draining, until idle)."""

    def __init__(self, redis_url: str | None = None, settings: Settings | None = None,
                 concurrency: int | None = None,
                 sfn: Callable[[RedisStore], SfnApi] | None = None) -> None:
        """``sfn`` makes the service's AWS API over the worker's store, which answers
        ``aws-sdk:sfn`` tasks (``cli.py`` passes the API layer's); without it they go to AWS."""
        base = settings or Settings.from_env()
        self._sfn = sfn
        self.settings = base.with_(redis_url=redis_url, concurrency=concurrency)
        self.consumer = self.settings.consumer or f"{socket.gethostname()}:{os.getpid()}"
        self.stats = Stats()
        self._stopping = asyncio.Event()
        self._done = asyncio.Event()
        self._started = False

    @property
    def transitions(self) -> int:
        """Transitions this process committed (``GET /metrics`` shows it)."""
        return self.stats.transitions

    async def run(self, *, drain: bool = False) -> None:
        """Connect and work until :meth:`stop`; then finish what is in hand and return.

        ``drain``: also return once no work is left — like arq's burst mode, for tests and
        batch runs.  No work is left when this worker holds no entry, every shard's ready
        and tasks streams of the worker's queues are empty (an acknowledged entry is deleted, so nothing is
        waiting or pending anywhere, for any worker), and no timer is due within
        ``drain_timers_ms`` (default 5 s): the timers a run sets for its own next steps
        (Wait states, retry intervals, short timeouts) are waited for, while an execution
        parked on a later one (a long Wait, a callback's timeout) is left to a worker that
        keeps running.  A callback or an activity task awaited from outside is no work of
        the worker's either.
        """
        self._started = True
        s = self.settings
        try:
            store = await RedisStore.connect(s, wait_s=CONNECT_WAIT_S)
        except BaseException:
            self._done.set()
            raise
        guard = Guard(store, self.stats)
        records = Records(store)
        ready = Inbox(StreamGroup(store, "ready"), s.concurrency, store, self._stopping)
        tasks = Inbox(StreamGroup(store, "tasks"), s.invoke_concurrency, store, self._stopping,
                      park_limit=s.invoke_concurrency * PARK_FACTOR)
        consumer = Consumer(store, s, self.consumer, [ready, tasks], guard, self._stopping,
                            block_ms=min(s.block_ms, int(DRAIN_CHECK_S * 1000)) if drain else None)
        scheduler = Scheduler(store, s, guard, self.stats.timings)
        housekeeping = Housekeeping(store, s, self.consumer, self.stats, guard,
                                    [ready.streams, tasks.streams])
        starter = StoreStarter(store, s)
        tracer = _tracer(s, self.consumer)
        transitions = Transitions(records, ready, tasks.streams, Planner(s, self.consumer), s,
                                  self.stats, housekeeping, scheduler.wake, starter, tracer)
        book = ConnectionBook(Connections(store), s.data_dir, place=s.place)
        local_sfn = self._sfn(store) if self._sfn is not None else None
        invokers = Invokers(replace(s.invokers, redis_endpoint=s.redis_url), book.resolve,
                            starter, local_sfn, outcomes=records, observer=tracer)
        dispatcher = Dispatcher(records, tasks, transitions, invokers, self.stats, housekeeping,
                                DestinationGate(default_cap(s.invoke_concurrency,
                                                            s.max_per_destination)),
                                Callbacks(store), s.mock_config)
        watch = ListenerWatch(store, invokers, guard)
        await watch.refresh()  # before the first task is sent
        membership = PoolMembership(store, s, self.consumer, guard)
        await membership.join()
        background = [asyncio.create_task(part.run())
                      for part in (consumer, scheduler, housekeeping, watch, membership)]
        bucket = open_bucket(s)
        if bucket is not None:
            archiver = Archiver(store, s, bucket, self.stats, guard)
            background.append(asyncio.create_task(archiver.run()))
        hands = [asyncio.create_task(transitions.run()), asyncio.create_task(dispatcher.run())]
        if drain:
            background.append(asyncio.create_task(self._drain(store, consumer, guard)))
        parts = [*hands, *background]
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            # The parts run until told to stop; one that ends before is a bug: stop them all
            # and raise it (``cli.py`` then exits 1).
            await asyncio.wait([stopping, *parts], return_when=asyncio.FIRST_COMPLETED)
            broken = next((t for t in parts if t.done() and not t.cancelled() and t.exception()),
                          None)
            self._stopping.set()
            await consumer.close()
            _, late = await asyncio.wait(hands, timeout=STOP_WAIT_S)
            for task in [*late, *background]:
                task.cancel()
            await asyncio.gather(*parts, return_exceptions=True)
            if broken is not None:
                raise RuntimeError("a part of the worker failed") from broken.exception()
        finally:
            stopping.cancel()
            for task in [*hands, *background]:
                task.cancel()
            await membership.leave()
            await dispatcher.close()
            if local_sfn is not None:
                await local_sfn.close()
            records.close()
            await store.close()
            if tracer is not None:  # the spans still queued go out before the process ends
                await asyncio.to_thread(tracer.shutdown)
            self._done.set()

    async def stop(self) -> None:
        """Stop taking work, finish what is in hand (items left over stay pending), return."""
        self._stopping.set()
        if self._started:
            await self._done.wait()

    async def _drain(self, store: RedisStore, consumer: Consumer, guard: Guard) -> None:
        """Set the stop event once no work is left (see :meth:`run`)."""
        horizon = self.settings.drain_timers_ms
        idle = False

        async def look() -> None:
            nonlocal idle
            left = await backlog(store)
            soon = left.next_timer is not None and left.next_timer <= now_ms() + horizon
            idle = left.entries == 0 and not soon and consumer.in_hand() == 0

        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), DRAIN_CHECK_S)
            if consumer.in_hand() == 0 and await guard.round("looking for work left", look) and idle:
                self._stopping.set()


def _tracer(settings: Settings, instance: str) -> Tracer | None:
    """The span pipeline when tracing is on; off, OpenTelemetry is never imported."""
    if settings.tracing is None:
        return None
    from statemachine.runtime.tracing.exporter import Tracer

    return Tracer(settings.tracing, instance, settings.invokers.trace_parent,
                  sampler=settings.invokers.trace_sampler)
