"""The Redis key schema: every key the runtime uses, in one place (nothing outside
:mod:`statemachine.runtime.store` names a key; the messages stored under them are
built by :mod:`statemachine.runtime.store.codec`).

Executions are spread over S shards (S fixed at first start and stored in ``sm:meta``).
An execution's shard is ``crc32(root id) % S`` where the root id is the part of its id
before the first ``/``: Map/Parallel children (``<parent id>/<group>/<index>``) live on
their root's shard.  Every key of a shard carries the hash tag ``{s<n>}``, so one Lua
script may touch any keys of one shard, on a single Redis or a Redis Cluster alike.

Global keys (small, never used in a script together with shard keys)::

    sm:meta                         hash    shards -> S
    sm:machines                     hash    machine name -> its creationDate (listing; the
                                            marker of an existing machine: CreateStateMachine
                                            claims a name with HSETNX)
    sm:machine:<name>               hash    the machine's revisions (immutable; each define or
                                            update that changes something writes one):
                                            seq -> the last revision number given (never
                                            reused, even after a delete); latest -> n (a
                                            deleted machine: -n, a tombstone; raise_version.lua);
                                            v:<n> -> {"definition", "createdAt", "revisionId"?,
                                            "roleArn"?, "loggingConfiguration"?,
                                            "tracingConfiguration"?}.  Kept after a delete:
                                            running executions go on reading their revision
    sm:catalog:<name>               hash    what AWS's catalog adds to a machine (dropped by a
                                            delete): type -> STANDARD | EXPRESS (set while the
                                            machine exists); pv -> the last published version
                                            number given; p:<n> -> published version n
                                            {"revision", "description"?, "creationDate"};
                                            a:<alias> -> {"name", "description"?, "routing":
                                            [{"version", "weight"}], "creationDate",
                                            "updateDate"} (publish/unpublish/alias.lua)
    sm:tags:<kind>:<name>           hash    a resource's tags, key -> value; kind "m" a state
                                            machine, "a" an activity (tag.lua)
    sm:activities                   hash    activity name -> {"name", "activityArn", "createdAt"}
    sm:connections                  hash    connection name -> its entry, credentials sealed
                                            with the service key (store.connections)
    sm:stats                        hash    the workers' counters, summed over every worker
                                            process (each flushes its increments with HINCRBY
                                            every ``stats_flush_ms``): transitions, conflicts
                                            (refused commits), dead_lettered, tasks:<result>
                                            (succeeded, failed, timed_out, sent: a callback
                                            task whose result comes later), loop_errors
                                            (unexpected errors of the workers' loops, each
                                            logged with its traceback),
                                            replica_ack_shortfalls (writes fewer replicas
                                            acknowledged than min_replicas_ack), archived,
                                            archive_failures, archive_deleted (the
                                            archiver's); read by
                                            ``Operations.stats()`` for ``GET /metrics``
    sm:{timings}:<histogram name>   hash    a latency histogram (runtime/timings.py), summed
                                            over every process: field JSON [label values...,
                                            upper bound ("0.005", "+Inf") or "sum_us"] ->
                                            count (per bucket, not cumulative) or the sum of
                                            the observations in microseconds; each process
                                            adds its increments with HINCRBY every
                                            ``timings_flush_ms`` (store/timings.py).  One hash
                                            tag for all: one MULTI adds to every family, on a
                                            Redis Cluster too
    sm:apikeys                      hash    API key id -> {"id", "name", "role", "created",
                                            "sealed" (the secret, encrypted by the service's
                                            secret box), "digest" (SHA-256 of the secret)}
                                            (apikeys.KeyRecord); never a secret in clear
    sm:apikeys:digest               hash    SHA-256 of a secret -> key id (Bearer lookup)
    sm:session:<digest>             string  a dashboard session: key id; the digest is the
                                            SHA-256 of the session cookie's token; EX = the
                                            session's lifetime
    sm:login:<digest>               string  a one-time login link's token (by its SHA-256):
                                            key id; EX = its lifetime, GETDEL when redeemed
    sm:listeners                    hash    "host:port" the API listens on -> until when (ms)
                                            the entry holds; renewed by ``serve`` while it
                                            runs, read by the workers' egress policy
                                            (store/listeners.py)
    sm:queues                       set     the names of the queues other than the default
                                            one that a machine, a Task state or a worker
                                            named (store/pools.py; never shrinks: a queue
                                            no longer used shows 0 work and 0 workers)
    sm:pool:<queue>                 zset    the workers taking the queue's work: consumer
                                            name -> until when (ms) it holds; renewed by
                                            each worker every few seconds, removed when it
                                            stops (store/pools.py; the default queue too)
    sm:clock                        string  the virtual clock's offset from wall time (ms) of
                                            a ``serve --time-skipping`` service (its marker:
                                            only such a service runs on this Redis; a
                                            restart resumes the offset; store/virtual_clock.py)

Shard keys (``T`` is the tag ``{s<n>}``)::

    sm:T:x:<id>                     hash    an execution record:
                                              r       the record (orjson; interpreter.records;
                                                      without default fields: pack_record)
                                              rev     its version (compare-and-set)
                                              status  RUNNING | SUCCEEDED | ...
                                              token   the task token it waits for ("" none;
                                                      emptied by the first callback)
                                              q       the execution's queue (absent: the
                                                      default; a copy of the record's
                                                      ``queue`` for the scripts, see Lanes)
                                              issued  ms when the token of a callback or
                                                      activity task was issued (written with
                                                      it, left after; callback.lua returns it:
                                                      the callback wait histogram)
                                              redrive the last redrive asked for (redrive.lua):
                                                      {"count", "date", "token"}; while
                                                      status is RUNNING and r has ended, a
                                                      worker has yet to apply it
    sm:T:h:<owner id>               list    history of a root and all its children (or of a
                                            Distributed Map's child execution and its own
                                            inline children: keys.history_owner): event n
                                            at position n-1 (orjson, stored without its
                                            id/previousEventId: they come from the
                                            position; codec.history_event).  A list, not a
                                            stream: a 2-event list costs ~100 bytes, a stream
                                            ~4.8 KB
    sm:T:ready                      stream  work items, field ``m`` = {"x": id, "e": event};
                                            a child's lazy Started also has "g": [parent id,
                                            group, index]; consumer group "workers"
                                            (codec.work_item)
    sm:T:tasks                      stream  task dispatches (outbox), field ``m`` =
                                            {"x": id, "c": InvokeTask command}, or a nested
                                            execution's end for its ``.sync`` parent
                                            {"x": parent id, "n": the task result event}
                                            (codec.parent_notice; delivered like a
                                            callback); consumer group "invokers"
                                            (codec.dispatch)
    sm:T:dead                       stream  dead letters: work items and dispatches whose
                                            handling raised on each of ``max_deliveries``
                                            deliveries, moved here (dead.lua) from their stream
                                            with fields stream, group, id (the original entry
                                            id), m (the message), error (exception type and
                                            message, at most 2 KB), consumer, at (ms); put back
                                            by ``Operations.requeue`` (requeue.lua).
                                            Never trimmed: an operator requeues or deletes them.
                                            A RUNNING execution whose message (or a child's)
                                            is here is *stalled*: read from this stream
                                            (``Operations.stalls``), no key of its own
    sm:T:timers                     zset    timer id -> due (ms since the epoch); a commit that
                                            makes a timer the earliest PUBLISHes its due on
                                            the channel ``sm:timers`` (a wake-up hint)
    sm:T:timer-events               hash    timer id -> the work item to enqueue when due, for
                                            the timers whose item is not the plain TimerFired
                                            that promote.lua builds from the id itself
    sm:T:n:<machine>:<name>         hash    execution name index: id, ih (input hash); none for
                                            an unnamed execution (its name is its random id)
    sm:T:mv                         hash    machine name -> latest version (a per-shard copy of
                                            sm:machine:<name> latest, raised by define with
                                            raise_version.lua, so a start is one script on
                                            one shard)
    sm:T:g:<parent id>:<group>      hash    a Map/Parallel group: the counters of
                                            interpreter.children as fields (kind, total, limit,
                                            next, running, done, failed, closed, tc, tp =
                                            tolerated count/percentage or ""), and spec
                                            ({"kind", "paths", "vars", "items",
                                            "execution_input", "parent"}: what
                                            interpreter.step.child_execution needs)
    sm:T:gi:<parent id>:<group>     hash    child index -> [input, item] (written in chunks when
                                            large; read and deleted when the child begins)
    sm:T:gr:<parent id>:<group>     hash    child index -> outcome {status, output, error, cause}
    sm:T:gx:<parent id>:<group>     set     indexes of the group's started, unfinished children
    sm:T:mr:<execution id>          hash    the Map Runs a Distributed Map of the execution
                                            started, fields ``<group>:<name>`` (store/map_runs.py:
                                            arn, status, start, stop, mc, tc, tp, total, items,
                                            started, and per-status ended counters, HINCRBY'd by
                                            each child's final commit); expires with the record
    sm:T:ma:<map run ARN's id>      string  "<owner> <run>": the Map Run an ARN names, on
                                            its owner's shard (written by the commits) and
                                            on the shard the id picks (the index a lookup
                                            reads, written around them: Records.commit);
                                            expires the retention after the run ends
    sm:T:act:<activity name>        list    activity tasks waiting for a poller:
                                            {"x", "token", "input"} (codec.activity_task)
    sm:T:nx:<parent id>             hash    nested executions a parent's
                                            ``states:startExecution`` tasks started: child id
                                            -> how the task waits (request, sync, sync2,
                                            token); stop and describe read it
                                            (store/nested.py); expires with the root's
                                            record once it ends
    sm:T:ix:m:<machine>             zset    root id -> start ms, per state machine
    sm:T:ix:s:<status>              zset    root id -> start ms, per status (a root is in
                                            exactly one: listing them all merges these)

Lanes: the ready, tasks, timers and timer-events keys above are the *default queue*'s.
Every other queue (:mod:`statemachine.language.queues`) has the same four on every shard,
``sm:T:q:<queue>:ready``, ``...:tasks``, ``...:timers``, ``...:timer-events`` (a
:class:`Lane`), with the same consumer groups.  An execution's work items and timers go to
its queue's lane (the record's ``queue``, inherited by its children), a task dispatch to
the lane of the Task's ``x-queue`` if it names one, else the execution's; a worker reads
and promotes only the lanes of its queues (``worker --queues``).

Archiving (only with ``archive_url``; :mod:`statemachine.runtime.archive`)::

    sm:T:fin                        zset    root id -> when it finished (ms): the roots to
                                            archive once ``archive_after_s`` has passed
                                            (added by the commit that finishes a root,
                                            removed by archive.lua)
    sm:T:arc                        zset    root id -> when its retention ends (ms): archived
                                            roots whose objects the archiver deletes then
                                            (archive.lua adds, restore.lua removes)

An archived root's record hash becomes a stub (archive.lua): ``l`` what a listing shows
(``[machine, version, start, stop, {rarer fields}?]``: archiving.listed_record), ``rev`` (one more than
the archived record's, so a stale compare-and-set fails), ``status``; same expiry as the
record had.  Its history list is deleted; its name entry stays (AWS keeps a name taken
for its retention).  A restore (restore.lua, before a redrive) writes both back.

Index entries of finished roots whose records have expired are dropped by the workers'
sweeper (``sweep.lua``, every ``sweep_interval_ms``), a page of each index at a time; where
each index's next page starts is kept in ``sm:T:sweep`` (hash: index key -> score).

The execution name index shares the shard of its execution: :mod:`.ids` draws a UUID4
whose shard is the name's shard, so starting by name is one atomic script.
"""

