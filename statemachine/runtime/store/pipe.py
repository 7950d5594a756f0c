"""Many concurrent callers' Redis calls: batched, pipelined, on a lean connection.

:class:`ScriptBatch` is what starts send their ``start.lua`` calls through
(:meth:`~statemachine.runtime.store.executions.Executions.start`), and workers their
``commit.lua`` calls (:meth:`~statemachine.runtime.store.records.Records.commit`);
:class:`CommandBatch` carries plain commands (a worker's record loads).  Every call made during one event-loop turn joins one pipeline
sent on the next turn, so a burst of starts costs one write and one read instead of one
of each per start, and never opens a connection more.

:class:`RespConnection` is a single Redis connection that speaks RESP2 through hiredis with
nothing else around it: no pool, no per-command health check or retry wrapper.  A start
then costs the event loop one socket write and one read, which is most of what is left of
a round trip once the Python client's own machinery is gone.  It connects where the
store's redis-py client connects and as it does: TCP or a Unix socket, TLS (``rediss://``:
the SSL context redis-py builds from the URL's ``ssl_*`` parameters), a user and password,
a database number.  With a credential provider the batch falls back to the store's client.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast

import hiredis
import redis.asyncio as aioredis
from redis import exceptions as rexc

from statemachine.runtime.store.client import RedisStore

__all__ = ["BATCHES_IN_FLIGHT", "CommandBatch", "RespConnection", "ScriptBatch"]

BATCHES_IN_FLIGHT = 4
"""Pipelines out at once; calls made meanwhile wait for a free slot and join one batch."""

Call = tuple[list[Any], list[Any], "asyncio.Future[Any]"]


def _settle(future: asyncio.Future[Any], reply: Any) -> None:
    if future.done():
        return
    if isinstance(reply, rexc.ConnectionError):
        future.set_exception(reply)
    else:
        future.set_result(reply)


def _error(reply: hiredis.ReplyError) -> rexc.RedisError:
    """A Redis error reply as the redis-py exception the rest of the code knows."""
    message = str(reply)
    if message.startswith("NOSCRIPT"):
        return rexc.NoScriptError(message)
    if message.startswith("LOADING"):
        return rexc.BusyLoadingError(message)
    return rexc.ResponseError(message)


Sink = Callable[[Any], None]
"""Takes a command's raw reply (a ``hiredis.ReplyError`` for an error reply), or the
``redis.exceptions.ConnectionError`` that ended the connection before it came."""


class _Protocol(asyncio.Protocol):
    """Commands out in order, replies handed to their sinks in the same order."""

    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self._waiting: deque[Sink] = deque()
        self._transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            self._waiting.popleft()(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        lost = rexc.ConnectionError(f"connection to Redis lost: {exc or 'closed'}")
        while self._waiting:
            self._waiting.popleft()(lost)

    def send_to(self, commands: Sequence[Sequence[Any]], sinks: Sequence[Sink]) -> None:
        """Write ``commands`` at once; each reply goes to its sink as soon as it is read."""
        if self.closed or self._transport is None:
            raise rexc.ConnectionError("connection to Redis is closed")
        self._waiting.extend(sinks)
        self._transport.write(b"".join(hiredis.pack_command(tuple(c)) for c in commands))

    def send(self, commands: Sequence[Sequence[Any]]) -> list[asyncio.Future[Any]]:
        """Write ``commands`` at once; one future per command for its raw reply."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in commands]
        self.send_to(commands, [partial(_settle, f) for f in futures])
        return futures

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class RespConnection:
    """One lazily (re)connected Redis connection for pipelined commands."""

    def __init__(self, *, host: str = "localhost", port: int = 6379, path: str | None = None,
                 db: int = 0, username: str | None = None, password: str | None = None,
                 connect_timeout: float = 5.0, tls: ssl.SSLContext | None = None) -> None:
        self._address = (host, port)
        self._path = path
        self._tls = tls
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
        """A connection to where redis-py ``client`` connects, as it connects (TLS included),
        or None if it needs more (a credential provider)."""
        pool = getattr(client, "connection_pool", None)
        if pool is None:
            return None
        kwargs = pool.connection_kwargs
        if kwargs.get("credential_provider") is not None:
            return None
        common = {"db": int(kwargs.get("db") or 0), "username": kwargs.get("username"),
                  "password": kwargs.get("password"),
                  "connect_timeout": float(kwargs.get("socket_connect_timeout") or 5.0)}
        if pool.connection_class in (aioredis.Connection, aioredis.SSLConnection):
            tls = None
            if pool.connection_class is aioredis.SSLConnection:
                # redis-py's own context for these settings (CA, client certificate,
                # verification mode, host name check), built without connecting
                tls = pool.connection_class(**kwargs).ssl_context.get()
            return cls(host=kwargs.get("host") or "localhost", port=int(kwargs.get("port") or 6379),
                       tls=tls, **common)
        if pool.connection_class is aioredis.UnixDomainSocketConnection:
            return cls(path=kwargs["path"], **common)
        return None

    async def execute(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """The replies of ``commands`` sent as one pipeline (error replies as exceptions)."""
        protocol = await self._connected()
        replies = await asyncio.gather(*protocol.send(commands))
        return [_error(r) if isinstance(r, hiredis.ReplyError) else r for r in replies]

    def live(self) -> _Protocol | None:
        """The connection when it is open now (else None: connect with :meth:`execute`)."""
        protocol = self._protocol
        return protocol if protocol is not None and not protocol.closed else None

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
                    _, protocol = await loop.create_connection(_Protocol, *self._address,
                                                               ssl=self._tls)
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

    While the connection is open the pipeline is written right in that turn and every
    reply is handed to its caller as soon as it is read: a call costs its caller two
    event-loop turns besides the round trip.  Otherwise (connecting, Redis away or
    loading, a script to load again) the calls go the slow way, a task that retries them
    while Redis is unreachable (up to 10 s), so every call must be safe to repeat.

    At most :data:`BATCHES_IN_FLIGHT` pipelines are out at once; calls made meanwhile wait
    for the next one, so an overload grows the batches instead of the connections.
    """

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._connection = RespConnection.like(store.client)
        self._pending: list[Call] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._written = 0  # pipelines written directly whose replies are not all in
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False

    def _add(self, keys: list[Any], args: list[Any]) -> asyncio.Future[Any]:
        if self._loop is None:  # kept: on Python 3.11 each lookup costs a getpid() call
            self._loop = asyncio.get_running_loop()
        future = self._loop.create_future()
        self._pending.append((keys, args, future))
        self._kick()
        return future

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    def _kick(self) -> None:
        """Schedule a flush for the next turn if calls wait and a pipeline slot is free."""
        if (not self._scheduled and self._pending
                and len(self._sending) + self._written < BATCHES_IN_FLIGHT):
            self._scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, []
        if not batch:
            return
        protocol = self._connection.live() if self._connection is not None else None
        if protocol is None:
            self._slow(batch)
            return
        self._written += 1
        outstanding = [len(batch)]
        again: list[Call] = []

        def sink(call: Call, reply: Any) -> None:
            future = call[2]
            if isinstance(reply, rexc.ConnectionError):
                again.append(call)
            elif isinstance(reply, hiredis.ReplyError):
                error = _error(reply)
                if isinstance(error, (rexc.NoScriptError, rexc.BusyLoadingError)):
                    again.append(call)
                elif not future.done():
                    future.set_exception(error)
            elif not future.done():
                future.set_result(reply)
            outstanding[0] -= 1
            if outstanding[0] == 0:
                self._written -= 1
                if again:
                    self._slow(again)
                self._kick()

        try:
            protocol.send_to(self._commands(batch), [partial(sink, call) for call in batch])
        except rexc.ConnectionError:
            self._written -= 1
            self._slow(batch)

    def _slow(self, batch: list[Call]) -> None:
        """Send ``batch`` from a task that connects and retries."""
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._kick()

    def _commands(self, batch: list[Call]) -> list[tuple[Any, ...]]:
        return [tuple(args) for _, args, _ in batch]

    async def _send(self, batch: list[Call]) -> None:
        try:
            replies = await self._store.retry(lambda: self._pipelined(batch), give_up_s=10.0)
        except Exception as exc:  # noqa: BLE001 -- not swallowed: every caller gets it
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
        return await self._execute(self._commands(batch))

    async def _execute(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        if self._connection is not None:
            return await self._connection.execute(commands)
        pipe = self._store.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies


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

    def _commands(self, batch: list[Call]) -> list[tuple[Any, ...]]:
        sha = self._script.sha
        return [("EVALSHA", sha, len(keys), *keys, *args) for keys, args, _ in batch]

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
