"""Archiving, the Redis side: which roots to archive, the stub left behind, the way back.

A root that finished with archiving on is in its shard's to-archive zset (``sm:T:fin``,
scored by when it finished: the commit adds it).  The archiver (``worker/archiver.py``)
takes those finished before ``now - archive_after_s``, reads each one's record hash and
history (:meth:`Archiving.read`), stores them in the bucket, and only then calls
``archive.lua``, which swaps the record for a stub if it is still the one read: the stub
keeps what a listing shows (:func:`listed_record`), so listing never reads the bucket.
Readers (:mod:`.executions`) read a stub's record and history from the bucket instead.
``restore.lua`` takes an archived root back (before a redrive).  Every script touches the
keys of one shard, all passed in KEYS.
"""

from __future__ import annotations

import logging
from typing import Any

from statemachine.errors import StoreError
from statemachine.interpreter.records import TERMINAL, Execution
from statemachine.runtime.archive import Archived, Bucket
from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.codec import dumps, loads, unpack_record
from statemachine.runtime.store.keys import Shard
from statemachine.runtime.store.machines import WAIT_S
from statemachine.runtime.store.scripts import ArchiveReply, RestoreReply

__all__ = ["Archiving", "StoreArchiveError", "listed_record", "listed_view"]

_FINAL = {status.value.encode() for status in TERMINAL}
_EXTRAS = ("name", "redrives", "redriven_at", "published_version", "alias", "express", "place")
"""Record fields a listing shows that most records lack (``name``: when it is not the id)."""

log = logging.getLogger(__name__)


def listed_record(raw: bytes) -> bytes:
    """What a stub keeps of a stored record (codec.pack_record) for listings: the array
    ``[machine, machine_version, start, stop]``, then an object of the :data:`_EXTRAS` it
    has, if any.  An array, not the record's object: under 64 bytes for most, Redis keeps
    the stub hash as a listpack, a third of the size of a hash table."""
    record: dict[str, Any] = loads(raw)
    row = [record["machine"], record["machine_version"], record["start"], record.get("stop")]
    extras = {k: record[k] for k in _EXTRAS if k in record}
    return dumps([*row, extras] if extras else row)


def listed_view(execution_id: str, status: bytes, listed: bytes) -> Execution:
    """The record a listing shows of a stub (its payloads None; describe reads the
    archived record instead)."""
    row = loads(listed)
    record = {"id": execution_id, "machine": row[0], "machine_version": row[1],
              "start": row[2], "stop": row[3], "status": status.decode(),
              "input": None, **(row[4] if len(row) > 4 else {})}
    return unpack_record(dumps(record))


class Archiving:
    """The archiver's and the readers' operations on stubs and their zsets."""

    def __init__(self, store: RedisStore, bucket: Bucket | None) -> None:
        self._store = store
        self._client = store.client
        self.bucket = bucket

    async def due(self, shard: Shard, finished_before: int, limit: int) -> list[str]:
        """Up to ``limit`` roots of ``shard`` that finished before ``finished_before`` (ms)
        and are not archived yet, oldest first."""
        rows = await self._client.zrangebyscore(shard.finished, "-inf", finished_before,
                                                start=0, num=limit)
        return [row.decode() for row in rows]

    async def read(self, shard: Shard, execution_ids: list[str]) -> list[Archived]:
        """The record hashes and histories of ``execution_ids``, as the bucket will hold
        them; the ids with nothing to archive (expired, redriven, archived already) leave
        the to-archive zset instead."""
        pipe = self._client.pipeline(transaction=False)
        for execution_id in execution_ids:
            pipe.hgetall(shard.record(execution_id))
            pipe.lrange(shard.history(execution_id), 0, -1)
        replies = await pipe.execute()
        found, dropped = [], []
        for n, execution_id in enumerate(execution_ids):
            fields, history = replies[2 * n], replies[2 * n + 1]
            if b"r" in fields and fields.get(b"status") in _FINAL:
                found.append(Archived(execution_id, {k.decode(): v for k, v in fields.items()},
                                      history))
            elif b"l" not in fields:  # expired or running again; a stub's script removed it
                dropped.append(execution_id)
        if dropped:
            await self._client.zrem(shard.finished, *dropped)
        return found

    async def stub(self, shard: Shard, archived: Archived, now: int) -> ArchiveReply:
        """Replace the record with its stub and drop its history (``archive.lua``), unless
        the record changed since :meth:`read`."""
        execution_id = archived.execution_id
        keys = [shard.record(execution_id), shard.history(execution_id), shard.finished,
                shard.archived]
        args = [archived.fields["rev"], listed_record(archived.fields["r"]), execution_id, now]
        return ArchiveReply(await self._store.script("archive", keys, args, confirmed=False))

    async def expired(self, shard: Shard, now: int, limit: int) -> list[str]:
        """Up to ``limit`` archived roots of ``shard`` whose retention ended before ``now``."""
        rows = await self._client.zrangebyscore(shard.archived, "-inf", now, start=0, num=limit)
        return [row.decode() for row in rows]

    async def deleted(self, shard: Shard, execution_ids: list[str]) -> None:
        """Forget archived roots whose objects were deleted."""
        if execution_ids:
            await self._client.zrem(shard.archived, *execution_ids)

    # -- readers -------------------------------------------------------------------------------

    async def fetch(self, execution_id: str) -> Archived:
        """The archived record and history of a root whose record is a stub."""
        if self.bucket is None:
            raise StoreArchiveError(f"execution {execution_id} is archived, and this process "
                                    "has no archive to read it from (--archive-url)")
        archived = await self.bucket.get(execution_id)
        if archived is None:
            # The caller reads the message (StoreArchiveError.public): the bucket is named
            # in the log only.
            log.warning("archived execution %s has no object in %s", execution_id,
                        self.bucket.location)
            raise StoreArchiveError(f"execution {execution_id} is archived, but its object "
                                    "is missing from the archive")
        return archived

    async def restore(self, execution_id: str) -> RestoreReply:
        """Take an archived root back into Redis (record and history), as it was archived;
        LIVE when its record is no stub."""
        shard = self._store.shard(execution_id)
        key = shard.record(execution_id)
        fields = await self._store.retry(lambda: self._client.hmget(key, ["rev", "l"]),
                                         give_up_s=WAIT_S)
        if fields[0] is None:
            return RestoreReply.GONE
        if fields[1] is None:
            return RestoreReply.LIVE
        archived = await self.fetch(execution_id)
        pairs = [v for item in archived.fields.items() for v in item]
        keys = [key, shard.history(execution_id), shard.archived]
        args = [fields[0], execution_id, len(archived.fields), *pairs, *archived.history]
        reply = RestoreReply(await self._store.retry(
            lambda: self._store.script("restore", keys, args), give_up_s=WAIT_S))
        if self.bucket is not None:
            self.bucket.forget(execution_id)
        return reply


class StoreArchiveError(StoreError):
    """An archived execution could not be read back (no archive configured, or its object
    is gone): the reader's request fails, nothing is changed."""

    public = True