from __future__ import annotations

import hashlib
import zlib

from statemachine.interpreter.children import history_owner, root_of
from statemachine.language.queues import DEFAULT_QUEUE

PREFIX = "sm"
META = f"{PREFIX}:meta"
MACHINES = f"{PREFIX}:machines"
ACTIVITIES = f"{PREFIX}:activities"
CONNECTIONS = f"{PREFIX}:connections"
STATS = f"{PREFIX}:stats"
API_KEYS = f"{PREFIX}:apikeys"
API_KEY_DIGESTS = f"{PREFIX}:apikeys:digest"
LISTENERS = f"{PREFIX}:listeners"
VIRTUAL_CLOCK = f"{PREFIX}:clock"
WORKERS_GROUP = "workers"
INVOKERS_GROUP = "invokers"
QUEUES = f"{PREFIX}:queues"
TIMERS_CHANNEL = f"{PREFIX}:timers"
"""Pub/sub channel on which a commit publishes a due time that became its shard's earliest."""


def pool(queue: str) -> str:
    """The zset of the workers taking ``queue``'s work (the default queue's too)."""
    return f"{PREFIX}:pool:{queue}"


def timings(histogram: str) -> str:
    """The hash of one latency histogram (every histogram's key shares one hash tag)."""
    return f"{PREFIX}:{{timings}}:{histogram}"


