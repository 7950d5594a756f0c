"""A Plan: the operations of one ``commit.lua`` call, named as what they do.

A worker turns one ``advance()`` decision into a Plan (``worker/plan.py``, a pure
function) and hands it to :meth:`~statemachine.runtime.store.records.Records.commit`.
The Plan knows the keys; its caller knows executions, timers, groups and tasks.  Guards
come first (nothing is written unless each holds: the record's ``rev``, a group being
open), then the operations in the order they were added; ``commit.lua``'s header
describes each operation.

Map inputs too large for one command are not operations of the script: they are written
before it (:attr:`Plan.prewrites`), harmless if the commit is then refused, since the
retry writes them again and only a child's first commit deletes its input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from statemachine.interpreter.children import history_owner
from statemachine.runtime.store.codec import (
    activity_task,
    child_pieces,
    child_started,
    dispatch,
    dumps,
    parent_notice,
    timer_item,
    work_item,
)
from statemachine.runtime.store.keys import INVOKERS_GROUP, WORKERS_GROUP, Lane, Shard

__all__ = ["GroupState", "Plan"]


@dataclass(frozen=True, slots=True)
class GroupState:
    """What stopping a Map/Parallel group needs to know: its ``next`` counter (the guard)
    and the indexes of its started, unfinished children."""

    next: str
    running: list[int]


RUN_INDEX_TTL_S = 366 * 24 * 3600
"""How long a Map Run's index on its own id's shard lives before its run ends (then the
retention): longer than an execution may run (a year), so a live run is always found."""


class Plan:
    """The arguments of ``commit.lua`` for one shard: keys by index, guards, operations."""

    __slots__ = ("_index", "ack_id", "guards", "keys", "lane", "ops", "prewrites", "run_index",
                 "shard", "taken", "taken_from")

    def __init__(self, shard: Shard, ack_id: str | bytes = "", lane: Lane | None = None) -> None:
        """``ack_id``: the entry of ``lane``'s ready stream acknowledged with the commit (""
        none); ``lane``: the execution's queue's keys (default: the default queue's), where
        its work items and timers go."""
        self.shard = shard
        self.lane = lane = shard.default if lane is None else lane
        self.keys: list[str] = [lane.ready]
        self._index: dict[str, int] = {lane.ready: 1}
        self.guards: list[Any] = []
        self.ops: list[Any] = []
        self.ack_id = ack_id
        self.prewrites: list[tuple[str, dict[Any, Any]]] = []
        self.run_index: list[tuple[str, str | None, int]] = []
        """Map Run ARN ids to index on their own shard (``Records.commit``): (id, "<owner>
        <run>", ttl) written before the commit, (id, None, retention) expired after it"""
        self.taken: list[tuple[bytes, dict[bytes, bytes]]] = []
        self.taken_from = ""
        """the stream of the entries in :attr:`taken`"""

    # -- the script's vocabulary -----------------------------------------------------------

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
        ``consumer`` (XREADGROUP); the commit leaves them in :attr:`taken`."""
        self.ops += ("TAKE", self.key(stream), 3, group, consumer, count)
        self.taken_from = stream

    def args(self) -> list[Any]:
        return [self.ack_id, len(self.guards) // 3, *self.guards, *self.ops]

    # -- records and history ---------------------------------------------------------------

    def guard_record(self, execution_id: str, rev: int | None) -> None:
        """Apply nothing unless the record's rev is ``rev`` (None: there is no record)."""
        self.guard(self.shard.record(execution_id), "rev", "" if rev is None else str(rev))

    def ack_dispatch(self, stream: str, entry_id: bytes) -> None:
        """Acknowledge (and delete) the task dispatch (of tasks stream ``stream``) whose
        result this commit applies."""
        self.op("ACK", stream, INVOKERS_GROUP, entry_id)

    def ack_work(self, stream: str, entry_id: bytes) -> None:
        """Acknowledge (and delete) a work item of a ready stream that is not the lane's."""
        self.op("ACK", stream, WORKERS_GROUP, entry_id)

    def write_record(self, execution_id: str, raw: bytes, rev: int, status: str,
                     token: str, issued: int | None = None) -> None:
        """Store the record (``raw``, see codec.pack_record) with its rev, status and the
        task token it waits for ("" none: callbacks are checked against this field), its
        queue when not the default one (``q``: the callbacks' scripts read it), and
        ``issued``: when a callback or activity task's token was issued (ms; callback.lua
        returns it, for the callback wait histogram)."""
        fields: tuple[Any, ...] = ("r", raw, "rev", rev, "status", status, "token", token)
        if self.lane.queue is not None:
            fields += ("q", self.lane.queue)
        if issued is not None:
            fields += ("issued", issued)
        self.op("HSET", self.shard.record(execution_id), *fields)

    def append_history(self, execution_id: str, events: Iterable[bytes], *,
                       begins: bool = False) -> None:
        """Append stored events (codec.history_event) to the history they belong to (the
        root's, or a Map Run child's: keys.history_owner), while its owner is RUNNING;
        ``begins``: the owner is the execution this commit creates (no record to check)."""
        events = list(events)
        if events:
            shard = self.shard
            owner = history_owner(execution_id)
            check = 0 if begins and owner == execution_id else self.key(shard.record(owner))
            self.ops += ("HIST", self.key(shard.history(execution_id)), len(events) + 1,
                         check, *events)

    def enqueue(self, execution_id: str, event: Mapping[str, Any]) -> None:
        """A work item for ``execution_id`` on the lane's ready stream."""
        self.op("XADD", self.lane.ready, "m", work_item(execution_id, event))

    # -- tasks and timers --------------------------------------------------------------------

    def dispatch(self, execution_id: str, command: Any,
                 mock: tuple[str, str] | None = None, queue: str | None = None,
                 after: float | None = None) -> str:
        """Add an ``InvokeTask`` to the outbox: the tasks stream of ``queue`` (None: the
        lane's); ``mock``: the execution's machine and test case; ``after``: when the result
        of the task it follows was received (see :func:`.codec.dispatch`).  Returns the
        stream."""
        stream = self.lane.tasks if queue is None else self.shard.lane(queue).tasks
        self.op("XADD", stream, "m", dispatch(execution_id, command, mock, self.lane.queue,
                                              after))
        return stream

    def notify_parent(self, parent_id: str, event: Mapping[str, Any]) -> None:
        """Tell a nested execution's ``.sync`` parent (on any shard) that it ended: through
        this shard's outbox, so the notice survives a crash between this commit and its
        delivery (the dispatcher delivers it as a callback, at least once)."""
        self.op("XADD", self.lane.tasks, "m", parent_notice(parent_id, event))

    def take_dispatch(self, stream: str, consumer: str) -> None:
        """Hand the dispatch just added to ``stream`` to ``consumer`` (no stream read in
        between)."""
        self.take(stream, INVOKERS_GROUP, consumer)

    def activity_task(self, activity: str, execution_id: str, token: str, input: Any) -> None:
        """Queue a task for the pollers of ``activity``."""
        self.op("RPUSH", self.shard.activity(activity), activity_task(execution_id, token, input))

    def set_timer(self, execution_id: str, timer_id: str, due: int,
                  event: Mapping[str, Any]) -> None:
        """Deliver ``event`` at ``due`` (a timer of the lane); schedulers are woken when it
        becomes the lane's earliest timer."""
        lane = self.lane
        self.ops += ("TIMER", self.key(lane.timers), 4, self.key(lane.timer_events), timer_id,
                     due, timer_item(execution_id, timer_id, event))

    def cancel_timer(self, timer_id: str) -> None:
        self.op("ZREM", self.lane.timers, timer_id)
        self.op("HDEL", self.lane.timer_events, timer_id)

    # -- Map/Parallel groups -----------------------------------------------------------------

    def begin_child(self, child_id: str, parent_id: str, group: str, index: int) -> None:
        """A lazy child's first commit: only while it has no record and its group is open;
        its stored input is deleted."""
        self.guard_record(child_id, None)
        self.guard(self.shard.group(parent_id, group), "closed", "0")
        self.op("HDEL", self.shard.group_inputs(parent_id, group), index)

    def open_group(self, parent_id: str, group: str, counters: Mapping[str, Any], spec: bytes,
                   inputs: dict[int, bytes], first: list[int], chunk: int) -> None:
        """Store the children's inputs (``chunk`` fields per command; more are written before
        the commit), the group's counters (interpreter.children's, as hash fields) and spec,
        and enqueue the lazy ``Started`` items of the children to begin with."""
        shard = self.shard
        inputs_key = shard.group_inputs(parent_id, group)
        if len(inputs) > chunk:
            self.prewrites.append((inputs_key, inputs))
        elif inputs:
            self.op("HSET", inputs_key, *(v for pair in inputs.items() for v in pair))
        tc, tp = counters["tolerated_count"], counters["tolerated_percentage"]
        self.op("HSET", shard.group(parent_id, group), "spec", spec, "kind", counters["kind"],
                "total", counters["total"], "limit", counters["limit"], "next", counters["next"],
                "running", counters["running"], "done", counters["done"],
                "failed", counters["failed"], "closed", counters["closed"],
                "tc", "" if tc is None else tc, "tp", "" if tp is None else tp,
                "open", counters.get("open", 0), "asked", counters.get("asked", 0),
                "low", counters.get("low", 0))
        if first:
            self.op("SADD", shard.group_running(parent_id, group), *first)
        for i in first:
            self.op("XADD", self.lane.ready, "m", child_started(parent_id, group, i))
        if counters.get("asked"):  # more pages: the next is read while these children run
            self.enqueue(parent_id, {"type": "PageWanted", "group": group})

    def extend_group(self, parent_id: str, group: str, inputs: dict[int, bytes], more: bool,
                     chunk: int) -> None:
        """A Distributed Map's next page: its children's inputs stored under the next indexes
        (``inputs``), then ``commit.lua``'s EXTEND adds them to the open group (see there)."""
        shard = self.shard
        inputs_key = shard.group_inputs(parent_id, group)
        if len(inputs) > chunk:
            self.prewrites.append((inputs_key, inputs))
        elif inputs:
            self.op("HSET", inputs_key, *(v for pair in inputs.items() for v in pair))
        pieces = child_pieces(parent_id, group)
        self.ops += ("EXTEND", self.key(shard.group(parent_id, group)), 9,
                     self.key(shard.group_running(parent_id, group)), self.key(inputs_key),
                     len(inputs), 1 if more else 0, len(inputs), dumps(parent_id), dumps(group),
                     pieces.started_head, pieces.started_middle)

    def drop_group(self, parent_id: str, group: str, *, results: bool = True) -> None:
        """Delete the group's keys (``results`` False: all but its outcomes, which a Map
        Run's ResultWriter reads next; :meth:`drop_results` deletes them at the run's end)."""
        shard = self.shard
        for key in (shard.group(parent_id, group), shard.group_inputs(parent_id, group),
                    shard.group_results(parent_id, group) if results else None,
                    shard.group_running(parent_id, group)):
            if key is not None:
                self.op("DEL", key)

    def drop_results(self, parent_id: str, group: str) -> None:
        self.op("DEL", self.shard.group_results(parent_id, group))

    def stop_children(self, parent_id: str, group: str, state: GroupState,
                      error: str | None, cause: str | None) -> None:
        """``StopRequested`` to every running child, and the group dropped (late ends are
        ignored).  Guarded by the group's ``next``: a child started meanwhile refuses the
        commit, and the retry sees it.  Children not begun yet find the group gone."""
        self.guard(self.shard.group(parent_id, group), "next", state.next)
        stop = {"type": "StopRequested", "error": error, "cause": cause}
        for index in state.running:
            self.enqueue(f"{parent_id}/{group}/{index}", stop)
        self.drop_group(parent_id, group)

    def child_finished(self, parent_id: str, group: str, index: int,
                       outcome: Mapping[str, Any]) -> None:
        """A Map/Parallel child ended: ``commit.lua`` applies interpreter.children's policy."""
        shard, pieces = self.shard, child_pieces(parent_id, group)
        self.ops += ("CHILD", self.key(shard.group(parent_id, group)), 12,
                     self.key(shard.group_results(parent_id, group)),
                     self.key(shard.group_running(parent_id, group)), index, dumps(outcome),
                     dumps(outcome.get("status")), dumps(outcome.get("error")),
                     dumps(outcome.get("cause")), dumps(parent_id), dumps(group),
                     pieces.started_head, pieces.started_middle, pieces.stop)

    # -- Map Runs (a Distributed Map's; store/map_runs.py reads them) ---------------------

    def run_started(self, owner: str, run: str, arn: str, run_uuid: str, start: int) -> None:
        """Map Run ``run`` (``<execution id>/<group>``) of ``owner`` (the execution whose
        history records it) began: its record's first fields, and its ARN's id found back."""
        self.op("HSET", self.shard.map_runs(owner), f"{run}:arn", arn, f"{run}:status",
                "RUNNING", f"{run}:start", start)
        self.op("SET", self.shard.map_run_arn(run_uuid), f"{owner} {run}")
        self.run_index.append((run_uuid, f"{owner} {run}", RUN_INDEX_TTL_S))

    def run_opened(self, owner: str, run: str, limit: int, tc: int | None, tp: float | None,
                   total: int, items: int) -> None:
        """The Map Run's children were opened: its settings and totals."""
        self.op("HSET", self.shard.map_runs(owner), f"{run}:mc", limit,
                f"{run}:tc", "" if tc is None else tc, f"{run}:tp", "" if tp is None else tp,
                f"{run}:total", total, f"{run}:items", items)

    def run_extended(self, owner: str, run: str, total: int, items: int) -> None:
        """The Map Run's next page: ``total`` more children, ``items`` more items."""
        key = self.shard.map_runs(owner)
        self.op("HINCRBY", key, f"{run}:total", total)
        self.op("HINCRBY", key, f"{run}:items", items)

    def run_counted(self, owner: str, run: str, what: str, items: int) -> None:
        """One more child ``what`` (``started`` or its final status), and its ``items``."""
        key = self.shard.map_runs(owner)
        self.op("HINCRBY", key, f"{run}:{what}", 1)
        self.op("HINCRBY", key, f"{run}:i:{what}", items)

    def run_written(self, owner: str, run: str, executions: int, items: int | None) -> None:
        """The run's ResultWriter wrote the results of ``executions`` children (``items``;
        None: as many as the run started)."""
        key = self.shard.map_runs(owner)
        self.op("HSET", key, f"{run}:written", executions)
        if items is None:
            self.op("HCOPY", key, f"{run}:i:started", f"{run}:i:written")
        else:
            self.op("HSET", key, f"{run}:i:written", items)

    def run_ended(self, owner: str, run: str, run_uuid: str, status: str, stop: int,
                  retention_s: int) -> None:
        """The Map Run ended; its ARN's lookup expires after the retention."""
        self.op("HSET", self.shard.map_runs(owner), f"{run}:status", status, f"{run}:stop", stop)
        self.op("EXPIRE", self.shard.map_run_arn(run_uuid), retention_s)
        self.run_index.append((run_uuid, None, retention_s))

    # -- endings -----------------------------------------------------------------------------

    def finish_root(self, execution_id: str, machine: str, name: str, status: str, start: int,
                    retention_s: int, archive_at: int | None = None) -> None:
        """A root execution ended: listed under its final status; its record, history,
        name entry and nested-execution links expire after ``retention_s``; with ``archive_at`` (its stop, ms) it is
        to be archived (``sm:T:fin``)."""
        shard = self.shard
        if archive_at is not None:
            self.op("ZADD", shard.finished, archive_at, execution_id)
        self.op("ZREM", shard.index_status("RUNNING"), execution_id)
        self.op("ZADD", shard.index_status(status), start, execution_id)
        self.op("EXPIRE", shard.record(execution_id), retention_s)
        self.op("EXPIRE", shard.history(execution_id), retention_s)
        self.op("EXPIRE", shard.name(machine, name), retention_s)
        self.op("EXPIRE", shard.nested(execution_id), retention_s)  # no-op without children
        self.op("EXPIRE", shard.map_runs(execution_id), retention_s)  # no-op without Map Runs

    def finish_child(self, execution_id: str, parent_id: str, group: str, index: int,
                     outcome: Mapping[str, Any], retention_s: int) -> None:
        """A child ended: its record expires (a Map Run child's history and Map Runs too;
        ``retention_s`` 0: its record is deleted now), its outcome goes to its group."""
        if retention_s <= 0:
            self.op("DEL", self.shard.record(execution_id))
        else:
            self.op("EXPIRE", self.shard.record(execution_id), retention_s)
        if history_owner(execution_id) == execution_id:
            self.op("EXPIRE", self.shard.history(execution_id), retention_s)
            self.op("EXPIRE", self.shard.map_runs(execution_id), retention_s)
        self.child_finished(parent_id, group, index, outcome)
