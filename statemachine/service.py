"""The one facade the REST API and the command line use: define, start, describe, stop...

Every method is async and talks to Redis through :class:`RedisStore`; workers
(:mod:`statemachine.runtime.worker`) are separate and may run in other processes.
Errors are the exceptions of :mod:`statemachine.errors`: ``DefinitionError``,
``InputError``, ``NotFound``, ``Conflict``, ``InvalidToken``, ``TaskTimedOut``.

Behaviour taken from Step Functions:

* ``start`` is idempotent by name: the same name and input give back the same execution,
  another input is a ``Conflict`` (AWS's ExecutionAlreadyExists).  Input is limited to
  256 KiB, names to 80 characters without whitespace or ``<>{}[]?*"#%\\^|~`$&,;:/``.
* Callbacks (``SendTaskSuccess`` & co.): a token that was never issued is ``InvalidToken``;
  one whose task is closed (answered, timed out, execution stopped) is ``TaskTimedOut``
  ("The task token has either expired or the task associated with the token has already
  been closed").  Only the first success/failure for a token transitions.

Operations: ``dead_letters`` lists the work items the workers gave up on (see
:mod:`statemachine.runtime.worker`) and ``requeue_dead_letter`` puts one back, like an SQS
redrive; ``stats`` reads the gauges and the workers' counters ``GET /metrics`` shows.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, TypeVar

import orjson

from statemachine.errors import (
    Conflict,
    DefinitionError,
    InputError,
    InvalidToken,
    NotFound,
    TaskTimedOut,
)
from statemachine.interpreter.formats import iso
from statemachine.interpreter.records import TERMINAL
from statemachine.interpreter.step import new_execution
from statemachine.interpreter.tokens import derive, task_token, token_execution
from statemachine.runtime import keys as K
from statemachine.runtime.redis_store import (
    RedisStore,
    dumps,
    loads,
    pack_record,
    unpack_record,
)
from statemachine.runtime.script_pipe import ScriptBatch
from statemachine.runtime.settings import Settings

T = TypeVar("T")
REGION, ACCOUNT = "local", "000000000000"
MAX_NAME = 80
MAX_TOKEN = 1024
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
TASK_RESULTS = ("succeeded", "failed", "timed_out", "sent")
_DEAD_ID = re.compile(r"(\d{1,6})-(\d{1,19})-(\d{1,19})")  # <shard>-<dead stream id>


def now_ms() -> int:
    return int(time.time() * 1000)


def check_name(name: Any, what: str) -> str:
    """A state machine, execution or activity name as AWS accepts it, else InputError."""
    if not isinstance(name, str) or not name:
        raise InputError(f"{what} must be a non-empty string", "InvalidName")
    if len(name) > MAX_NAME:
        raise InputError(f"{what} is longer than {MAX_NAME} characters", "InvalidName")
    bad = _BAD_NAME.search(name)
    if bad is not None:
        raise InputError(f"{what} {name!r} contains the character {bad.group()!r}, which is not allowed",
                         "InvalidName")
    return name


# -- the start path: machine versions, execution ids, batched start scripts ------------------

VERSION_CACHE = 256
"""Decoded state machine versions kept by :meth:`Service.get_machine` (they never change)."""

_RAISE_VERSION = """
local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if old < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
"""
"""Raise a version field to ARGV[2] unless it is already higher (concurrent defines)."""


def versions_key(shard: K.Shard) -> str:
    """``sm:T:mv``: the shard's copy of every state machine's latest version (name -> n).

    ``define`` raises it on every shard, so ``start.lua`` reads the latest version without
    touching a key of another hash slot.
    """
    return f"{K.PREFIX}:{shard.tag}:mv"


_ID_LENGTH = 36
_SUFFIXES = tuple(f"{n:03x}".encode() for n in range(16**3))
_VARIANT = "89ab"


@cache
def _suffix_deltas() -> tuple[int, ...]:
    """How each 3-hex-digit id ending changes the id's crc32, relative to ending "000".

    crc32 is affine over XOR for inputs of one length, so ``crc32(p + s)`` is
    ``crc32(p + "000") ^ delta[s]``: trying an ending costs one XOR, not a crc32.
    """
    zeros = bytes(_ID_LENGTH - 3)
    base = zlib.crc32(zeros + b"000")
    return tuple(zlib.crc32(zeros + suffix) ^ base for suffix in _SUFFIXES)


def _random_prefix() -> bytes:
    """The first 33 characters of a random UUID4 (version and variant set): 110 random bits."""
    h = os.urandom(16).hex()
    variant = _VARIANT[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:29]}".encode()


def id_on_shard(wanted: int, shards: int) -> str:
    """A random UUID4 whose :func:`K.shard_of` is ``wanted``: a random prefix, a fitting ending."""
    deltas = _suffix_deltas()
    while True:
        prefix = _random_prefix()
        base = zlib.crc32(prefix + b"000")
        for index, delta in enumerate(deltas):
            if (base ^ delta) % shards == wanted:
                return (prefix + _SUFFIXES[index]).decode()


def self_named_id(machine: str, shards: int) -> str:
    """A random UUID4 whose shard is also the shard of its own name in ``machine``'s index.

    Both shards depend on the whole id, so endings are tried (about ``shards`` of them),
    each for the price of an XOR and a copy of a blake2b state primed with the prefix.
    """
    deltas = _suffix_deltas()
    while True:
        prefix = _random_prefix()
        base = zlib.crc32(prefix + b"000")
        primed = hashlib.blake2b(f"{machine}\x00".encode() + prefix, digest_size=4)
        for index, delta in enumerate(deltas):
            digest = primed.copy()
            digest.update(_SUFFIXES[index])
            if int.from_bytes(digest.digest(), "big") % shards == (base ^ delta) % shards:
                return (prefix + _SUFFIXES[index]).decode()


_SECOND: list[Any] = [None, ""]


def _start_date(ms: int) -> str:
    """``iso(ms)`` for start times: the text of the current second is made once, not per start."""
    second = ms // 1000
    if _SECOND[0] != second:
        _SECOND[1] = iso(second * 1000)[:-4]
        _SECOND[0] = second
    return f"{_SECOND[1]}{ms % 1000:03d}Z"


class Service:
    """Definitions, executions, callbacks and activities over one Redis."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.settings = store.settings
        self.client = store.client
        self._versions: dict[tuple[str, int], dict[str, Any]] = {}
        self._starts = ScriptBatch(store, "start")

    @classmethod
    async def connect(cls, redis_url: str, *, settings: Settings | None = None) -> Service:
        base = settings or Settings.from_env()
        return cls(await RedisStore.connect(base.with_(redis_url=redis_url)))

    async def close(self) -> None:
        self._starts.close()
        await self.store.close()

    async def healthy(self) -> bool:
        """Redis answers PING within two seconds."""
        try:
            return bool(await asyncio.wait_for(self.client.ping(), 2.0))
        except Exception:
            return False

    async def _r(self, call: Callable[[], Awaitable[T]]) -> T:
        """One Redis interaction, retried for up to 10 s while Redis restarts."""
        return await self.store.retry(call, give_up_s=10.0)

    # -- state machines ----------------------------------------------------------------------

    async def define(self, name: str, definition: dict[str, Any] | str,
                     substitutions: dict[str, str] | None = None) -> dict[str, Any]:
        """Validate and compile ``definition``, store it as ``name``'s next version."""
        from statemachine.language.model import compile_machine
        from statemachine.language.source import Source, load_definition
        from statemachine.language.validate import validate

        check_name(name, "state machine name")
        if isinstance(definition, str):
            source = load_definition(definition, substitutions=substitutions)
        elif isinstance(definition, dict):
            source = (load_definition(orjson.dumps(definition).decode(), substitutions=substitutions)
                      if substitutions else Source(definition=definition))
        else:
            raise InputError("definition must be an object or JSON/YAML text", "InvalidDefinition")
        problems = validate(source.definition, source=source)
        if problems:
            raise DefinitionError(problems)
        compile_machine(source.definition)
        created = iso(now_ms())
        key = K.machine(name)

        async def write() -> int:
            version = int(await self.client.hincrby(key, "seq", 1))
            pipe = self.client.pipeline(transaction=True)
            pipe.hset(key, f"v:{version}", dumps({"definition": source.definition, "createdAt": created}))
            pipe.hsetnx(K.MACHINES, name, created)
            for shard in self.store.shards:
                pipe.eval(_RAISE_VERSION, 1, versions_key(shard), name, version)
            pipe.eval(_RAISE_VERSION, 1, key, "latest", version)
            await pipe.execute()
            return version

        version = await self._r(write)
        return {"name": name, "version": version, "createdAt": created, "definition": source.definition}

    async def list_machines(self) -> list[dict[str, Any]]:
        names = sorted(n.decode() for n in await self._r(lambda: self.client.hkeys(K.MACHINES)))
        return [{k: v for k, v in (await self.get_machine(n)).items() if k != "definition"}
                for n in names]

    async def get_machine(self, name: str, version: int | None = None) -> dict[str, Any]:
        """One version of a state machine (the latest by default).

        Versions never change once written, so each is read and decoded once and then served
        from a small cache; the latest version number is read every time (one small HGET).
        The returned ``definition`` is shared with the cache: callers must not modify it.
        """
        key = K.machine(name)
        if version is None:
            latest = await self._r(lambda: self.client.hget(key, "latest"))
            if latest is None:
                raise NotFound(f"state machine {name!r} does not exist", "StateMachineDoesNotExist")
            version = int(latest)
        stored = self._versions.get((name, version))
        if stored is None:
            raw = await self._r(lambda: self.client.hget(key, f"v:{version}"))
            if raw is None:
                raise NotFound(f"state machine {name!r} has no version {version}",
                               "StateMachineDoesNotExist")
            stored = self._remember(name, version, loads(raw))
        return {"name": name, "version": version, "createdAt": stored["createdAt"],
                "definition": stored["definition"]}

    def _remember(self, name: str, version: int, stored: dict[str, Any]) -> dict[str, Any]:
        """Keep a decoded version, dropping the oldest beyond :data:`VERSION_CACHE` entries."""
        if len(self._versions) >= VERSION_CACHE:
            del self._versions[next(iter(self._versions))]
        self._versions[(name, version)] = stored
        return stored

    # -- executions ----------------------------------------------------------------------------

    def _pick_id(self, machine: str, name: str | None) -> tuple[str, str]:
        """A random UUID4-shaped execution id on the shard of its name's index entry.

        Starting by name is then one script on one shard.  An unnamed execution is named
        after its id, so its id must land on the shard its own name hashes to.
        """
        shards = len(self.store.shards)
        if name is None:
            execution_id = self_named_id(machine, shards)
            return execution_id, execution_id
        return id_on_shard(K.shard_of_name(machine, name, shards), shards), name

    async def start(self, machine: str, input: Any = None, name: str | None = None) -> dict[str, Any]:
        """Start an execution of ``machine``'s latest version (idempotent by ``name``).

        One script round trip (shared with the other starts of the same event-loop turn):
        the script itself reads the latest version from its shard's copy; only a shard that
        has no copy yet costs a second read of the global latest version.
        """
        if name is not None:
            check_name(name, "execution name")
        data = orjson.dumps({} if input is None else input, option=orjson.OPT_SORT_KEYS)
        if len(data) > self.settings.max_input_bytes:
            raise InputError(f"input is {len(data)} bytes, over the limit of "
                             f"{self.settings.max_input_bytes} bytes", "InvalidExecutionInput")
        unnamed = name is None
        execution_id, name = self._pick_id(machine, name)
        shard = self.store.shard(execution_id)
        now = now_ms()
        record = new_execution(execution_id=execution_id, name=name, machine=machine,
                               machine_version=0, input=loads(data), now=now,
                               salt=secrets.token_hex(16))
        del record["machine_version"]  # the script writes the version it read
        # An unnamed execution keeps no name entry (its name is its random id); a named one
        # must not take the name of an unnamed one, whose record is on the name's shard.
        if unnamed:
            mode, same_name = "unnamed", shard.record(execution_id)
        elif K.shard_of(name, len(self.store.shards)) == shard.n:
            mode, same_name = "check", shard.record(name)
        else:
            mode, same_name = "", shard.record(execution_id)
        keys = [shard.name(machine, name), shard.record(execution_id), shard.ready,
                shard.index_machine(machine), shard.index_status("RUNNING"), versions_key(shard),
                same_name]
        args = [execution_id, hashlib.sha256(data).hexdigest(), pack_record(record),
                dumps({"x": execution_id, "e": {"type": "Started"}}), now, machine, "", mode]
        result = await self._starts.run(keys, args)
        if result[0] == -2:
            latest = await self._r(lambda: self.client.hget(K.machine(machine), "latest"))
            if latest is None:
                raise NotFound(f"state machine {machine!r} does not exist",
                               "StateMachineDoesNotExist")
            args[6] = int(latest)
            result = await self._starts.run(keys, args)
        if result[0] == -3:
            raise Conflict(f"execution {name!r} of {machine!r} already exists", "ExecutionAlreadyExists")
        created, found = result[0], result[1].decode()
        if created == -1:
            raise Conflict(f"execution {name!r} of {machine!r} already exists with another input "
                           f"({found})", "ExecutionAlreadyExists")
        if created == 0:
            existing = await self.describe(found)
            return {"executionId": found, "name": existing["name"], "stateMachine": machine,
                    "version": existing["version"], "startDate": existing["startDate"],
                    "status": existing["status"], "created": False}
        return {"executionId": execution_id, "name": name, "stateMachine": machine,
                "version": int(result[2]), "startDate": _start_date(now), "status": "RUNNING",
                "created": True}

    async def _record(self, execution_id: str) -> dict[str, Any]:
        if not isinstance(execution_id, str) or not execution_id or not self.store.shards:
            raise NotFound(f"execution {execution_id!r} does not exist", "ExecutionDoesNotExist")
        record = await self._r(lambda: self.store.load(execution_id))
        if record is None:
            raise NotFound(f"execution {execution_id!r} does not exist", "ExecutionDoesNotExist")
        return record

    @staticmethod
    def _summary(record: dict[str, Any]) -> dict[str, Any]:
        return {
            "executionId": record["id"], "name": record["name"], "stateMachine": record["machine"],
            "version": record["machine_version"], "status": record["status"],
            "startDate": iso(record["start"]),
            "stopDate": iso(record["stop"]) if record["stop"] is not None else None,
        }

    async def describe(self, execution_id: str) -> dict[str, Any]:
        record = await self._record(execution_id)
        described = self._summary(record)
        described.update(input=record["input"], output=record["output"], error=record["error"],
                         cause=record["cause"])
        return described

    async def list_executions(self, machine: str | None = None, status: str | None = None,
                              limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """Newest first, merged over the shards; ``nextCursor`` continues after the last one."""
        if status is not None and status not in STATUSES:
            raise InputError(f"status must be one of {', '.join(STATUSES)}", "InvalidStatus")
        limit = max(1, min(int(limit), 1000))
        top, after = "+inf", None
        if cursor:
            score, sep, last = cursor.partition("|")
            if not sep or not score.isdigit():
                raise InputError("malformed cursor", "InvalidCursor")
            top, after = score, (int(score), last)
        found: list[tuple[tuple[int, str], dict[str, Any]]] = []
        while len(found) < limit:
            rows, exhausted = await self._index_rows(machine, status, top, after, limit + 16)
            if not rows:
                break
            found.extend(await self._load_rows(rows, status))
            after = rows[-1]
            top = str(after[0])
            if exhausted:
                break
        found = found[:limit]
        next_cursor = None
        if len(found) == limit:
            end_start, end_id = found[-1][0]
            next_cursor = f"{end_start}|{end_id}"
        return {"executions": [entry for _, entry in found], "nextCursor": next_cursor}

    async def _index_rows(self, machine: str | None, status: str | None, top: str,
                          after: tuple[int, str] | None, want: int) -> tuple[list[tuple[int, str]], bool]:
        """Up to ``want`` (start, id) index rows after ``after``, merged over the shards."""
        def indexes(shard: K.Shard) -> list[str]:
            if machine is not None:
                return [shard.index_machine(machine)]
            if status is not None:
                return [shard.index_status(status)]
            return [shard.index_status(s) for s in STATUSES]  # a root is in exactly one

        async def read() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            for shard in self.store.shards:
                for key in indexes(shard):
                    pipe.zrevrangebyscore(key, top, "-inf", start=0, num=want, withscores=True)
            return await pipe.execute()

        rows: list[tuple[int, str]] = []
        exhausted = True
        for part in await self._r(read):
            exhausted = exhausted and len(part) < want
            rows.extend((int(score), member.decode()) for member, score in part)
        rows.sort(key=_newest_first)
        if after is not None:
            rows = [r for r in rows if _newest_first(r) > _newest_first(after)]
        return rows[:want], exhausted and len(rows) <= want

    async def _load_rows(self, rows: list[tuple[int, str]],
                         status: str | None) -> list[tuple[tuple[int, str], dict[str, Any]]]:
        """The summaries of the rows' executions that still exist (and have ``status``)."""
        async def load() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            for _, xid in rows:
                pipe.hget(self.store.shard(xid).record(xid), "r")
            return await pipe.execute()

        loaded = []
        for row, raw in zip(rows, await self._r(load), strict=True):
            if raw is None:
                continue
            record = unpack_record(raw)
            if status is None or record["status"] == status:
                loaded.append((row, self._summary(record)))
        return loaded

    async def history(self, execution_id: str, limit: int = 1000, cursor: str | None = None) -> dict[str, Any]:
        """Step Functions-shaped events in id order; ``nextCursor`` is the last id returned.

        The history is a Redis list whose position n-1 holds event n, so a page is one
        LRANGE by index, as cheap at event 100,000 as at event 10.
        """
        await self._record(execution_id)
        limit = max(1, min(int(limit), 1000))
        after = 0
        if cursor:
            if not cursor.isdigit():
                raise InputError("malformed cursor", "InvalidCursor")
            after = int(cursor)
        key = self.store.shard(execution_id).history(execution_id)
        entries = await self._r(lambda: self.client.lrange(key, after, after + limit))
        events = []
        for n, raw in enumerate(entries[:limit], start=after + 1):
            events.append({"id": n, "previousEventId": n - 1, **loads(raw)})
        next_cursor = str(after + limit) if len(entries) > limit else None
        return {"events": events, "nextCursor": next_cursor}

    async def stop(self, execution_id: str, error: str | None = None, cause: str | None = None) -> dict[str, Any]:
        """Ask the workers to abort a running execution (its children and tasks stop too)."""
        record = await self._record(execution_id)
        if record["status"] in TERMINAL:
            return {"executionId": execution_id, "status": record["status"],
                    "stopDate": iso(record["stop"]) if record["stop"] else None}
        shard = self.store.shard(execution_id)
        message = dumps({"x": execution_id, "e": {"type": "StopRequested", "error": error, "cause": cause}})
        await self._r(lambda: self.client.xadd(shard.ready, {"m": message}))
        return {"executionId": execution_id, "status": "RUNNING", "stopDate": iso(now_ms())}

    # -- callbacks ---------------------------------------------------------------------------

    async def send_task_success(self, token: str, output: Any) -> None:
        data = orjson.dumps(output)
        if len(data) > self.settings.max_input_bytes:
            raise InputError(f"output is {len(data)} bytes, over the limit of "
                             f"{self.settings.max_input_bytes} bytes", "InvalidOutput")
        await self._callback(token, {"type": "TaskSucceeded", "token": token, "output": loads(data)}, True)

    async def send_task_failure(self, token: str, error: str | None = None, cause: str | None = None) -> None:
        await self._callback(token, {"type": "TaskFailed", "token": token, "error": error, "cause": cause}, True)

    async def send_task_heartbeat(self, token: str) -> None:
        await self._callback(token, {"type": "TaskHeartbeat", "token": token}, False)

    async def _callback(self, token: str, event: dict[str, Any], consume: bool) -> None:
        execution_id = token_execution(token) if isinstance(token, str) and len(token) <= MAX_TOKEN else None
        if not execution_id or not self.store.shards:
            raise InvalidToken("The provided token is not valid.")
        shard = self.store.shard(execution_id)
        message = dumps({"x": execution_id, "e": event})
        result = await self._r(lambda: self.store.script(
            "callback", [shard.record(execution_id), shard.ready], [token, message, "1" if consume else "0"]))
        if result == 1:
            return
        record = await self._r(lambda: self.store.load(execution_id)) if result == 0 else None
        if record is not None and _issued(record, token):
            raise TaskTimedOut("The task token has either expired or the task associated with "
                               "the token has already been closed.")
        raise InvalidToken("The provided token is not valid.")

    # -- activities --------------------------------------------------------------------------

    async def create_activity(self, name: str) -> dict[str, Any]:
        """Create (or return) the activity ``name``."""
        check_name(name, "activity name")
        entry = {"name": name, "activityArn": f"arn:aws:states:{REGION}:{ACCOUNT}:activity:{name}",
                 "createdAt": iso(now_ms())}
        await self._r(lambda: self.client.hsetnx(K.ACTIVITIES, name, dumps(entry)))
        return loads(await self._r(lambda: self.client.hget(K.ACTIVITIES, name)))

    async def poll_activity(self, name: str, timeout: float = 60.0) -> dict[str, Any] | None:
        """The next task of activity ``name`` as ``{"taskToken", "input"}``, or None on timeout."""
        if await self._r(lambda: self.client.hget(K.ACTIVITIES, name)) is None:
            raise NotFound(f"activity {name!r} does not exist", "ActivityDoesNotExist")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        shards = list(self.store.shards)
        delay = 0.02
        while True:
            random.shuffle(shards)
            for shard in shards:
                task = await self._take_activity_task(shard, name)
                if task is not None:
                    return task
            left = deadline - loop.time()
            if left <= 0:
                return None
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, 0.5)

    async def _take_activity_task(self, shard: K.Shard, name: str) -> dict[str, Any] | None:
        """Pop one task of this shard's queue that its execution still waits for."""
        while True:
            raw = await self._r(lambda: self.client.lpop(shard.activity(name)))
            if raw is None:
                return None
            task = loads(raw)
            status, token = await self._r(
                lambda: self.client.hmget(shard.record(task["x"]), ["status", "token"]))
            if status == b"RUNNING" and token is not None and token.decode() == task["token"]:
                return {"taskToken": task["token"], "input": task["input"]}

    # -- operations: dead letters, runtime statistics ------------------------------------------

    def _dead_id(self, dead_id: Any, cursor: bool = False) -> tuple[K.Shard, str]:
        """The shard and dead-stream entry id of ``<shard>-<stream id>``: InputError when
        malformed, NotFound for a shard that does not exist (InputError for a cursor)."""
        found = _DEAD_ID.fullmatch(dead_id) if isinstance(dead_id, str) else None
        if found is None or (cursor and int(found[1]) >= len(self.store.shards)):
            if cursor:
                raise InputError("malformed cursor", "InvalidCursor")
            raise InputError(f"malformed dead letter id {dead_id!r}: expected <shard>-<stream id>, "
                             "e.g. 3-1764121200000-0", "InvalidDeadLetterId")
        n = int(found[1])
        if n >= len(self.store.shards):
            raise NotFound(f"dead letter {dead_id!r} does not exist", "DeadLetterDoesNotExist")
        return self.store.shards[n], f"{int(found[2])}-{int(found[3])}"

    async def dead_letters(self, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """Dead letters of every shard, newest first; ``nextCursor`` continues after the last.

        Ordered by (stream id, shard) descending.  After a cursor, each shard's
        ``XREVRANGE`` starts at the cursor's stream id: inclusive on the shards numbered
        below the cursor's, exclusive on the others; the merged rows are cut to ``limit``.
        """
        limit = max(1, min(int(limit), 1000))
        after: tuple[int, int, int] | None = None
        if cursor:
            shard, entry = self._dead_id(cursor, cursor=True)
            ms, seq = entry.split("-")
            after = (int(ms), int(seq), shard.n)

        async def read() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            for shard in self.store.shards:
                top = "+"
                if after is not None:
                    top = f"{after[0]}-{after[1]}" if shard.n < after[2] else f"({after[0]}-{after[1]}"
                pipe.xrevrange(shard.dead, top, "-", count=limit + 1)
            return await pipe.execute()

        rows: list[tuple[tuple[int, int, int], dict[str, Any]]] = []
        for shard, entries in zip(self.store.shards, await self._r(read), strict=True):
            for entry_id, fields in entries:
                ms, seq = entry_id.decode().split("-")
                rows.append(((int(ms), int(seq), shard.n), _dead_letter(shard, entry_id, fields)))
        rows.sort(key=lambda row: row[0], reverse=True)
        page = [letter for _, letter in rows[:limit]]
        return {"deadLetters": page, "nextCursor": page[-1]["id"] if len(rows) > limit else None}

    async def requeue_dead_letter(self, dead_id: str) -> dict[str, Any]:
        """Put a dead letter's message back on its stream as a new entry and delete the dead
        letter, atomically (``requeue.lua``); ``NotFound`` when there is no such dead letter."""
        shard, entry = self._dead_id(dead_id)
        keys = [shard.dead, shard.ready, shard.tasks]
        result = await self._r(lambda: self.store.script("requeue", keys, [entry]))
        if not result:
            raise NotFound(f"dead letter {dead_id!r} does not exist", "DeadLetterDoesNotExist")
        stream, new_id = (part.decode() for part in result)
        return {"id": dead_id, "stream": stream, "kind": _stream_kind(shard, stream),
                "entryId": new_id}

    async def stats(self) -> dict[str, Any]:
        """What ``GET /metrics`` reports from Redis, read in one pipeline at scrape time.

        Gauges (names ending ``_current``/``_pending``; summed over the shards): root
        executions by status (the status indexes: finished executions stay counted until
        the workers' sweeper drops them, once their records have expired), work items not yet delivered (``XLEN`` minus pending: acked
        entries are deleted) and delivered but not acknowledged, per stream kind, timers
        set, dead letters.  Counters: the workers' totals from ``sm:stats``, which each
        worker process adds to every ``stats_flush_ms``.
        """
        shards = self.store.shards

        async def read() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            for shard in shards:
                for status in STATUSES:
                    pipe.zcard(shard.index_status(status))
                pipe.xlen(shard.ready)
                pipe.xpending(shard.ready, K.WORKERS_GROUP)
                pipe.xlen(shard.tasks)
                pipe.xpending(shard.tasks, K.INVOKERS_GROUP)
                pipe.zcard(shard.timers)
                pipe.xlen(shard.dead)
            pipe.hgetall(K.STATS)
            return await pipe.execute(raise_on_error=False)

        replies = await self.store.retry(read, give_up_s=2.0)
        executions = dict.fromkeys(STATUSES, 0)
        waiting = {"ready": 0, "tasks": 0}
        pending = {"ready": 0, "tasks": 0}
        timers = dead = 0
        width = len(STATUSES) + 6
        for n in range(len(shards)):
            row = [_number(r) for r in replies[n * width:(n + 1) * width]]
            for status, count in zip(STATUSES, row, strict=False):
                executions[status] += count
            ready_len, ready_pending, tasks_len, tasks_pending, timer_count, dead_len = row[len(STATUSES):]
            waiting["ready"] += max(0, ready_len - ready_pending)
            waiting["tasks"] += max(0, tasks_len - tasks_pending)
            pending["ready"] += ready_pending
            pending["tasks"] += tasks_pending
            timers += timer_count
            dead += dead_len
        counters = replies[-1] if isinstance(replies[-1], dict) else {}
        counts = {name.decode(): int(value) for name, value in counters.items()}
        return {
            "executions_current": {(("status", s),): executions[s] for s in STATUSES},
            "work_items_waiting_current": {(("kind", k),): v for k, v in waiting.items()},
            "work_items_pending": {(("kind", k),): v for k, v in pending.items()},
            "timers_pending": timers,
            "dead_letters_current": dead,
            "transitions_total": counts.get("transitions", 0),
            "tasks_performed_total": {(("result", r),): counts.get(f"tasks:{r}", 0)
                                      for r in TASK_RESULTS},
            "commit_conflicts_total": counts.get("conflicts", 0),
            "dead_lettered_total": counts.get("dead_lettered", 0),
        }


def _number(reply: Any) -> int:
    """A count from a stats pipeline reply (XPENDING's summary, an integer; 0 for an error
    such as a consumer group that does not exist yet)."""
    if isinstance(reply, dict):
        return int(reply.get("pending") or 0)
    return int(reply) if isinstance(reply, int) else 0


def _stream_kind(shard: K.Shard, stream: str) -> str | None:
    return "ready" if stream == shard.ready else "tasks" if stream == shard.tasks else None


def _dead_letter(shard: K.Shard, entry_id: bytes, fields: dict[bytes, bytes]) -> dict[str, Any]:
    """A dead-stream entry as the API shows it (the message as text: it may not be JSON)."""
    def text(name: bytes) -> str:
        return fields.get(name, b"").decode("utf-8", "replace")

    message = fields.get(b"m", b"")
    try:
        decoded = loads(message)
    except ValueError:
        decoded = None
    execution_id = decoded.get("x") if isinstance(decoded, dict) else None
    stream, at = text(b"stream"), text(b"at")
    return {
        "id": f"{shard.n}-{entry_id.decode()}", "shard": shard.n, "stream": stream,
        "kind": _stream_kind(shard, stream), "group": text(b"group"), "entryId": text(b"id"),
        "executionId": execution_id if isinstance(execution_id, str) else None,
        "message": text(b"m"), "error": text(b"error"), "consumer": text(b"consumer"),
        "at": int(at) if at.isdigit() else None,
    }


def _newest_first(row: tuple[int, str]) -> tuple[int, tuple[int, ...]]:
    """Sort key of an index row (start ms, id): newest first, then by id descending."""
    return -row[0], tuple(-ord(c) for c in row[1])


def _issued(record: dict[str, Any], token: str) -> bool:
    """Whether ``token`` is one this execution handed out at some point (it moved on since)."""
    secret = token.partition(".")[2]
    if task_token(record["id"], secret) != token:
        return False
    salt = record["salt"]
    return any(derive(salt, "token", seq) == secret for seq in range(record["seq"] + 1))
