"""Where a key's commands go: one lean connection per Redis node, and replica acknowledgement.

On a single Redis every key lives on the one node.  On a Redis Cluster a key lives on the
master serving its hash slot (a shard's keys share one: their ``{s<n>}`` tag), so
:class:`Nodes` routes each command by its key to that master's :class:`RespConnection`,
with the slot map redis-py's cluster client keeps.  A reply ``MOVED`` (a failover, a
resharding) refreshes the map and the command goes again; ``ASK`` (a slot migrating right
now) sends it once more to the named node, preceded by ``ASKING``; ``TRYAGAIN`` (a script
over keys of a migrating slot, some moved, some not) and ``CLUSTERDOWN`` go again after a
pause, for as long as a slot's migration may take (:data:`SETTLE_S`).  Every command sent
this way must be safe to repeat.

``min_replicas_ack`` N > 0 appends ``WAIT N timeout`` to each node's pipeline: its replies
are handed out only once N replicas hold everything the pipeline wrote, so an acknowledged
write survives the loss of its master.  When fewer acknowledge in time the replies come
wrapped in :class:`ReplicaAckShort`, and the caller decides (an API answers "unavailable",
a worker carries on: see ``Records.commit``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from redis import exceptions as rexc
from redis.crc import key_slot

from statemachine.errors import StoreError
from statemachine.runtime.store.resp import RespConnection

__all__ = ["REROUTED", "Nodes", "ReplicaAckShort", "Route"]

log = logging.getLogger(__name__)

Route = tuple[Any, Sequence[Any]]
"""A command and the key it is routed by: (key, command)."""

REROUTED = (rexc.MovedError, rexc.AskError, rexc.TryAgainError, rexc.ClusterDownError)
"""Replies that say the command is to go again, elsewhere or later (Redis Cluster)."""

SETTLE_S = 10.0
"""How long a command answered ``MOVED``, ``ASK``, ``TRYAGAIN`` or ``CLUSTERDOWN`` goes again
(a migrating slot's keys move a batch at a time, and an operator may hold one half moved
for a while; a failover takes a few seconds) before that error is its reply."""
_WAITING = (rexc.TryAgainError, rexc.ClusterDownError)
"""Replies that say: the same node, a little later."""
_REMAP = (rexc.MovedError, rexc.ClusterDownError)
"""Replies after which the slot map is read again."""


class ReplicaAckShort(StoreError):
    """Fewer replicas than asked acknowledged a pipeline's writes within the timeout.

    The writes were applied on the master (``replies`` holds their replies); they may be
    lost if the master dies before a replica has them.
    """

    public = True

    def __init__(self, acked: int, wanted: int, replies: list[Any]) -> None:
        super().__init__(f"only {acked} of {wanted} Redis replicas acknowledged the write in "
                         "time; it may not survive a failover (a retry is safe)")
        self.acked = acked
        self.wanted = wanted
        self.replies = replies


class Nodes:
    """The lean connections of a store, one per Redis node, and how to reach a key's node."""

    def __init__(self, client: Any, *, cluster: bool, min_replicas_ack: int = 0,
                 ack_timeout_ms: int = 1_000) -> None:
        self._client = client
        self.cluster = cluster
        self.wait: tuple[str, int, int] | None = (
            ("WAIT", min_replicas_ack, ack_timeout_ms) if min_replicas_ack > 0 else None)
        self._single = None if cluster else RespConnection.like(client)
        self._by_node: dict[tuple[str, int], RespConnection | None] = {}
        self._refreshing: asyncio.Future[None] | None = None

    def connection(self, key: Any) -> RespConnection | None:
        """The lean connection to ``key``'s node (None: use redis-py's own client)."""
        if not self.cluster:
            return self._single
        slot = key_slot(key if isinstance(key, bytes) else str(key).encode())
        node = self._client.nodes_manager.get_node_from_slot(slot)
        return self.at(node.host, int(node.port), node)

    def at(self, host: str, port: int, node: Any = None) -> RespConnection | None:
        """The lean connection to the cluster node at ``host:port``."""
        if (host, port) not in self._by_node:
            # A node the client does not know yet (a master added for a resharding, named
            # by an ASK) is connected to as the others are: same credentials, same TLS.
            like = (node or self._client.get_node(host=host, port=port)
                    or next(iter(self._client.get_nodes()), None))
            kwargs = {**(like.connection_kwargs if like else {}), "host": host, "port": port}
            cls = like.connection_class if like else type(None)
            self._by_node[(host, port)] = RespConnection.made_like(cls, kwargs)
        return self._by_node[(host, port)]

    async def refresh(self) -> None:
        """Read the cluster's slot map again (once, however many callers ask at a time)."""
        if not self.cluster:
            return
        if self._refreshing is None:
            self._refreshing = asyncio.ensure_future(self._client.nodes_manager.initialize())
        try:
            await asyncio.shield(self._refreshing)
        finally:
            if self._refreshing is not None and self._refreshing.done():
                self._refreshing = None

    async def execute(self, routes: Sequence[Route]) -> list[Any]:
        """The replies of ``routes`` (error replies as exceptions), each command sent to its
        key's node, one pipeline per node; rerouted commands go again for up to
        :data:`SETTLE_S`, pausing with backoff while the slot is still on its way.

        Raises :class:`ReplicaAckShort` (replies attached) when a node's replicas did not
        acknowledge in time, ``redis.exceptions.ConnectionError`` when a node is away.
        """
        replies: list[Any] = [None] * len(routes)
        todo = list(range(len(routes)))
        asking: dict[int, tuple[str, int]] = {}
        short: ReplicaAckShort | None = None
        pause, deadline, rounds = 0.02, 0.0, 0
        while True:
            rounds += 1
            groups: dict[RespConnection | None, list[int]] = {}
            for i in todo:
                target = self.at(*asking[i]) if i in asking else self.connection(routes[i][0])
                groups.setdefault(target, []).append(i)
            try:
                results = await asyncio.gather(*(
                    self._send(connection, [routes[i][1] for i in indexes],
                               asking=[i in asking for i in indexes])
                    for connection, indexes in groups.items()))
            except (rexc.ConnectionError, rexc.TimeoutError, OSError):
                await self.refresh_quietly()  # a dead master: its replica may have taken over
                raise
            asking.clear()
            for indexes, (got, shortfall) in zip(groups.values(), results, strict=True):
                short = short or shortfall
                for i, reply in zip(indexes, got, strict=True):
                    replies[i] = reply
            todo = [i for i in todo if isinstance(replies[i], REROUTED)]
            if not todo:
                break
            for i in todo:
                if isinstance(replies[i], rexc.AskError):
                    asking[i] = replies[i].node_addr
            now = asyncio.get_running_loop().time()
            deadline = deadline or now + SETTLE_S
            if now >= deadline:
                break
            if any(isinstance(replies[i], _REMAP) for i in todo):
                await self.refresh()
            # No pause for the first MOVED after a refresh, nor for ASK: they name the node.
            if any(isinstance(replies[i], _WAITING) for i in todo) or (
                    rounds > 1 and len(asking) < len(todo)):
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.5)
        if short is not None:
            short.replies = replies
            raise short
        return replies

    async def refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # noqa: BLE001 -- the caller's own error is the one to report
            log.debug("could not refresh the cluster's slot map: %s", exc)

    async def _send(self, connection: RespConnection | None, commands: list[Sequence[Any]],
                    asking: list[bool]) -> tuple[list[Any], ReplicaAckShort | None]:
        """One pipeline on one node: the replies, and the shortfall of WAIT if any."""
        sent: list[Sequence[Any]] = []
        for command, ask in zip(commands, asking, strict=True):
            if ask:
                sent.append(("ASKING",))
            sent.append(command)
        if self.wait is not None:
            sent.append(self.wait)
        if connection is None:  # no lean connection: redis-py's pipeline (see RespConnection.like)
            pipe = self._client.pipeline(transaction=False)
            for command in sent:
                pipe.execute_command(*command)
            got: list[Any] = await pipe.execute(raise_on_error=False)
        else:
            got = await connection.execute(sent)
        shortfall = None
        if self.wait is not None:
            acked = got.pop()
            # WAIT refused (the node is a replica now: a master killed, restarted and told
            # to follow its successor) counts as no replica, as in pipe.py; the commands
            # themselves were then answered MOVED and go again, wherever they now belong.
            count = 0 if isinstance(acked, Exception) else int(acked)
            if count < self.wait[1] and not all(isinstance(r, REROUTED) for r in got):
                shortfall = ReplicaAckShort(count, self.wait[1], [])
        if any(asking):
            got = [reply for reply, keep in zip(got, _kept(asking), strict=True) if keep]
        return got, shortfall

    def close(self) -> None:
        for connection in {self._single, *self._by_node.values()}:
            if connection is not None:
                connection.close()


def _kept(asking: list[bool]) -> list[bool]:
    """Which replies of a pipeline with ASKING before some commands are the commands'."""
    kept: list[bool] = []
    for ask in asking:
        if ask:
            kept.append(False)
        kept.append(True)
    return kept
