"""Executions as the service sees them: start, load, list, history, stop.

A start is one ``start.lua`` call on one shard (the id is drawn on the shard of its name's
index entry: :mod:`~statemachine.runtime.store.ids`), sent through a
:class:`~statemachine.runtime.store.pipe.ScriptBatch` so the starts of one event-loop turn
share a round trip.  Listing merges the shards' index zsets, newest first.  A history is a
list whose position n-1 holds event n, so a page is one LRANGE by index.

An archived root (:mod:`.archiving`) is read the same way: its record hash is a stub, so
a load or a history page reads the record and history from the bucket instead (the same
values Redis held, so what readers build is identical); a listing shows the stub's own
fields and never reads the bucket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from statemachine.interpreter.children import history_owner
from statemachine.interpreter.events import Redriven
from statemachine.interpreter.records import TERMINAL, Execution, Status
from statemachine.runtime.archive import Bucket
from statemachine.runtime.store.archiving import Archiving, listed_view
from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.codec import (
    dumps,
    loads,
    pack_record,
    read_history,
    unpack_record,
    work_item,
)
from statemachine.runtime.store.ids import new_id
from statemachine.runtime.store.keys import Lane, Shard, machine, shard_of, shard_of_name
from statemachine.runtime.store.machines import WAIT_S
from statemachine.runtime.store.pipe import ScriptBatch
from statemachine.runtime.store.scripts import RedriveReply, StartReply

__all__ = ["Executions", "Row", "Started", "lane_of"]

Row = tuple[int, str]
"""A listing index row: (start ms, execution id)."""

_STARTED = {"type": "Started"}


@dataclass(slots=True)
class Started:
    """What ``start.lua`` did: ``reply`` says which; ``execution_id`` is the new execution
    (CREATED) or the one the name already has (EXISTS, OTHER_INPUT); ``version`` is the
    version a created execution runs.  NO_VERSION: the state machine does not exist."""

    reply: StartReply
    execution_id: str = ""
    version: int = 0


async def lane_of(store: RedisStore, execution_id: str) -> Lane:
    """The keys of the execution's queue on its shard (its record's ``q`` field; the default
    queue's for a record that has none, or no record)."""
    shard = store.shard(execution_id)
    queue = await store.retry(lambda: store.client.hget(shard.record(execution_id), "q"),
                              give_up_s=WAIT_S)
    return shard.lane(None if queue is None else queue.decode())


