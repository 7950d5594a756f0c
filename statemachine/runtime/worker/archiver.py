"""The archiver: finished root executions move from Redis to the archive bucket.

Every ``archive_interval_ms`` each worker process takes, shard by shard, up to
``archive_batch`` roots that finished more than ``archive_after_s`` ago (``sm:T:fin``),
reads each one's record and history, stores them as one object (at most
``archive_concurrency`` uploads at once), and only once the upload succeeded swaps the
record for its stub (``archive.lua``, a compare-and-set on the record's rev: a root that
changed meanwhile, or that another worker archived first, is left alone — archiving twice
writes the same bytes twice).  An upload that fails leaves the root in Redis and in
``sm:T:fin``; the next round tries again.

Retention: an archived root's object is deleted once its retention ends (``sm:T:arc``,
scored by when the stub expires), so ``--retention`` means the same with or without an
archive; no bucket lifecycle rule is needed.

Counted in ``sm:stats``: ``archived``, ``archive_failures`` (uploads or deletions that
failed), ``archive_deleted``.
"""

from __future__ import annotations

import asyncio
import logging

from statemachine.runtime.archive import Archived, Bucket, BucketError
from statemachine.runtime.clock import now_ms
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import RedisStore, Shard
from statemachine.runtime.store.archiving import Archiving
from statemachine.runtime.store.scripts import ArchiveReply
from statemachine.runtime.worker.loops import Guard, Stats

__all__ = ["DELETE_BATCH", "Archiver"]

DELETE_BATCH = 1_000
"""Objects deleted per shard per round (one DeleteObjects request)."""
log = logging.getLogger(__name__)


class Archiver:
    """One worker process's archiving loop."""

    def __init__(self, store: RedisStore, settings: Settings, bucket: Bucket, stats: Stats,
                 guard: Guard) -> None:
        self._store = store
        self._settings = settings
        self._bucket = bucket
        self._stats = stats
        self._guard = guard
        self._archiving = Archiving(store, bucket)
        self._uploads = asyncio.Semaphore(settings.archive_concurrency)

    async def run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self._settings.archive_interval_ms / 1000)
                await self._guard.round("archiving finished executions", self.round)
        finally:
            await self._bucket.close()

    async def round(self) -> int:
        """Archive what is due and delete what expired, on every shard; the number archived."""
        archived = 0
        for shard in self._store.shards:
            archived += await self._archive(shard)
            await self._delete(shard)
        return archived

    async def _archive(self, shard: Shard) -> int:
        s = self._settings
        now = now_ms()
        due = await self._archiving.due(shard, now - s.archive_after_s * 1000, s.archive_batch)
        if not due:
            return 0
        found = await self._archiving.read(shard, due)
        done = await asyncio.gather(*(self._one(shard, item) for item in found))
        return sum(done)

    async def _one(self, shard: Shard, archived: Archived) -> bool:
        async with self._uploads:
            try:
                await self._bucket.put(archived)
            except BucketError as exc:
                self._stats.counts["archive_failures"] += 1
                log.warning("%s; it stays in Redis and is tried again later", exc)
                return False
        reply = await self._archiving.stub(shard, archived, now_ms())
        if reply == ArchiveReply.ARCHIVED:
            self._stats.counts["archived"] += 1
            return True
        return False

    async def _delete(self, shard: Shard) -> None:
        expired = await self._archiving.expired(shard, now_ms(), DELETE_BATCH)
        if not expired:
            return
        try:
            await self._bucket.delete(expired)
        except BucketError as exc:
            self._stats.counts["archive_failures"] += 1
            log.warning("%s; tried again later", exc)
            return
        await self._archiving.deleted(shard, expired)
        self._stats.counts["archive_deleted"] += len(expired)
