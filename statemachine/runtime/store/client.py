"""The connection to Redis under every operation of the store, and riding out a restart.

:class:`RedisStore` owns one ``redis.asyncio`` connection pool, the scripts of ``lua/``
and the shard map (the shard count is fixed at first start: ``sm:meta``).  Calls that fail
because Redis is unreachable or still loading its AOF are retried with backoff by
:meth:`RedisStore.retry`: a worker rides out a restart by itself, and a work item it held
stays pending in its stream until it is committed or taken over with XAUTOCLAIM.  The
exceptions of :data:`UNAVAILABLE` are that kind of failure (expected: wait it out); any
other exception is a bug or bad data.

A Redis that answers but refuses us is no outage to wait out: a wrong or missing password,
an ACL user without a command or key it needs, a TLS certificate that does not verify.
:meth:`RedisStore.retry` raises :class:`Refused` for those at once, naming the problem,
and ``serve`` and ``worker`` exit with it.

The URL is redis-py's (``redis://[[user]:password@]host:port/db``, ``rediss://`` for TLS
with ``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_cert_reqs``... as query
parameters, ``unix://``): every connection of the runtime is made from this one client's
settings: its pool, the pub/sub of the timers, the lean connections of :mod:`.pipe`.

A URL naming any node of a Redis Cluster is detected as one (``INFO cluster``) and the
client is then redis-py's cluster client, which follows the slot map, ``MOVED`` and
``ASK``; every multi-key command and script stays within one shard's slot (see
:mod:`.keys`), and what the workers read they read shard by shard (:mod:`.streams`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis import exceptions as rexc

from statemachine.errors import StoreError
from statemachine.runtime.settings import Settings
from statemachine.runtime.store.keys import INVOKERS_GROUP, META, WORKERS_GROUP, Shard, shard_of
from statemachine.runtime.store.nodes import Nodes, ReplicaAckShort
from statemachine.runtime.store.pipe import CommandBatch, ScriptBatch
from statemachine.runtime.store.scripts import SCRIPTS, Script

log = logging.getLogger(__name__)

T = TypeVar("T")
TRANSIENT = (rexc.ConnectionError, rexc.TimeoutError, rexc.BusyLoadingError, OSError,
             rexc.ClusterDownError, rexc.TryAgainError, rexc.MovedError, rexc.AskError,
             rexc.SlotNotCoveredError, rexc.MaxConnectionsError)
"""Failures to wait out; on a Redis Cluster also a failover or a resharding in progress
(the slot map then changes under us)."""
UNAVAILABLE: tuple[type[BaseException], ...] = (*TRANSIENT, StoreError)
"""Redis unreachable or loading (or :meth:`RedisStore.retry` gave up waiting for it)."""


DEMOTED = "cannot be used with replica instances"
"""What ``WAIT`` answers on a node that is a replica now (a master failed over)."""
REPLICAS_GRACE_S = 30.0
"""How long a start waits for every master to have the replicas ``--min-replicas-ack`` asks
for before refusing (a failover's promoted master has none until the old one rejoins)."""
REPLICAS_RECHECK_S = 1.0
_TLS_DROPS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)
"""TLS errors of a connection that was dropped (a restart): an outage, not a refusal."""


class Refused(StoreError):
    """Redis answers but refuses us (credentials, ACL, TLS): waiting will not help."""


def refusal(exc: BaseException) -> Refused | None:
    """The :class:`Refused` that ``exc`` amounts to, or None for any other failure."""
    if isinstance(exc, Refused):
        return exc
    if isinstance(exc, rexc.AuthenticationError) or "NOAUTH" in str(exc)[:10]:
        return Refused(f"Redis refused the credentials: {exc} (check the user and password "
                       "in the Redis URL)")
    if isinstance(exc, rexc.NoPermissionError):
        what = str(exc).rpartition("caused error: ")[2]  # not a pipeline's whole script
        return Refused(f"the Redis user may not do what the service needs: {what} (see the "
                       "README's Security section for the ACL it needs)")
    if any(isinstance(e, ssl.SSLError) and not isinstance(e, _TLS_DROPS)
           for e in (exc, exc.__cause__, exc.__context__)):
        return Refused(f"the TLS connection to Redis failed: {exc} (check ssl_ca_certs and "
                       "the server's certificate, or use redis:// for a Redis without TLS)")
    return None


async def cluster_mode(url: str) -> bool:
    """Whether the Redis at ``url`` is a node of a Redis Cluster (``CLUSTER INFO``, which
    an ACL user without ``@dangerous`` may run, unlike ``INFO``; a user refused it is taken
    for a single Redis's: on a cluster it needs ``+cluster|info +cluster|slots``)."""
    probe: Any = aioredis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        await probe.execute_command("CLUSTER", "INFO")
    except rexc.NoPermissionError:
        return False
    except rexc.ResponseError as exc:
        if "cluster support disabled" in str(exc):
            return False
        raise
    finally:
        await probe.aclose()
    return True


