"""The Redis store: records, scripts, streams, and riding out a Redis restart.

:class:`RedisStore` owns one ``redis.asyncio`` connection pool.  Everything the runtime
writes goes through the Lua scripts in ``lua/`` (run with EVALSHA; after a Redis restart
the script cache is empty and NOSCRIPT makes the store load them again).  Calls that fail
because Redis is unreachable or still loading its AOF are retried with backoff by
:meth:`RedisStore.retry`: a worker rides out a restart by itself, and a work item it held
stays pending in its stream until it is committed or taken over with XAUTOCLAIM.

:class:`Commit` builds the argument list of ``commit.lua`` (guards, then operations).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis
from redis import exceptions as rexc

from statemachine.errors import StoreError
from statemachine.runtime import keys as K
from statemachine.runtime.settings import Settings

T = TypeVar("T")
LUA_DIR = Path(__file__).resolve().parent / "lua"
SCRIPTS = ("commit", "promote", "result", "start", "callback", "dead", "requeue", "sweep")
TRANSIENT = (rexc.ConnectionError, rexc.TimeoutError, rexc.BusyLoadingError, OSError)
loads = orjson.loads
dumps = orjson.dumps


# Record fields left out of the stored JSON while they hold these values (most of a
# record's fields, most of the time: a parked execution's record is a third smaller).
_RECORD_DEFAULTS: dict[str, Any] = {
    "output": None, "error": None, "cause": None, "state": None, "state_input": None,
    "token": None, "timer": None, "waiting": None, "group": None, "stop": None,
    "parent": None, "item": None, "root": None, "path": [], "vars": {}, "retry": {},
}


def pack_record(record: dict[str, Any]) -> bytes:
    """An execution record as stored: without fields at their default, nor a name that is
    the id (an unnamed execution's); :func:`unpack_record` restores both."""
    defaults = _RECORD_DEFAULTS
    return dumps({k: v for k, v in record.items()
                  if not (k in defaults and v == defaults[k] and type(v) is type(defaults[k]))
                  and not (k == "name" and v == record["id"])})


def unpack_record(raw: bytes) -> dict[str, Any]:
    """The record :func:`pack_record` stored, with every field present again."""
    record: dict[str, Any] = loads(raw)
    for key, default in _RECORD_DEFAULTS.items():
        if key not in record:
            record[key] = [] if default == [] else {} if default == {} else None
    if "name" not in record:
        record["name"] = record["id"]
    return record


class Script:
    """One Lua file, run by SHA with a NOSCRIPT fallback."""

    __slots__ = ("name", "sha", "source")

    def __init__(self, name: str) -> None:
        self.name = name
        self.source = (LUA_DIR / f"{name}.lua").read_text()
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()

    async def __call__(self, client: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except rexc.NoScriptError:
            await client.script_load(self.source)
            return await client.evalsha(self.sha, len(keys), *keys, *args)


class Commit:
    """The arguments of ``commit.lua``: keys by index, guards, then operations."""

    __slots__ = ("_index", "guards", "item", "keys", "ops", "taken")

    def __init__(self, ready: str, item: str | bytes = "") -> None:
        self.keys: list[str] = [ready]
        self._index: dict[str, int] = {ready: 1}
        self.guards: list[Any] = []
        self.ops: list[Any] = []
        self.item = item
        self.taken: list[tuple[bytes, dict[bytes, bytes]]] = []

    def key(self, key: str) -> int:
        index = self._index.get(key)
        if index is None:
            self.keys.append(key)
            index = self._index[key] = len(self.keys)
        return index

    def guard(self, key: str, field: str, expected: Any) -> None:
        """Apply nothing unless ``HGET key field`` equals ``expected`` ("" = missing)."""
        self.guards += (self.key(key), field, expected)

    def op(self, name: str, key: str, *args: Any) -> None:
        self.ops += (name, self.key(key), len(args), *args)

    def take(self, stream: str, group: str, consumer: str, count: int = 1) -> None:
        """After the operations, read up to ``count`` new entries of ``stream`` for
        ``consumer`` (XREADGROUP); :meth:`RedisStore.commit` leaves them in ``taken``."""
        self.ops += ("TAKE", self.key(stream), 3, group, consumer, count)

    def history(self, history: str, root_record: str, events: Iterable[bytes]) -> None:
        """Append ``events`` to a root's history list (while the root is RUNNING)."""
        events = list(events)
        if events:
            self.ops += ("HIST", self.key(history), len(events) + 1, self.key(root_record), *events)

    def timer(self, shard: K.Shard, timer_id: str, due: int, message: bytes) -> None:
        """Set a timer; schedulers are woken when it becomes the shard's earliest."""
        self.ops += ("TIMER", self.key(shard.timers), 4, self.key(shard.timer_events), timer_id,
                     due, message)

    def open_group(self, shard: K.Shard, parent_id: str, group: str, counters: dict[str, Any],
                   spec: bytes, first: list[int]) -> None:
        """Write a group's counters (interpreter.children's, as hash fields) and spec, and
        enqueue the lazy ``Started`` items of the children to begin with."""
        tc, tp = counters["tolerated_count"], counters["tolerated_percentage"]
        self.op("HSET", shard.group(parent_id, group), "spec", spec, "kind", counters["kind"],
                "total", counters["total"], "limit", counters["limit"], "next", counters["next"],
                "running", counters["running"], "done", counters["done"],
                "failed", counters["failed"], "closed", counters["closed"],
                "tc", "" if tc is None else tc, "tp", "" if tp is None else tp)
        if first:
            self.op("SADD", shard.group_running(parent_id, group), *first)
        for i in first:
            self.op("XADD", shard.ready, "m", started_message(parent_id, group, i))

    def child_finished(self, shard: K.Shard, parent_id: str, group: str, index: int,
                       outcome: dict[str, Any]) -> None:
        """A Map/Parallel child ended: apply interpreter.children's policy in the script."""
        started, stop = child_messages(parent_id, group)
        self.ops += ("CHILD", self.key(shard.group(parent_id, group)), 12,
                     self.key(shard.group_results(parent_id, group)),
                     self.key(shard.group_running(parent_id, group)), index, dumps(outcome),
                     dumps(outcome.get("status")), dumps(outcome.get("error")),
                     dumps(outcome.get("cause")), dumps(parent_id), dumps(group), *started, stop)

    def args(self) -> list[Any]:
        return [self.item, len(self.guards) // 3, *self.guards, *self.ops]


def _fields(flat: list[bytes]) -> dict[bytes, bytes]:
    """A stream entry's fields as XREADGROUP gives them inside a script (a flat list)."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def child_messages(parent_id: str, group: str) -> tuple[tuple[bytes, bytes], bytes]:
    """The pieces of a group's work item messages, to be completed with a child index.

    ``started[0] + i + started[1] + i + b"]}"`` is child i's lazy ``Started`` item
    (``{"x": id, "e": {"type": "Started"}, "g": [parent id, group, i]}``) and
    ``started[0] + i + stop`` its ``StopRequested``; commit.lua builds them the same way.
    """
    prefix = dumps(f"{parent_id}/{group}/")[:-1]
    started = (b'{"x":' + prefix, b'","e":{"type":"Started"},"g":[' + dumps(parent_id) + b","
               + dumps(group) + b",")
    return started, b'","e":{"type":"StopRequested","error":null,"cause":null}}'


def started_message(parent_id: str, group: str, index: int) -> bytes:
    """Child ``index``'s lazy ``Started`` work item (see :func:`child_messages`)."""
    (head, middle), _ = child_messages(parent_id, group)
    i = str(index).encode()
    return head + i + middle + i + b"]}"


class RedisStore:
    """A connection pool, the scripts, the shard map; retries transient failures."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: Any = aioredis.Redis.from_url(
            settings.redis_url, decode_responses=False, health_check_interval=5,
            socket_connect_timeout=5, socket_keepalive=True,
        )
        self.scripts = {name: Script(name) for name in SCRIPTS}
        self.shards: list[K.Shard] = []
        self.closed = False

    @classmethod
    async def connect(cls, settings: Settings, *, wait_s: float = 30.0) -> RedisStore:
        """Connect, fix the shard count (first start wins) and make the consumer groups."""
        store = cls(settings)
        await store.retry(store._setup, give_up_s=wait_s)
        return store

    async def _setup(self) -> None:
        client = self.client
        await client.hsetnx(K.META, "shards", self.settings.shards)
        count = int(await client.hget(K.META, "shards"))
        self.shards = [K.Shard(n) for n in range(count)]
        await self.ensure_groups()
        pipe = client.pipeline(transaction=False)
        for script in self.scripts.values():  # so that no first call meets NOSCRIPT
            pipe.script_load(script.source)
        await pipe.execute()

    async def ensure_groups(self) -> None:
        """Create the "workers" and "invokers" groups (again, after a Redis without AOF lost them)."""
        pipe = self.client.pipeline(transaction=False)
        for shard in self.shards:
            pipe.xgroup_create(shard.ready, K.WORKERS_GROUP, id="0", mkstream=True)
            pipe.xgroup_create(shard.tasks, K.INVOKERS_GROUP, id="0", mkstream=True)
        for result in await pipe.execute(raise_on_error=False):
            if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
                raise result

    async def close(self) -> None:
        self.closed = True
        await self.client.aclose()

    # -- plumbing ----------------------------------------------------------------------------

    def shard(self, execution_id: str) -> K.Shard:
        return self.shards[K.shard_of(execution_id, len(self.shards))]

    async def retry(
        self, call: Callable[[], Awaitable[T]], *, give_up_s: float | None = 30.0,
        stop: Callable[[], bool] | None = None,
    ) -> T:
        """Run ``call``, retrying while Redis is unreachable or loading (backoff up to 1 s).

        ``give_up_s=None`` retries until ``stop()`` says so (workers); then, or after
        ``give_up_s``, a :class:`StoreError` is raised.
        """
        # time.monotonic, not loop.time(): on Python 3.11 getting the running loop costs a
        # getpid() system call, and this wraps every work item.
        deadline = None if give_up_s is None else time.monotonic() + give_up_s
        delay = 0.05
        while True:
            try:
                return await call()
            except rexc.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                await self.ensure_groups()
                continue
            except TRANSIENT as exc:
                if (stop is not None and stop()) or (deadline is not None
                                                      and time.monotonic() > deadline):
                    raise StoreError(f"Redis is unavailable: {exc}") from exc
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)

    async def script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self.scripts[name](self.client, keys, args)

    async def commit(self, commit: Commit, via: Any = None) -> tuple[bool, int]:
        """Run ``commit.lua``: (True, 0) when applied, (False, guard number) when refused.

        ``via``, a :class:`~statemachine.runtime.script_pipe.ScriptBatch` of ``commit.lua``,
        sends it in one pipeline with the other commits made in the same event-loop turn.
        """
        if via is None:
            result = await self.scripts["commit"](self.client, commit.keys, commit.args())
        else:
            result = await via.run(commit.keys, commit.args())
        if result[0] != 1:
            return False, int(result[1])
        if len(result) > 1:
            commit.taken = [(entry_id, _fields(flat)) for entry_id, flat in result[1]]
        return True, 0

    # -- reads -------------------------------------------------------------------------------

    async def load(self, execution_id: str) -> dict[str, Any] | None:
        """The execution record, or None."""
        raw = await self.client.hget(self.shard(execution_id).record(execution_id), "r")
        return None if raw is None else unpack_record(raw)

    async def machine_definition(self, name: str, version: int) -> dict[str, Any] | None:
        raw = await self.client.hget(K.machine(name), f"v:{version}")
        return None if raw is None else loads(raw)

    async def hmget_chunked(self, key: str, fields: list[Any], chunk: int) -> list[Any]:
        """HMGET of many fields, ``chunk`` at a time (pipelined)."""
        pipe = self.client.pipeline(transaction=False)
        for start in range(0, len(fields), chunk):
            pipe.hmget(key, fields[start : start + chunk])
        values: list[Any] = []
        for part in await pipe.execute():
            values.extend(part)
        return values

    async def hset_chunked(self, key: str, mapping: dict[Any, Any], chunk: int) -> None:
        """HSET of many fields, ``chunk`` at a time (pipelined, never one giant command)."""
        items = list(mapping.items())
        pipe = self.client.pipeline(transaction=False)
        for start in range(0, len(items), chunk):
            pipe.hset(key, mapping=dict(items[start : start + chunk]))
        await pipe.execute()
