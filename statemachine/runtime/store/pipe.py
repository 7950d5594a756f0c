"""Many concurrent callers' Redis calls: batched, pipelined, on lean connections.

:class:`ScriptBatch` is what starts send their ``start.lua`` calls through
(:meth:`~statemachine.runtime.store.executions.Executions.start`), and workers their
``commit.lua`` calls (:meth:`~statemachine.runtime.store.records.Records.commit`);
:class:`CommandBatch` carries plain commands (a worker's record loads).  Every call made
during one event-loop turn joins one pipeline per Redis node sent on the next turn, so a
burst of starts costs one write and one read per node instead of one of each per start,
and never opens a connection more.  The connections are :mod:`.resp`'s, one per node
(:mod:`.nodes`: on a Redis Cluster each call goes to the master of its first key's slot),
and with ``min_replicas_ack`` each node's pipeline ends with ``WAIT``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import hiredis
from redis import exceptions as rexc

from statemachine.errors import StoreError
from statemachine.runtime.store.nodes import REROUTED, Nodes, ReplicaAckShort
from statemachine.runtime.store.resp import error_of

__all__ = ["BATCHES_IN_FLIGHT", "CommandBatch", "ScriptBatch"]

if TYPE_CHECKING:
    from statemachine.runtime.store.resp import RespConnection
    from statemachine.runtime.store.scripts import Script

T = TypeVar("T")


class Host(Protocol):
    """What a batch needs of its store (:class:`~.client.RedisStore`, which makes batches
    of its own: a protocol, not an import, keeps the two modules out of a circle)."""

    scripts: dict[str, Script]

    def lean_connections(self) -> Nodes: ...

    async def retry(self, call: Callable[[], Awaitable[T]], *,
                    give_up_s: float | None = ...) -> T: ...

BATCHES_IN_FLIGHT = 4
"""Pipelines out at once; calls made meanwhile wait for a free slot and join one batch."""

Call = tuple[Any, list[Any], list[Any], "asyncio.Future[Any]"]
"""(the key it is routed by, keys, arguments, the caller's future)."""

_AGAIN = (rexc.NoScriptError, rexc.BusyLoadingError, *REROUTED)
"""Error replies after which a call goes again, the slow way."""


class _Batch:
    """Calls made during one event-loop turn, sent as one pipeline per node on the next turn.

    While a node's connection is open its pipeline is written right in that turn and every
    reply is handed to its caller as soon as it is read (with ``WAIT``: once the replicas
    have acknowledged): a call costs its caller two event-loop turns besides the round
    trip.  Otherwise (connecting, Redis away or loading, a script to load again, a slot
    moved) the calls go the slow way, a task that retries them while Redis is unreachable
    (up to 10 s), so every call must be safe to repeat.

    At most :data:`BATCHES_IN_FLIGHT` pipelines are out at once; calls made meanwhile wait
    for the next one, so an overload grows the batches instead of the connections.
    """

    def __init__(self, store: Host) -> None:
        self._store = store
        self._nodes: Nodes = store.lean_connections()
        self._pending: list[Call] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._written = 0  # pipelines written directly whose replies are not all in
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False

    def _add(self, route: Any, keys: list[Any], args: list[Any]) -> asyncio.Future[Any]:
        if self._loop is None:  # kept: on Python 3.11 each lookup costs a getpid() call
            self._loop = asyncio.get_running_loop()
        future = self._loop.create_future()
        self._pending.append((route, keys, args, future))
        self._kick()
        return future

    def close(self) -> None:
        self._nodes.close()

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
        nodes = self._nodes
        if not nodes.cluster:
            self._write(nodes.connection(None), batch)
            return
        groups: dict[RespConnection | None, list[Call]] = {}
        for call in batch:
            groups.setdefault(nodes.connection(call[0]), []).append(call)
        for connection, calls in groups.items():
            self._write(connection, calls)

    def _write(self, connection: RespConnection | None, batch: list[Call]) -> None:
        """Write ``batch`` on ``connection`` now if it is open, else the slow way."""
        protocol = connection.live() if connection is not None else None
        if protocol is None:
            self._slow(batch)
            return
        self._written += 1
        wait = self._nodes.wait
        outstanding = [len(batch) + (wait is not None)]
        again: list[Call] = []
        held: list[tuple[asyncio.Future[Any], Any]] = []  # with WAIT: settled once it answers

        def settle(future: asyncio.Future[Any], reply: Any) -> None:
            if future.done():
                return
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

        def sink(call: Call, reply: Any) -> None:
            if isinstance(reply, rexc.ConnectionError):
                again.append(call)
            elif isinstance(reply, hiredis.ReplyError):
                error = error_of(reply)
                if isinstance(error, _AGAIN):
                    again.append(call)
                elif wait is None:
                    settle(call[3], error)
                else:
                    held.append((call[3], error))
            elif wait is None:
                settle(call[3], reply)
            else:
                held.append((call[3], reply))
            done()

        def acked(reply: Any) -> None:
            assert wait is not None
            if isinstance(reply, rexc.ConnectionError):  # applied or not: go again
                again.extend(call for call in batch if call not in again)
            else:  # an error reply (WAIT refused) counts as no replica
                count = 0 if isinstance(reply, hiredis.ReplyError) else int(reply)
                for future, got in held:
                    settle(future, got if count >= wait[1] or isinstance(got, Exception)
                           else ReplicaAckShort(count, wait[1], [got]))
            done()

        def done() -> None:
            outstanding[0] -= 1
            if outstanding[0] == 0:
                self._written -= 1
                if again:
                    self._slow(again)
                self._kick()

        commands = self._commands(batch)
        sinks: list[Callable[[Any], None]] = [partial(sink, call) for call in batch]
        if wait is not None:
            commands.append(wait)
            sinks.append(acked)
        try:
            protocol.send_to(commands, sinks)
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

    def _commands(self, batch: list[Call]) -> list[Any]:
        return [tuple(args) for _, _, args, _ in batch]

    async def _send(self, batch: list[Call]) -> None:
        short: ReplicaAckShort | None = None
        try:
            replies = await self._store.retry(lambda: self._pipelined(batch), give_up_s=10.0)
        except ReplicaAckShort as exc:
            replies, short = exc.replies, exc
        except Exception as exc:  # noqa: BLE001 -- not swallowed: every caller gets it
            # The outage itself rather than the retry's giving up, so that a caller's own
            # retry loop (a worker's waits as long as it takes) goes on waiting it out.
            error = exc.__cause__ if type(exc) is StoreError and exc.__cause__ else exc
            for *_, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (*_, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            elif short is not None:
                future.set_exception(ReplicaAckShort(short.acked, short.wanted, [reply]))
            else:
                future.set_result(reply)

    async def _pipelined(self, batch: list[Call]) -> list[Any]:
        commands = self._commands(batch)
        return await self._nodes.execute([(call[0], command)
                                          for call, command in zip(batch, commands, strict=True)])


class CommandBatch(_Batch):
    """Plain commands (reads, or writes safe to repeat) for concurrent callers, pipelined."""

    def run(self, *command: Any) -> asyncio.Future[Any]:
        """The reply of ``command`` (routed by its first key, ``command[1]``), once its
        batch has been sent."""
        return self._add(command[1] if len(command) > 1 else "", [], list(command))


class ScriptBatch(_Batch):
    """Runs one of the store's Lua scripts for concurrent callers, one pipeline per turn.

    The script must be safe to repeat: ``start.lua`` is (a repeat finds its own name
    entry), ``commit.lua`` is (a repeat finds the rev moved on and is refused).
    """

    def __init__(self, store: Host, name: str) -> None:
        super().__init__(store)
        self._script = store.scripts[name]

    def run(self, keys: list[str], args: list[Any]) -> asyncio.Future[Any]:
        """The script's reply for ``keys``/``args``, once its batch has been sent."""
        return self._add(keys[0] if keys else "", keys, args)

    def _commands(self, batch: list[Call]) -> list[Any]:
        sha = self._script.sha
        return [("EVALSHA", sha, len(keys), *keys, *args) for _, keys, args, _ in batch]

    async def _pipelined(self, batch: list[Call]) -> list[Any]:
        """EVALSHA every call in one pipeline per node; calls refused with NOSCRIPT go again
        as EVAL with the script's source, which runs it on whichever node holds the keys by
        then and leaves it cached there: a replica just promoted to master has none (SCRIPT
        LOAD is not replicated), nor has a master added for a resharding (a ``SCRIPT LOAD``
        routed by the key would miss the target of an ``ASK``).  A shortfall of ``WAIT`` on
        the way does not stop that: it is raised at the end, with every call's reply."""
        short: ReplicaAckShort | None = None
        try:
            replies = await super()._pipelined(batch)
        except ReplicaAckShort as exc:
            replies, short = exc.replies, exc
        todo = [i for i, reply in enumerate(replies) if isinstance(reply, rexc.NoScriptError)]
        if todo:
            source = self._script.source
            evals = [(batch[i][0], ("EVAL", source, len(batch[i][1]), *batch[i][1], *batch[i][2]))
                     for i in todo]
            try:
                again = await self._nodes.execute(evals)
            except ReplicaAckShort as exc:
                again, short = exc.replies, short or exc
            for index, reply in zip(todo, again, strict=True):
                replies[index] = reply
        if short is not None:
            short.replies = replies
            raise short
        return replies