class Executions:
    """Start, read, list and stop executions."""

    def __init__(self, store: RedisStore, bucket: Bucket | None = None) -> None:
        self._store = store
        self._client = store.client
        self._starts = ScriptBatch(store, "start")
        self.archiving = Archiving(store, bucket)

    def close(self) -> None:
        self._starts.close()

    def new_id(self, machine_name: str, name: str | None) -> tuple[str, str]:
        """A fresh execution id and its name (the id itself for an unnamed execution)."""
        return new_id(machine_name, name, len(self._store.shards))

    async def start(self, record: Execution, input_hash: str, *, unnamed: bool,
                    revision: int | None = None) -> Started:
        """Create ``record`` (from :meth:`new_id` and ``interpreter.step.new_execution``)
        unless its name exists; its ``machine_version`` field is dropped (from ``record``
        itself): the script writes the latest version it finds on the shard, or
        ``revision`` when given (a start through a published version or an alias).  Its
        ``Started`` goes to the lane of its ``queue``."""
        cast("dict[str, Any]", record).pop("machine_version", None)
        execution_id, name, machine_name = record["id"], record["name"], record["machine"]
        shards = self._store.shards
        shard = shards[shard_of(execution_id, len(shards))]
        # An unnamed execution keeps no name entry (its name is its random id); a named one
        # must not take the name of an unnamed one, whose record is on the name's shard.
        if unnamed:
            mode, same_name = "unnamed", shard.record(execution_id)
        elif shard_of(name, len(shards)) == shard.n:
            mode, same_name = "check", shard.record(name)
        else:
            mode, same_name = "", shard.record(execution_id)
        queue = record.get("queue")
        keys = [shard.name(machine_name, name), shard.record(execution_id),
                shard.lane(queue).ready, shard.index_machine(machine_name),
                shard.index_status(Status.RUNNING), shard.versions, same_name]
        args = [execution_id, input_hash, pack_record(record), work_item(execution_id, _STARTED),
                record["start"], machine_name, "", mode, "" if revision is None else revision,
                queue or ""]
        result = await self._starts.run(keys, args)
        if result[0] == StartReply.NO_VERSION:
            latest = await self._store.retry(
                lambda: self._client.hget(machine(machine_name), "latest"), give_up_s=WAIT_S)
            if latest is None or int(latest) < 1:  # none, or a deleted machine's tombstone
                return Started(StartReply.NO_VERSION)
            args[6] = int(latest)
            result = await self._starts.run(keys, args)
        reply = StartReply(result[0])
        if reply == StartReply.NAME_TAKEN:
            return Started(reply)
        return Started(reply, result[1].decode(), int(result[2]) if len(result) > 2 else 0)

    async def find(self, machine_name: str, name: str) -> str | None:
        """The id of ``machine_name``'s execution named ``name`` (an unnamed execution's
        name is its id), or None."""
        shards = self._store.shards
        entry = shards[shard_of_name(machine_name, name, len(shards))].name(machine_name, name)
        found = await self._store.retry(lambda: self._client.hget(entry, "id"), give_up_s=WAIT_S)
        if found is not None:
            return str(found.decode())
        record = await self.load(name) if len(name) == 36 else None
        return name if record is not None and record["machine"] == machine_name else None

    async def load(self, execution_id: str) -> Execution | None:
        """The execution record (interpreter.records), or None.  A record redriven
        (:meth:`redrive`) but not yet resumed by a worker is shown as it will be: RUNNING,
        with its new redrive count and date."""
        key = self._shard(execution_id).record(execution_id)
        fields = await self._store.retry(lambda: self._client.hmget(key, _VIEWED),
                                         give_up_s=WAIT_S)
        if fields[0] is None and fields[3] is not None:  # a stub: archived
            archived = (await self.archiving.fetch(execution_id)).fields
            return _view(archived["r"], archived["status"], archived.get("redrive"))
        return _view(*fields[:3])

    async def redrive(self, record: Execution, event: Redriven, token: str, earliest: int, *,
                      repeat_only: bool = False) -> tuple[RedriveReply, Any]:
        """Re-open a finished root ``record`` as loaded (``redrive.lua``), enqueueing
        ``event`` for the workers, unless it changed since, or ended before ``earliest``
        (ms); with ``repeat_only``, only answer a repeated request (the last redrive's
        ``token``).  The reply, and with REPEATED the redrive that carried ``token``
        (``{"count", "date", "token"}``), with NOT_REDRIVABLE the status it has now."""
        execution_id = record["id"]
        shard = self._shard(execution_id)
        keys = [shard.record(execution_id), shard.history(execution_id),
                shard.name(record["machine"], record["name"]), shard.lane(record.get("queue")).ready,
                shard.index_status(Status.RUNNING), shard.index_status(record["status"])]
        pending = dumps({"count": event["count"], "date": event["date"], "token": token})
        args = [record["rev"], "" if repeat_only else record["status"], work_item(execution_id, event), pending, token,
                record["start"], earliest, execution_id]
        result = await self._store.retry(lambda: self._store.script("redrive", keys, args),
                                         give_up_s=WAIT_S)
        reply = RedriveReply(result[0])
        match reply:
            case RedriveReply.REPEATED:
                return reply, loads(result[1])
            case RedriveReply.NOT_REDRIVABLE:
                return reply, result[1].decode()
            case _:
                return reply, None

    async def history_page(self, execution_id: str, after: int,
                           limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Events ``after + 1`` to ``after + limit`` of the root's history, and whether more
        follow."""
        _, entries = await self._history_range(execution_id, after, after + limit)
        return read_history(entries[:limit], after + 1), len(entries) > limit

    async def history_page_back(self, execution_id: str, before: int | None,
                                limit: int) -> tuple[list[dict[str, Any]], int]:
        """Up to ``limit`` events of the root's history before event ``before`` (from the
        last one when None), newest first, and the id of the oldest returned (0 if none)."""
        if before is None:
            length, entries = await self._history_range(execution_id, -limit, -1)
            first = length - len(entries) + 1
        else:
            first = max(1, before - limit)
            entries = ((await self._history_range(execution_id, first - 1, before - 2))[1]
                       if before > 1 else [])
        events = read_history(entries, first)
        events.reverse()
        return events, first if events else 0

    async def _history_range(self, execution_id: str, start: int,
                             stop: int) -> tuple[int, list[bytes]]:
        """The root's history length and its events ``start``..``stop`` (LRANGE's indexes),
        in one round trip; for an archived root (its record a stub) from the bucket."""
        root = history_owner(execution_id)  # a root, or a Map Run's child
        shard = self._shard(root)

        async def read() -> list[Any]:
            pipe = self._client.pipeline(transaction=True)  # one shard: one slot
            pipe.hexists(shard.record(root), "l")
            pipe.llen(shard.history(root))
            pipe.lrange(shard.history(root), start, stop)
            return cast(list[Any], await pipe.execute())

        archived, length, entries = await self._store.retry(read, give_up_s=WAIT_S)
        if not archived:
            return int(length), entries
        history = (await self.archiving.fetch(root)).history
        return len(history), _lrange(history, start, stop)

    async def stop(self, execution_id: str, error: str | None, cause: str | None) -> None:
        """Ask the workers to abort the execution (a ``StopRequested`` work item, on its
        queue's lane)."""
        lane = await lane_of(self._store, execution_id)
        message = work_item(execution_id, {"type": "StopRequested", "error": error, "cause": cause})
        await self._store.retry(lambda: self._store.write("XADD", lane.ready, "*", "m", message),
                                give_up_s=WAIT_S)


    async def list_page(self, machine_name: str | None, status: Status | None, limit: int,
                        after: Row | None,
                        keep: Callable[[Execution], bool] | None = None,
                        ) -> list[tuple[Row, Execution]]:
        """Up to ``limit`` root executions, newest first (then by id, descending), after the
        row ``after``: listed by ``machine_name``, else by ``status``, else all; each with
        its record.  Index rows whose record has expired (or whose status no longer
        matches, or that ``keep`` refuses) are passed over."""
        top = "+inf" if after is None else str(after[0])
        found: list[tuple[Row, Execution]] = []
        while len(found) < limit:
            rows, exhausted = await self._index_rows(machine_name, status, top, after, limit + 16)
            if not rows:
                break
            found.extend(row for row in await self._load_rows(rows, status)
                         if keep is None or keep(row[1]))
            after = rows[-1]
            top = str(after[0])
            if exhausted:
                break
        return found[:limit]

    def _shard(self, execution_id: str) -> Shard:
        return self._store.shard(execution_id)

    async def _index_rows(self, machine_name: str | None, status: Status | None, top: str,
                          after: Row | None, want: int) -> tuple[list[Row], bool]:
        """Up to ``want`` index rows after ``after``, merged over the shards."""
        def indexes(shard: Shard) -> Iterable[str]:
            if machine_name is not None:
                return [shard.index_machine(machine_name)]
            if status is not None:
                return [shard.index_status(status)]
            return [shard.index_status(s) for s in Status]  # a root is in exactly one

        async def read() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for shard in self._store.shards:
                for key in indexes(shard):
                    pipe.zrevrangebyscore(key, top, "-inf", start=0, num=want, withscores=True)
            return await pipe.execute()  # type: ignore[no-any-return]

        rows: list[Row] = []
        exhausted = True
        for part in await self._store.retry(read, give_up_s=WAIT_S):
            exhausted = exhausted and len(part) < want
            rows.extend((int(score), member.decode()) for member, score in part)
        rows.sort(key=_newest_first)
        if after is not None:
            rows = [r for r in rows if _newest_first(r) > _newest_first(after)]
        return rows[:want], exhausted and len(rows) <= want

    async def load_many(self, ids: list[str], status: Status | None) -> list[Execution]:
        """The records of ``ids`` that exist (and have ``status``), in one round trip."""
        return [record for _, record in await self._load_rows(list(enumerate(ids)), status)]

    async def _load_rows(self, rows: list[Row],
                         status: Status | None) -> list[tuple[Row, Execution]]:
        """The records of the rows' executions that still exist (and have ``status``)."""
        async def load() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for _, xid in rows:
                pipe.hmget(self._shard(xid).record(xid), _VIEWED)
            return await pipe.execute()  # type: ignore[no-any-return]

        loaded = []
        for row, fields in zip(rows, await self._store.retry(load, give_up_s=WAIT_S), strict=True):
            raw, state, redrive, listed = fields
            record = (listed_view(row[1], state, listed) if raw is None and listed is not None
                      else _view(raw, state, redrive))
            if record is None:
                continue
            if status is None or record["status"] == status:
                loaded.append((row, record))
        return loaded


def _lrange(items: list[bytes], start: int, stop: int) -> list[bytes]:
    """``items[start..stop]`` as Redis's LRANGE reads a list (negative: from the end; stop
    included)."""
    size = len(items)
    first = max(start + size if start < 0 else start, 0)
    last = stop + size if stop < 0 else stop
    return items[first:last + 1]


_VIEWED = ["r", "status", "redrive", "l"]
"""The fields of a record hash a reader reads (:func:`_view`; ``l``: an archived root's
stub, archiving.listed_record)."""


def _view(raw: bytes | None, status: bytes | None, redrive: bytes | None) -> Execution | None:
    """A record as readers see it: one redriven (``redrive.lua``) but not yet resumed by a
    worker is shown as it will be, RUNNING with its new redrive count and date."""
    if raw is None:
        return None
    record = unpack_record(raw)
    if status == b"RUNNING" and record["status"] in TERMINAL and redrive is not None:
        pending = loads(redrive)
        record["status"], record["stop"] = Status.RUNNING, None
        record["redrives"], record["redriven_at"] = pending["count"], pending["date"]
    return record


def _newest_first(row: Row) -> tuple[int, tuple[int, ...]]:
    """Sort key of an index row (start ms, id): newest first, then by id descending."""
    return -row[0], tuple(-ord(c) for c in row[1])
