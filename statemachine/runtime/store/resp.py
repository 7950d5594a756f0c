"""A lean Redis connection: RESP2 through hiredis with nothing else around it.

:class:`RespConnection` is a single Redis connection with no pool, no per-command health
check or retry wrapper: a pipeline costs the event loop one socket write and one read,
which is most of what is left of a round trip once the Python client's own machinery is
gone.  It connects where a redis-py client (or one node of a Redis Cluster) connects and as
it does: TCP or a Unix socket, TLS (``rediss://``: the SSL context redis-py builds from the
URL's ``ssl_*`` parameters), a user and password, a database number.  The batches of
:mod:`.pipe` send through these, one per Redis node (:mod:`.nodes`).
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

__all__ = ["RespConnection", "Sink", "error_of"]


def _settle(future: asyncio.Future[Any], reply: Any) -> None:
    if future.done():
        return
    if isinstance(reply, rexc.ConnectionError):
        future.set_exception(reply)
    else:
        future.set_result(reply)


def error_of(reply: hiredis.ReplyError) -> rexc.RedisError:
    """A Redis error reply as the redis-py exception the rest of the code knows."""
    message = str(reply)
    code, _, rest = message.partition(" ")
    match code:
        case "NOSCRIPT":
            return rexc.NoScriptError(message)
        case "LOADING":
            return rexc.BusyLoadingError(message)
        case "MOVED":  # Redis Cluster: the slot lives elsewhere now ("<slot> <host>:<port>")
            return rexc.MovedError(rest)
        case "ASK":  # ... for this one command, while the slot migrates
            return rexc.AskError(rest)
        case "TRYAGAIN":
            return rexc.TryAgainError(message)
        case "CLUSTERDOWN":
            return rexc.ClusterDownError(message)
        case _:
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
        return cls.made_like(pool.connection_class, pool.connection_kwargs)

    @classmethod
    def made_like(cls, connection_class: type, kwargs: dict[str, Any]) -> RespConnection | None:
        """A connection like redis-py's ``connection_class(**kwargs)`` (a pool's, or a
        cluster node's), or None if it needs more (a credential provider)."""
        if kwargs.get("credential_provider") is not None:
            return None
        common: dict[str, Any] = {
            "db": int(kwargs.get("db") or 0), "username": kwargs.get("username"),
            "password": kwargs.get("password"),
            "connect_timeout": float(kwargs.get("socket_connect_timeout") or 5.0)}
        if connection_class in (aioredis.Connection, aioredis.SSLConnection):
            tls = None
            if connection_class is aioredis.SSLConnection:
                # redis-py's own context for these settings (CA, client certificate,
                # verification mode, host name check), built without connecting
                tls = connection_class(**kwargs).ssl_context.get()
            return cls(host=kwargs.get("host") or "localhost", port=int(kwargs.get("port") or 6379),
                       tls=tls, **common)
        if connection_class is aioredis.UnixDomainSocketConnection:
            return cls(path=kwargs["path"], **common)
        return None

    async def execute(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """The replies of ``commands`` sent as one pipeline (error replies as exceptions)."""
        protocol = await self._connected()
        replies = await asyncio.gather(*protocol.send(commands))
        return [error_of(r) if isinstance(r, hiredis.ReplyError) else r for r in replies]

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
