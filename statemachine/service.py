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
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson

from statemachine.errors import Conflict, DefinitionError, InputError, InvalidToken, NotFound, TaskTimedOut
from statemachine.interpreter.handlers import task_token, token_execution
from statemachine.interpreter.records import TERMINAL
from statemachine.interpreter.step import derive, iso, new_execution
from statemachine.runtime import keys as K
from statemachine.runtime.redis_store import RedisStore, dumps, loads
from statemachine.runtime.settings import Settings

T = TypeVar("T")
REGION, ACCOUNT = "local", "000000000000"
MAX_NAME = 80
MAX_TOKEN = 1024
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


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


class Service:
    """Definitions, executions, callbacks and activities over one Redis."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.settings = store.settings
        self.client = store.client

    @classmethod
    async def connect(cls, redis_url: str, *, settings: Settings | None = None) -> Service:
        base = settings or Settings.from_env()
        return cls(await RedisStore.connect(base.with_(redis_url=redis_url)))

    async def close(self) -> None:
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
            pipe.hset(key, "latest", version)
            pipe.hsetnx(K.MACHINES, name, created)
            await pipe.execute()
            return version

        version = await self._r(write)
        return {"name": name, "version": version, "createdAt": created, "definition": source.definition}

    async def list_machines(self) -> list[dict[str, Any]]:
        names = sorted(n.decode() for n in await self._r(lambda: self.client.hkeys(K.MACHINES)))
        return [{k: v for k, v in (await self.get_machine(n)).items() if k != "definition"}
                for n in names]

    async def get_machine(self, name: str, version: int | None = None) -> dict[str, Any]:
        key = K.machine(name)
        if version is None:
            latest = await self._r(lambda: self.client.hget(key, "latest"))
            if latest is None:
                raise NotFound(f"state machine {name!r} does not exist", "StateMachineDoesNotExist")
            version = int(latest)
        raw = await self._r(lambda: self.client.hget(key, f"v:{version}"))
        if raw is None:
            raise NotFound(f"state machine {name!r} has no version {version}", "StateMachineDoesNotExist")
        stored = loads(raw)
        return {"name": name, "version": version, "createdAt": stored["createdAt"],
                "definition": stored["definition"]}

    # -- executions ----------------------------------------------------------------------------

    def _pick_id(self, machine: str, name: str | None) -> tuple[str, str]:
        """A UUID4 execution id on the shard of its name's index entry (so start is one script)."""
        shards = len(self.store.shards)
        while True:
            candidate = str(uuid.uuid4())
            wanted = K.shard_of_name(machine, name or candidate, shards)
            if K.shard_of(candidate, shards) == wanted:
                return candidate, name or candidate

    async def start(self, machine: str, input: Any = None, name: str | None = None) -> dict[str, Any]:
        """Start an execution of ``machine``'s latest version (idempotent by ``name``)."""
        if name is not None:
            check_name(name, "execution name")
        data = orjson.dumps({} if input is None else input, option=orjson.OPT_SORT_KEYS)
        if len(data) > self.settings.max_input_bytes:
            raise InputError(f"input is {len(data)} bytes, over the limit of "
                             f"{self.settings.max_input_bytes} bytes", "InvalidExecutionInput")
        value = loads(data)
        version = (await self.get_machine(machine))["version"]
        execution_id, name = self._pick_id(machine, name)
        shard = self.store.shard(execution_id)
        now = now_ms()
        record = new_execution(execution_id=execution_id, name=name, machine=machine,
                               machine_version=version, input=value, now=now,
                               salt=secrets.token_hex(16))
        keys = [shard.name(machine, name), shard.record(execution_id), shard.ready, shard.index_all,
                shard.index_machine(machine), shard.index_status("RUNNING")]
        args = [execution_id, hashlib.sha256(data).hexdigest(), dumps(record),
                dumps({"x": execution_id, "e": {"type": "Started"}}), now]
        created, found = await self._r(lambda: self.store.script("start", keys, args))
        found = found.decode()
        if created == -1:
            raise Conflict(f"execution {name!r} of {machine!r} already exists with another input "
                           f"({found})", "ExecutionAlreadyExists")
        if created == 0:
            existing = await self.describe(found)
            return {"executionId": found, "name": existing["name"], "stateMachine": machine,
                    "version": existing["version"], "startDate": existing["startDate"],
                    "status": existing["status"], "created": False}
        return {"executionId": execution_id, "name": name, "stateMachine": machine, "version": version,
                "startDate": iso(now), "status": "RUNNING", "created": True}

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
            score, last = found[-1][0]
            next_cursor = f"{score}|{last}"
        return {"executions": [entry for _, entry in found], "nextCursor": next_cursor}

    async def _index_rows(self, machine: str | None, status: str | None, top: str,
                          after: tuple[int, str] | None, want: int) -> tuple[list[tuple[int, str]], bool]:
        """Up to ``want`` (start, id) index rows after ``after``, merged over the shards."""
        def index(shard: K.Shard) -> str:
            if machine is not None:
                return shard.index_machine(machine)
            return shard.index_status(status) if status is not None else shard.index_all

        async def read() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            for shard in self.store.shards:
                pipe.zrevrangebyscore(index(shard), top, "-inf", start=0, num=want, withscores=True)
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
            record = loads(raw)
            if status is None or record["status"] == status:
                loaded.append((row, self._summary(record)))
        return loaded

    async def history(self, execution_id: str, limit: int = 1000, cursor: str | None = None) -> dict[str, Any]:
        """Step Functions-shaped events in id order; ``nextCursor`` is the last id returned."""
        await self._record(execution_id)
        limit = max(1, min(int(limit), 1000))
        start = "-"
        if cursor:
            if not cursor.isdigit():
                raise InputError("malformed cursor", "InvalidCursor")
            start = f"{int(cursor) + 1}-0"
        key = self.store.shard(execution_id).history(execution_id)
        entries = await self._r(lambda: self.client.xrange(key, start, "+", count=limit + 1))
        events = []
        for entry_id, fields in entries[:limit]:
            event = loads(fields[b"e"])
            n = int(entry_id.split(b"-", 1)[0])
            event["id"], event["previousEventId"] = n, n - 1
            events.append(event)
        next_cursor = str(events[-1]["id"]) if len(entries) > limit else None
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