class Outage:
    """Says once that Redis became unreachable, and once that it is back.

    Every call that waits Redis out reports here, so one outage is one pair of log lines
    however many loops and requests ride it out.
    """

    __slots__ = ("down",)

    def __init__(self) -> None:
        self.down = False

    def failed(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            log.warning("Redis is unreachable (%s: %s); waiting for it", type(exc).__name__, exc)

    def back(self) -> None:
        if self.down:
            self.down = False
            log.warning("Redis is reachable again")


class RedisStore:
    """A connection pool, the scripts, the shard map; retries transient failures."""

    def __init__(self, settings: Settings, *, cluster: bool = False) -> None:
        self.settings = settings
        self.cluster = cluster
        options: dict[str, Any] = {"decode_responses": False, "socket_connect_timeout": 5,
                                   "socket_keepalive": True}
        self.client: Any = (
            aioredis.RedisCluster.from_url(settings.redis_url, **options) if cluster else
            aioredis.Redis.from_url(settings.redis_url, health_check_interval=5, **options))
        self.scripts = {name: Script(name) for name in SCRIPTS}
        self._batches: dict[str, ScriptBatch] = {}
        self._writes: CommandBatch | None = None
        self.shards: list[Shard] = []
        self.closed = False
        self.outage = Outage()
        self.ack_shortfalls = 0  # writes fewer replicas acknowledged than min_replicas_ack
        self._untaken = 0  # ... of which not yet taken into the workers' counters

    @classmethod
    async def connect(cls, settings: Settings, *, wait_s: float = 30.0) -> RedisStore:
        """Connect (to a single Redis or a cluster, whichever the URL names), fix the shard
        count (first start wins) and make the consumer groups."""
        cluster = await cls._retrying(settings, lambda: cluster_mode(settings.redis_url), wait_s)
        store = cls(settings, cluster=cluster)
        await store.retry(store._setup, give_up_s=wait_s)
        return store

    @staticmethod
    async def _retrying(settings: Settings, call: Callable[[], Awaitable[T]], wait_s: float) -> T:
        """``call`` retried like :meth:`retry` does, before there is a store."""
        probe = RedisStore(settings)
        try:
            return await probe.retry(call, give_up_s=wait_s)
        finally:
            await probe.client.aclose()

    def lean_connections(self) -> Nodes:
        """A set of lean connections (one per node, made when first used) for a batch."""
        return Nodes(self.client, cluster=self.cluster,
                     min_replicas_ack=self.settings.min_replicas_ack,
                     ack_timeout_ms=self.settings.min_replicas_timeout_ms)

    async def _setup(self) -> None:
        client = self.client
        await client.hsetnx(META, "shards", self.settings.shards)
        count = int(await client.hget(META, "shards"))
        self.shards = [Shard(n) for n in range(count)]
        await self.ensure_groups()
        for script in self.scripts.values():  # so that no first call meets NOSCRIPT
            await client.script_load(script.source)  # on every master of a cluster
        if self.settings.min_replicas_ack:
            await self._check_replicas()

    async def _check_replicas(self) -> None:
        """Refuse ``min_replicas_ack`` N when a master has fewer than N replicas: every
        write would wait out the timeout and fail.  ``WAIT N timeout`` answers as soon as N
        replicas have acknowledged the master's latest offset (not ``WAIT 0 0``: it counts
        only the replicas whose last once-a-second acknowledgement is that recent).

        A shortfall is waited out for up to :data:`REPLICAS_GRACE_S` first: a process that
        starts during a failover finds the promoted master without a replica until the old
        master rejoins, and must not exit for that."""
        wanted = self.settings.min_replicas_ack
        deadline = time.monotonic() + REPLICAS_GRACE_S
        warned = False
        while True:
            counts = await self.retry(self._replica_counts)
            short = [(shard.n, count) for shard, count in zip(self.shards, counts, strict=True)
                     if count < wanted]
            if not short:
                return
            n, count = short[0]
            if time.monotonic() > deadline:
                raise Refused(f"--min-replicas-ack {wanted} asks for more replicas than the "
                              f"Redis master of shard {n} has ({count} connected)")
            if not warned:
                log.warning("the Redis master of shard %d has %d of the %d replicas "
                            "--min-replicas-ack asks for; waiting up to %.0f s (a failover in "
                            "progress?)", n, count, wanted, REPLICAS_GRACE_S)
                warned = True
            await asyncio.sleep(REPLICAS_RECHECK_S)

    async def _replica_counts(self) -> list[int]:
        """How many replicas acknowledge each shard's master (``WAIT`` on its stream)."""
        wait = ("WAIT", self.settings.min_replicas_ack, self.settings.min_replicas_timeout_ms)
        nodes = Nodes(self.client, cluster=self.cluster)
        try:
            counts = await nodes.execute([(shard.ready, wait) for shard in self.shards])
            for count in counts:
                if isinstance(count, rexc.ResponseError) and DEMOTED in str(count):
                    # Not MOVED (WAIT names no key): the slot map is older than a failover
                    # that made this master a replica. Read it again and ask again.
                    await nodes.refresh_quietly()
                    raise rexc.TryAgainError(f"the slot map was stale: {count}")
                if isinstance(count, Exception):
                    raise count
        finally:
            nodes.close()
        return [int(count) for count in counts]

    async def ensure_groups(self) -> None:
        """Create the "workers" and "invokers" groups of the streams of this process's
        queues (``Settings.queues``), again after a Redis without AOF lost them.  From id 0:
        what was added to a queue's streams before its first worker came is delivered."""
        pipe = self.client.pipeline(transaction=False)
        for lane in (shard.lane(queue) for shard in self.shards for queue in self.settings.lanes):
            pipe.xgroup_create(lane.ready, WORKERS_GROUP, id="0", mkstream=True)
            pipe.xgroup_create(lane.tasks, INVOKERS_GROUP, id="0", mkstream=True)
        for result in await pipe.execute(raise_on_error=False):
            if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
                raise result

    async def close(self) -> None:
        self.closed = True
        for batch in [*self._batches.values(), self._writes]:
            if batch is not None:
                batch.close()
        await self.client.aclose()

    # -- plumbing ----------------------------------------------------------------------------

    def shard(self, execution_id: str) -> Shard:
        return self.shards[shard_of(execution_id, len(self.shards))]

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
                result = await call()
            except TRANSIENT as exc:
                refused = refusal(exc)
                if isinstance(exc, rexc.MovedError) and not self.cluster:
                    refused = Refused(
                        "Redis answers MOVED: it is a node of a Redis Cluster, but the user "
                        "may not run CLUSTER INFO, so it was taken for a single Redis (give "
                        "it +cluster|info +cluster|slots; see the README's Scaling out)")
                if refused is not None:
                    raise refused from exc
                self.outage.failed(exc)
                if (stop is not None and stop()) or (deadline is not None
                                                      and time.monotonic() > deadline):
                    raise StoreError(f"Redis is unavailable: {exc}") from exc
            except rexc.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise refusal(exc) or exc
                await self.ensure_groups()
                continue
            else:
                if self.outage.down:
                    self.outage.back()
                return result
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)

    async def script(self, name: str, keys: list[str], args: list[Any], *,
                     confirmed: bool = True) -> Any:
        """Run script ``name`` on ``keys``' node (pipelined with other calls of the turn).

        With ``min_replicas_ack``, a write too few replicas acknowledged raises
        :class:`~.nodes.ReplicaAckShort` when ``confirmed`` (an API call then answers
        "unavailable"); otherwise (the workers' own bookkeeping, safe to redo after a
        failover) it is counted and its reply returned.
        """
        batch = self._batches.get(name)
        if batch is None:
            batch = self._batches[name] = ScriptBatch(self, name)
        try:
            return await batch.run(keys, args)
        except ReplicaAckShort as short:
            if confirmed:
                raise
            return self.short(short)

    async def write(self, *command: Any, confirmed: bool = True) -> Any:
        """Run one write command (its key is ``command[1]``) on its key's node, pipelined
        with the other writes of the turn, acknowledged by replicas as :meth:`script` is."""
        batch = self._writes
        if batch is None:
            batch = self._writes = CommandBatch(self)
        try:
            return await batch.run(*command)
        except ReplicaAckShort as short:
            if confirmed:
                raise
            return self.short(short)

    def take_shortfalls(self) -> int:
        """The writes counted by :meth:`short` since the last call (for ``sm:stats``)."""
        taken, self._untaken = self._untaken, 0
        return taken

    def short(self, short: ReplicaAckShort) -> Any:
        """Count a write too few replicas acknowledged and return its reply."""
        self.ack_shortfalls += 1
        self._untaken += 1
        if self.ack_shortfalls == 1 or self.ack_shortfalls % 1000 == 0:
            log.warning("%s (%d writes so far)", short, self.ack_shortfalls)
        return short.replies[0]

    async def reachable(self, timeout: float = 2.0) -> bool:
        """Whether Redis answers PING within ``timeout`` seconds."""
        try:
            return bool(await asyncio.wait_for(self.client.ping(), timeout))
        except (*TRANSIENT, rexc.RedisError):
            return False

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
