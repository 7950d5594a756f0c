"""Many concurrent callers' Redis calls: batched, pipelined, on a lean connection.

:class:`ScriptBatch` is what ``Service.start`` sends its ``start.lua`` calls through, and
workers their ``commit.lua`` calls; :class:`CommandBatch` carries plain commands (a
worker's record loads).  Every call made during one event-loop turn joins one pipeline
sent on the next turn, so a burst of starts costs one write and one read instead of one
of each per start, and never opens a connection more.

:class:`RespConnection` is a single Redis connection that speaks RESP2 through hiredis with
nothing else around it: no pool, no per-command health check or retry wrapper.  A start
then costs the event loop one socket write and one read, which is most of what is left of
a round trip once the Python client's own machinery is gone.  It serves plain TCP and Unix
socket URLs (with a password and a database number); for anything else (TLS, credential
providers) the batch falls back to the store's redis-py client.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Any, cast

import hiredis
import redis.asyncio as aioredis
from redis import exceptions as rexc

from statemachine.runtime.redis_store import RedisStore

__all__ = ["BATCHES_IN_FLIGHT", "CommandBatch", "RespConnection", "ScriptBatch"]

BATCHES_IN_FLIGHT = 4
"""Pipelines out at once; calls made meanwhile wait for a free slot and join one batch."""

Call = tuple[list[Any], list[Any], "asyncio.Future[Any]"]


def _error(reply: hiredis.ReplyError) -> rexc.ResponseError:
    """A Redis error reply as the redis-py exception the rest of the code knows."""
    message = str(reply)
    if message.startswith("NOSCRIPT"):
        return rexc.NoScriptError(message)
    if message.startswith("LOADING"):
        return rexc.BusyLoadingError(message)
    return rexc.ResponseError(message)


class _Protocol(asyncio.Protocol):
    """Commands out in order, replies matched to them in the same order."""

    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            future = self._waiting.popleft()
            if not future.done():
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        lost = rexc.ConnectionError(f"connection to Redis lost: {exc or 'closed'}")
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(lost)

    def send(self, commands: Sequence[Sequence[Any]]) -> list[asyncio.Future[Any]]:
        """Write ``commands`` at once; one future per command for its raw reply."""
        if self.closed or self._transport is None:
            raise rexc.ConnectionError("connection to Redis is closed")
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in commands]
        self._waiting.extend(futures)
        self._transport.write(b"".join(hiredis.pack_command(tuple(c)) for c in commands))
        return futures

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class RespConnection:
    """One lazily (re)connected Redis connection for pipelined commands."""

    def __init__(self, *, host: str = "localhost", port: int = 6379, path: str | None = None,
                 db: int = 0, username: str | None = None, password: str | None = None,
                 connect_timeout: float = 5.0) -> None:
        self._address = (host, port)
        self._path = path
        self._handshake: list[tuple[Any, ...]] = []
        if password:
            self._handshake.append(("AUTH", username, password) if username else ("AUTH", password))
        if db:
            self._handshake.append(("SELECT", db))
        self._timeout = connect_timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    @classmethod
    def like(cls, client: Any) -> RespConnection | None:
        """A connection to where redis-py ``client`` connects, or None if it needs more (TLS...)."""
        pool = getattr(client, "connection_pool", None)
        if pool is None:
            return None
        kwargs = pool.connection_kwargs
        if kwargs.get("credential_provider") is not None:
            return None
        common = {"db": int(kwargs.get("db") or 0), "username": kwargs.get("username"),
                  "password": kwargs.get("password"),
                  "connect_timeout": float(kwargs.get("socket_connect_timeout") or 5.0)}
        if pool.connection_class is aioredis.Connection:
            return cls(host=kwargs.get("host") or "localhost", port=int(kwargs.get("port") or 6379),
                       **common)
        if pool.connection_class is aioredis.UnixDomainSocketConnection:
            return cls(path=kwargs["path"], **common)
        return None

    async def execute(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """The replies of ``commands`` sent as one pipeline (error replies as exceptions)."""
        protocol = await self._connected()
        replies = await asyncio.gather(*protocol.send(commands))
        return [_error(r) if isinstance(r, hiredis.ReplyError) else r for r in replies]

    async def _connected(self) -> _Protocol:
        if self._protocol is not None and not self._protocol.closed:
            return self._protocol
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        try:
            self._protocol = await asyncio.shield(self._connecting)
        finally:
            if self._connecting is not None and self._connecting.done():
                self._connecting = None
        return self._protocol

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                if self._path is not None:
                    _, protocol = await loop.create_unix_connection(_Protocol, self._path)
                else:
                    _, protocol = await loop.create_connection(_Protocol, *self._address)
                for reply in await asyncio.gather(*protocol.send(self._handshake)):
                    if isinstance(reply, hiredis.ReplyError):
                        protocol.close()
                        raise rexc.AuthenticationError(str(reply))
        except TimeoutError as exc:
            raise rexc.TimeoutError("timed out connecting to Redis") from exc
        except OSError as exc:
            raise rexc.ConnectionError(f"cannot connect to Redis: {exc}") from exc
        return protocol

    def close(self) -> None:
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None


class _Batch:
    """Calls made during one event-loop turn, sent as one pipeline on the next turn.

    At most :data:`BATCHES_IN_FLIGHT` pipelines are out at once; calls made meanwhile wait
    for the next one, so an overload grows the batches instead of the connections.  A
    batch is retried as a whole while Redis is unreachable (up to 10 s), so every call
    must be safe to repeat.
    """

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._connection = RespConnection.like(store.client)
        self._pending: list[Call] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._scheduled = False

    def _add(self, keys: list[Any], args: list[Any]) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((keys, args, future))
        self._kick()
        return future

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    def _kick(self) -> None:
        """Schedule a flush for the next turn if calls wait and a pipeline slot is free."""
        if not self._scheduled and self._pending and len(self._sending) < BATCHES_IN_FLIGHT:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.ensure_future(self._send(batch))
            self._sending.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._kick()

    async def _send(self, batch: list[Call]) -> None:
        try:
            replies = await self._store.retry(lambda: self._pipelined(batch), give_up_s=10.0)
        except Exception as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, _, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _pipelined(self, batch: list[Call]) -> list[Any]:
        return await self._execute([tuple(args) for _, args, _ in batch])

    async def _execute(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        if self._connection is not None:
            return await self._connection.execute(commands)
        pipe = self._store.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return await pipe.execute(raise_on_error=False)


class CommandBatch(_Batch):
    """Plain commands (reads, or writes safe to repeat) for concurrent callers, pipelined."""

    def run(self, *command: Any) -> asyncio.Future[Any]:
        """The reply of ``command``, once its batch has been sent."""
        return self._add([], list(command))


class ScriptBatch(_Batch):
    """Runs one of the store's Lua scripts for concurrent callers, one pipeline per turn.

    The script must be safe to repeat: ``start.lua`` is (a repeat finds its own name
    entry), ``commit.lua`` is (a repeat finds the rev moved on and is refused).
    """

    def __init__(self, store: RedisStore, name: str) -> None:
        super().__init__(store)
        self._script = store.scripts[name]

    def run(self, keys: list[str], args: list[Any]) -> asyncio.Future[Any]:
        """The script's reply for ``keys``/``args``, once its batch has been sent."""
        return self._add(keys, args)

    async def _pipelined(self, batch: list[Call]) -> list[Any]:
        """EVALSHA every call in one pipeline; calls refused with NOSCRIPT go again once loaded."""
        sha = self._script.sha
        replies: list[Any] = [None] * len(batch)
        todo = list(range(len(batch)))
        for _ in range(2):
            commands = [("EVALSHA", sha, len(batch[i][0]), *batch[i][0], *batch[i][1]) for i in todo]
            for index, result in zip(todo, await self._execute(commands), strict=True):
                replies[index] = result
            todo = [i for i in todo if isinstance(replies[i], rexc.NoScriptError)]
            if not todo:
                break
            await self._store.client.script_load(self._script.source)
        return replies