def machine(name: str) -> str:
    return f"{PREFIX}:machine:{name}"


def catalog(name: str) -> str:
    return f"{PREFIX}:catalog:{name}"


def tags(kind: str, name: str) -> str:
    return f"{PREFIX}:tags:{kind}:{name}"


def session(digest: str) -> str:
    return f"{PREFIX}:session:{digest}"


def login_token(digest: str) -> str:
    return f"{PREFIX}:login:{digest}"


def shard_of(execution_id: str, shards: int) -> int:
    """The shard of an execution: a hash of its root id."""
    return zlib.crc32(root_of(execution_id).encode()) % shards


def shard_of_name(machine_name: str, name: str, shards: int) -> int:
    """The shard of an execution name's index entry (and so of its execution).

    Not crc32: crc32 is linear, so for ids of one length ``crc32(prefix + id)`` and
    ``crc32(id)`` would differ by a constant and a default name (the id itself) might never
    share its id's shard.
    """
    digest = hashlib.blake2b(f"{machine_name}\x00{name}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % shards


class Lane:
    """The keys of one queue on one shard: work items, task dispatches, timers."""

    __slots__ = ("queue", "ready", "shard", "tasks", "timer_events", "timers")

    def __init__(self, shard: Shard, prefix: str, queue: str | None) -> None:
        """``queue`` None: the default queue, whose keys carry no queue name."""
        self.shard = shard
        self.queue = queue
        self.ready = prefix + "ready"
        self.tasks = prefix + "tasks"
        self.timers = prefix + "timers"
        self.timer_events = prefix + "timer-events"


class Shard:
    """The keys of one shard; built once per shard and reused."""

    __slots__ = ("_base", "_lanes", "archived", "dead", "default", "finished", "n", "ready",
                 "sweep", "tag", "tasks", "timer_events", "timers", "versions")

    def __init__(self, n: int) -> None:
        self.n = n
        self.tag = f"{{s{n}}}"
        self._base = f"{PREFIX}:{self.tag}:"
        self.default = Lane(self, self._base, None)
        self._lanes: dict[str | None, Lane] = {None: self.default}
        self.ready = self.default.ready
        self.tasks = self.default.tasks
        self.dead = self._base + "dead"
        self.timers = self.default.timers
        self.timer_events = self.default.timer_events
        self.sweep = self._base + "sweep"
        self.versions = self._base + "mv"
        self.finished = self._base + "fin"
        self.archived = self._base + "arc"

    def lane(self, queue: str | None) -> Lane:
        """The keys of ``queue`` (None or "default": the default queue) on this shard."""
        found = self._lanes.get(queue)
        if found is None:
            if queue == DEFAULT_QUEUE:
                return self.default
            found = self._lanes[queue] = Lane(self, f"{self._base}q:{queue}:", queue)
        return found

    def lane_of_stream(self, stream: str) -> Lane | None:
        """The lane whose ready or tasks stream ``stream`` is (None: no stream of a lane)."""
        if stream in (self.ready, self.tasks):
            return self.default
        queue, _, kind = stream.removeprefix(self._base + "q:").rpartition(":")
        if not stream.startswith(self._base + "q:") or kind not in ("ready", "tasks"):
            return None
        return self.lane(queue)

    def record(self, execution_id: str) -> str:
        return self._base + "x:" + execution_id

    def history(self, execution_id: str) -> str:
        return self._base + "h:" + history_owner(execution_id)

    def map_runs(self, execution_id: str) -> str:
        return self._base + "mr:" + execution_id

    def map_run_arn(self, run_uuid: str) -> str:
        return self._base + "ma:" + run_uuid

    def name(self, machine_name: str, name: str) -> str:
        return f"{self._base}n:{machine_name}:{name}"

    def group(self, parent_id: str, group: str) -> str:
        return f"{self._base}g:{parent_id}:{group}"

    def group_inputs(self, parent_id: str, group: str) -> str:
        return f"{self._base}gi:{parent_id}:{group}"

    def group_results(self, parent_id: str, group: str) -> str:
        return f"{self._base}gr:{parent_id}:{group}"

    def group_running(self, parent_id: str, group: str) -> str:
        return f"{self._base}gx:{parent_id}:{group}"

    def activity(self, name: str) -> str:
        return self._base + "act:" + name

    def nested(self, parent_id: str) -> str:
        return self._base + "nx:" + parent_id

    def index_machine(self, machine_name: str) -> str:
        return self._base + "ix:m:" + machine_name

    def index_status(self, status: str) -> str:
        return self._base + "ix:s:" + status
