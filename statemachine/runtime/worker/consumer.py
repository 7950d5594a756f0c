"""The consumer: every shard's streams read into two inboxes, leases kept, dead workers' entries claimed.

A worker has two inboxes, one per stream kind: ``ready`` (work items, for
:mod:`~statemachine.runtime.worker.transitions`) and ``tasks`` (task dispatches, for
:mod:`~statemachine.runtime.worker.dispatcher`).  For each, one reader loop asks every
shard's stream for entries with one blocking ``XREADGROUP`` (on a Redis Cluster, one reader
per shard: see :meth:`StreamGroup.read_sets`), taking no more than there are
free hands (entries left in a stream go to the other workers, so a burst spreads over them
all), and one claimer loop takes over, every half lease, the entries other consumers left
idle longer than the lease (a dead worker's, ``XAUTOCLAIM``).  A lease keeper resets the
idle time of every entry in hand every third of the lease, so a long HTTP call is not
taken over by another worker while this one is alive.

The hands (:meth:`Inbox.serve`) take entries from an inbox one at a time; an entry whose
handling raises (a bug, a corrupt record; not Redis being away, which is waited out)
stays pending and is handed to the dead-letter handling.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial

from statemachine.errors import StoreError
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import RedisStore, Shard, StreamGroup, leases
from statemachine.runtime.store.streams import Entries
from statemachine.runtime.worker.loops import Guard

__all__ = ["Cached", "Consumer", "Follow", "Inbox", "Item"]

Item = tuple[Shard, str, bytes, bytes, bool]
"""An entry in hand: (shard, stream, entry id, message, fresh).  Not fresh: taken over from
another consumer or requeued from the dead letters, so its execution may have moved on."""
Cached = tuple[str, bytes]
"""An execution id and its record as a commit just wrote it."""
Follow = tuple[Item, Cached]
"""The dispatch a commit took for this worker, and the record the commit wrote."""
Handle = Callable[[Item, Cached | None], Awaitable[Follow | None]]
Failed = Callable[[Item, Exception], Awaitable[None]]


class Inbox:
    """The entries of one stream kind in hand: queued for the hands, or being handled."""

    def __init__(self, streams: StreamGroup, capacity: int, store: RedisStore,
                 stopping: asyncio.Event, *, park_limit: int = 0) -> None:
        self.streams = streams
        self.capacity = capacity
        self.queue: asyncio.Queue[Item | None] = asyncio.Queue(maxsize=capacity)
        self.held: dict[str, set[bytes]] = {name: set() for name in streams.shards}
        self.freed = asyncio.Event()  # an entry in hand was let go
        # Entries a handler set aside (worker/destinations.py): in hand, leased, no hand
        # busy with them; ``resumed`` ones are taken by the next free hand before new ones.
        self.parked: set[tuple[str, bytes]] = set()
        self.resumed: deque[tuple[Item, Cached | None]] = deque()
        self.park_limit = park_limit
        self._store = store
        self._stopping = stopping

    def in_hand(self) -> int:
        return sum(len(ids) for ids in self.held.values())

    def room(self) -> int:
        """Entries the reader may take now: free hands, parked entries not counted (up to
        ``park_limit`` of them)."""
        free = self.capacity - self.in_hand() + len(self.parked)
        return min(free, self.park_limit - len(self.parked)) if self.park_limit else free

    def park(self, item: Item) -> None:
        """The handler sets ``item`` aside: it stays in hand, its hand goes on."""
        self.parked.add((item[1], item[2]))

    def resume(self, item: Item, cached: Cached | None) -> None:
        """A parked entry is to be handled again, by the next free hand."""
        self.parked.discard((item[1], item[2]))
        self.resumed.append((item, cached))

    async def put(self, batches: list[tuple[str, Entries]], fresh: bool) -> None:
        """Queue the entries not in hand already; from now on the lease keeper keeps them."""
        batch: list[Item] = []
        for name, entries in batches:
            shard, held = self.streams.shards[name], self.held[name]
            for entry_id, fields in entries:
                if fields and entry_id not in held:
                    held.add(entry_id)
                    # A requeued dead letter is not fresh: its execution may have moved on.
                    batch.append((shard, name, entry_id, fields[b"m"],
                                  fresh and b"requeued" not in fields))
        for item in batch:
            await self.queue.put(item)

    async def close(self) -> None:
        """Let every hand return once the queue is worked off."""
        for _ in range(self.capacity):
            await self.queue.put(None)

    async def serve(self, handle: Handle, failed: Failed) -> None:
        """One hand: handle entries until :meth:`close`; straight after one, the task
        dispatch its commit took (``commit.lua``'s TAKE) with the record the commit left."""
        stopped = self._stopping.is_set
        follow: Follow | None = None
        while True:
            cached: Cached | None
            if follow is None and self.resumed:
                item, cached = self.resumed.popleft()
            elif follow is None:
                got = await self.queue.get()
                if got is None:
                    return
                item, cached = got, None
            else:
                (item, cached), follow = follow, None
            try:
                follow = await self._store.retry(partial(handle, item, cached), give_up_s=None,
                                                 stop=stopped)
            except StoreError:
                pass  # Redis gone while stopping: the item stays pending for another worker
            except Exception as exc:  # noqa: BLE001 -- the entry's failure: see ``failed``
                await failed(item, exc)
            finally:
                if (item[1], item[2]) not in self.parked:
                    self.held[item[1]].discard(item[2])
                self.freed.set()
            if follow is not None:
                self.held[follow[0][1]].add(follow[0][2])


class Consumer:
    """Reads both inboxes' streams, claims idle entries, keeps the leases of those in hand."""

    def __init__(self, store: RedisStore, settings: Settings, name: str, inboxes: list[Inbox],
                 guard: Guard, stopping: asyncio.Event, *, block_ms: int | None = None) -> None:
        self._store = store
        self._settings = settings
        self.name = name
        self.inboxes = inboxes
        self._guard = guard
        self._stopping = stopping
        self._block_ms = settings.block_ms if block_ms is None else block_ms
        self._readers: list[asyncio.Task[None]] = []

    def in_hand(self) -> int:
        return sum(inbox.in_hand() for inbox in self.inboxes)

    async def run(self) -> None:
        """Read, claim and keep leases until cancelled (readers stop at :meth:`close`)."""
        self._readers = [asyncio.create_task(self._reader(inbox, names, len(inbox.streams.shards)))
                         for inbox in self.inboxes for names in inbox.streams.read_sets()]
        loops = [asyncio.create_task(self._claimer(inbox)) for inbox in self.inboxes]
        loops.append(asyncio.create_task(self._lease_keeper()))
        try:
            await asyncio.gather(*self._readers, *loops)
        finally:
            for task in [*self._readers, *loops]:
                task.cancel()
            await asyncio.gather(*self._readers, *loops, return_exceptions=True)

    async def close(self) -> None:
        """Stop reading (the stop event is set): wait for the readers' last reads, then end
        the inboxes, so the hands return once what is queued is handled."""
        await asyncio.gather(*self._readers, return_exceptions=True)
        for inbox in self.inboxes:
            await inbox.close()

    async def _reader(self, inbox: Inbox, names: list[str], spread: int) -> None:
        """Feed ``inbox`` with new entries of the streams ``names``, one XREADGROUP for all
        (every shard's on a single Redis; one shard's on a Redis Cluster).

        XREADGROUP's COUNT applies to each stream: a reader asks every stream for a share
        of the free hands (``spread``: the streams of all the inbox's readers), so a burst
        spread over the shards is spread over the workers too; only the streams that
        filled their share are then read for the rest (a Map's children all live on one
        shard).
        """
        s, streams, stopped = self._settings, inbox.streams, self._stopping.is_set

        async def read() -> list[tuple[str, Entries]]:
            room = inbox.room()
            count = max(1, min(s.read_count, room // spread))
            batches = await streams.read(self.name, names, count, self._block_ms)
            full = [name for name, got in batches if len(got) == count]
            left = min(s.read_count, room) - sum(len(got) for _, got in batches)
            if full and left >= len(full):
                batches += await streams.read(self.name, full, left // len(full))
            return batches

        async def read_once() -> None:
            batches = await self._store.retry(read, give_up_s=None, stop=stopped)
            await inbox.put(batches, fresh=True)

        while not stopped():
            # Take no more than there are free hands for.
            while inbox.room() <= 0 and not stopped():
                inbox.freed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(inbox.freed.wait(), timeout=self._block_ms / 1000)
            if not stopped():
                await self._guard.round(f"reading the {streams.kind} streams", read_once)

    async def _claimer(self, inbox: Inbox) -> None:
        """Every half lease, take over the streams' entries idle longer than the lease."""
        s, streams, stopped = self._settings, inbox.streams, self._stopping.is_set

        async def claim_once() -> None:
            claimed = await self._store.retry(
                lambda: streams.claim_idle(self.name, s.lease_ms, s.read_count),
                give_up_s=None, stop=stopped)
            await inbox.put(claimed, fresh=False)

        while not stopped():
            await self._guard.round(f"claiming idle {streams.kind} entries", claim_once)
            await asyncio.sleep(max(s.lease_ms / 2000, 0.05))

    async def _lease_keeper(self) -> None:
        """Reset the idle time of every entry in hand, so XAUTOCLAIM leaves them alone."""
        held = {name: ids for inbox in self.inboxes for name, ids in inbox.held.items()}
        groups = {name: inbox.streams.group for inbox in self.inboxes for name in inbox.held}
        while True:
            await asyncio.sleep(self._settings.lease_ms / 3000)
            await self._guard.round("keeping leases",
                                    lambda: leases(self._store, self.name, held, groups))
