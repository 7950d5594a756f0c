"""Transitions: a work item in, load → ``advance()`` → plan → commit, the item acknowledged.

Hands (``concurrency`` of them) take work items from the ready inbox.  Each is applied to
its execution: the record is loaded, ``advance()`` decides (each machine version compiled
once), :class:`~statemachine.runtime.worker.plan.Planner` turns the decision into a plan,
and ``commit.lua`` applies it under a compare-and-set on the record's ``rev``.  A refused
commit (the record moved on) is retried from a fresh load; a duplicate item then finds
nothing to do and is just acknowledged.

The dispatcher applies task results through :meth:`Transitions.apply` too: the transition
commits together with the dispatch's ack.  A commit that sends a task then takes that
dispatch for this worker (TAKE) and returns it with the record just written, to be
performed next with no stream read and no record load in between (the record is still
guarded by its rev, so a change made meanwhile refuses the commit and a fresh load
follows).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import perf_counter, time
from typing import TYPE_CHECKING, cast

from statemachine.interpreter import failures as F
from statemachine.interpreter.children import is_run
from statemachine.interpreter.commands import StopChildren
from statemachine.interpreter.events import ChildrenFinished, Event, Reused
from statemachine.interpreter.execution_log import OFF, LoggingConfiguration, LogLevel
from statemachine.interpreter.records import TERMINAL, Execution, Status
from statemachine.interpreter.step import advance, child_execution
from statemachine.language.model import Machine, compile_machine
from statemachine.language.scope import MISSING
from statemachine.runtime.clock import now_ms
from statemachine.runtime.execution_lines import ExecutionLog, Performed
from statemachine.runtime.nested import StoreStarter, sync_stops
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import UNAVAILABLE, GroupState, Records, Shard, StreamGroup
from statemachine.runtime.store.codec import (
    ChildLink,
    Delivered,
    GroupTotal,
    loads,
    read_work_item,
    unpack_record,
)
from statemachine.runtime.timings import TRANSITION_COMMIT
from statemachine.runtime.worker.consumer import Cached, Follow, Inbox, Item
from statemachine.runtime.worker.failed_runs import with_run_outcomes
from statemachine.runtime.worker.housekeeping import Housekeeping, error_text
from statemachine.runtime.worker.loops import Stats, log
from statemachine.runtime.worker.plan import GroupSpec, Planner

if TYPE_CHECKING:
    from statemachine.runtime.tracing.exporter import Tracer

__all__ = ["Transitions"]

SPEC_CACHE = 256
"""Map/Parallel group specs kept (read once per group, not once per child)."""
REOPENED_WAIT_S = 0.005
"""How long an event for a redriven execution waits for its Redriven to be applied first."""


_RESULTS = ("TaskSucceeded", "TaskFailed")


class _Lost:
    """``_apply``'s answer when every commit attempt was refused (the entry stays pending)."""


_LOST = _Lost()

class Transitions:
    """Applies events to executions: the hands of the ready inbox, and task results."""

    def __init__(self, records: Records, inbox: Inbox, tasks: StreamGroup, planner: Planner,
                 settings: Settings, stats: Stats, housekeeping: Housekeeping,
                 timer_set: Callable[[], None], nested: StoreStarter | None = None,
                 tracer: Tracer | None = None) -> None:
        """``nested``: stops the ``.sync`` children a committed transition ends
        (:func:`~statemachine.runtime.nested.sync_stops`); ``tracer``: emits the spans a
        committed transition ends (None: tracing off)."""
        self._records = records
        self._inbox = inbox
        self._ready = inbox.streams
        self._tasks = tasks
        self._planner = planner
        self._settings = settings
        self._stats = stats
        self._timings = stats.timings
        self._housekeeping = housekeeping
        self._timer_set = timer_set
        self._nested = nested
        self._tracer = tracer
        self._machines: dict[tuple[str, int], Machine] = {}
        self._logging: dict[tuple[str, int], LoggingConfiguration] = {}
        self._log = ExecutionLog(settings)
        self._loading: dict[tuple[str, int], asyncio.Future[Machine | None]] = {}
        self._specs: dict[tuple[str, str], GroupSpec] = {}

    async def run(self) -> None:
        """The hands: work items until the inbox ends."""
        inbox = self._inbox
        await asyncio.gather(*(inbox.serve(self.process, self._housekeeping.dead_letter)
                               for _ in range(inbox.capacity)))

    async def process(self, item: Item, cached: Cached | None = None) -> Follow | None:
        """Apply one work item."""
        shard, stream, entry_id, message, _ = item
        work = read_work_item(message)
        return await self.apply(shard, stream, work.execution, work.event, work.link, entry_id)

    async def apply(self, shard: Shard, stream: str, execution_id: str, event: Delivered,
                    child: ChildLink | None, entry_id: bytes, *, dispatch: bool = False,
                    cached: Cached | None = None, queue: str | None = None,
                    performed: Performed | None = None) -> Follow | None:
        """Deliver ``event``: load, advance, commit, acknowledging ``entry_id`` of ``stream``
        with the commit (or alone when there is nothing to do).  ``entry_id`` is a ready
        work item, or with ``dispatch`` a task dispatch whose result ``event`` is: until the
        commit the dispatch stays pending, so a crash performs the task again.  ``child``: a
        lazy Map/Parallel child's link, when ``event`` is its ``Started``.  ``performed``: the
        task attempt whose result ``event`` is, when this worker performed it (its log lines
        say where it went and how long it took).

        A result that cannot be applied (applying it raised, or its commit kept being
        refused) is handed over to the ready stream of the execution's ``queue``
        (``Records.hand_over``): retried, and dead-lettered, from there, it never makes
        another delivery of the dispatch perform the task again."""
        try:
            follow = await self._apply(shard, stream, execution_id, event, child, entry_id,
                                       dispatch=dispatch, cached=cached, performed=performed)
        except UNAVAILABLE:
            raise
        except Exception as exc:
            if not dispatch:
                raise
            await self._hand_over(shard, stream, queue, execution_id, event, entry_id,
                                  error_text(exc), exc)
            return None
        if isinstance(follow, _Lost):
            if dispatch:
                await self._hand_over(shard, stream, queue, execution_id, event, entry_id,
                                      "its commit kept losing the compare-and-set")
            return None
        return follow

    async def _hand_over(self, shard: Shard, stream: str, queue: str | None, execution_id: str,
                         event: Delivered, entry_id: bytes, why: str,
                         exc: Exception | None = None) -> None:
        """Log and count (``loop_errors``) the failure, then ``Records.hand_over``."""
        lane = shard.lane(queue)
        log.error("the result of task dispatch %s for %s could not be applied (%s); handed "
                  "over to %s, the task is not performed again", entry_id.decode(),
                  execution_id, why, lane.ready, exc_info=exc,
                  extra={"executionId": execution_id})
        self._stats.counts["loop_errors"] += 1
        await self._records.hand_over(lane, stream, execution_id, event, entry_id)

    async def _apply(self, shard: Shard, stream: str, execution_id: str, event: Delivered,
                     child: ChildLink | None, entry_id: bytes, *, dispatch: bool,
                     cached: Cached | None, performed: Performed | None) -> Follow | None | _Lost:
        if cached is not None and cached[0] != execution_id:
            cached = None
        streams = self._tasks if dispatch else self._ready
        result_at = _result_at(event, entry_id, dispatch)
        for attempt in range(self._settings.commit_retries):
            now = now_ms()
            record: Execution | None
            reused: Reused | None = None
            if attempt == 0 and cached is not None:
                record, begins = unpack_record(cached[1]), None
            else:
                record, begins, reused = await self._load(shard, execution_id, child, now,
                                                          attempt == 0)
            if record is None:
                await streams.ack(stream, entry_id)
                return None
            machine = await self._machine(record["machine"], record["machine_version"])
            if machine is None:
                log.error("no definition %s v%s for %s", record["machine"],
                          record["machine_version"], execution_id,
                          extra={"executionId": execution_id})
                await streams.ack(stream, entry_id)
                return None
            current: Event
            total = cast(GroupTotal, event) if "total" in event else None
            if total is not None and _writes_results(machine, record, total["group"]):
                # a Map Run whose ResultWriter exports its outcomes: the writer reads them
                # where they are, a page at a time (runtime.items.writer)
                current = {"type": "ChildrenFinished", "group": total["group"],
                           "stored": total["total"]}
            elif total is not None:  # a group all done: its outcomes are read back by index
                current = await self._with_outcomes(shard, record, total)
            elif event.get("type") == "ChildrenFinished" and "failed" in event:
                current = await with_run_outcomes(self._records, shard, record,
                                                  cast(ChildrenFinished, event), now)
            elif reused is not None:
                current = {"type": "Started", "reused": reused}
            else:
                current = cast(Event, event)
            decision = advance(machine, record, current, now=now)
            if decision.execution is record:
                if (record["status"] in TERMINAL and current["type"] != "Redriven"
                        and await self._records.reopened(shard, execution_id)):
                    # A redrive re-opened it and its Redriven is being applied (a stop sent
                    # meanwhile would be lost): this event is for the resumed execution.
                    await asyncio.sleep(REOPENED_WAIT_S)
                    continue
                await streams.ack(stream, entry_id)
                return None
            groups: dict[str, GroupState | None] = {}
            for command in decision.commands:
                if isinstance(command, StopChildren):
                    groups[command.group] = await self._records.group_state(
                        shard, execution_id, command.group)
            plan, soon, raw = self._planner.plan(
                shard, decision, current, now, loaded=record, child=begins, entry_id=entry_id,
                stream=stream, dispatch=dispatch, groups=groups, result_at=result_at)
            began = perf_counter()
            applied, _ = await self._records.commit(plan)
            self._timings.observe(TRANSITION_COMMIT, perf_counter() - began)
            if applied:
                self._stats.transitions += 1
                logged = self._logging.get((record["machine"], record["machine_version"]), OFF)
                if logged.level is not LogLevel.OFF:
                    self._log.committed(logged, record, decision, performed)
                if soon:
                    self._timer_set()
                if self._tracer is not None:
                    self._tracer.transition(machine, record, decision.execution,
                                            decision.history, current, now)
                ended = sync_stops(record, current, decision.history, decision.execution)
                if ended is not None and self._nested is not None:
                    await self._stop_sync(*ended)
                if not plan.taken:
                    return None
                taken_id, fields = plan.taken[0]
                return (shard, plan.taken_from, taken_id, fields[b"m"], True), (execution_id, raw)
            self._stats.counts["conflicts"] += 1
        log.warning("work item %s for %s kept losing its compare-and-set", entry_id, execution_id,
                    extra={"executionId": execution_id})
        return _LOST

    async def _stop_sync(self, execution_id: str, token: str | None) -> None:
        """Best effort, as AWS's: the transition is committed whatever happens here."""
        assert self._nested is not None
        try:
            await self._nested.stop_sync(execution_id, token)
        except UNAVAILABLE as exc:  # a child left running is no reason to redo the transition
            log.warning("could not stop the .sync children of %s: %s", execution_id, exc,
                        extra={"executionId": execution_id})

    async def _load(self, shard: Shard, execution_id: str, child: ChildLink | None, now: int,
                    first: bool) -> tuple[Execution | None, ChildLink | None, Reused | None]:
        """The record to advance, and the child link when the record is a lazy child's that
        the commit creates (built from the group's spec and the child's stored input), and
        then, in a redriven group, the output of the same child of the group before when it
        succeeded (it is not run again)."""
        if child is None:
            raw = await self._records.load(shard, execution_id)
            return (None if raw is None else unpack_record(raw)), None, None
        pid, group, index = child
        spec = self._specs.get((pid, group))
        found = await self._records.load_child(shard, execution_id, pid, group, index,
                                               first=first, spec=spec is None)
        if found.input is None:
            return (None if found.record is None else unpack_record(found.record)), None, None
        if spec is None:
            assert found.spec is not None
            if len(self._specs) >= SPEC_CACHE:
                self._specs.clear()
            spec = self._specs[(pid, group)] = cast(GroupSpec, loads(found.spec))
        child_input, item = loads(found.input)
        record = child_execution(spec["parent"], group, spec["kind"], spec["paths"], index,
                                 child_input, item if spec["items"] else MISSING, spec["vars"],
                                 spec["execution_input"], now, spec.get("map_run"))
        return record, child, await self._reused(shard, pid, spec.get("reuse"), index)

    async def _reused(self, shard: Shard, parent_id: str, group: str | None,
                      index: int) -> Reused | None:
        """The output of child ``index`` of ``group`` (a redriven Map/Parallel's group before
        the redrive) when it succeeded and its record is still kept."""
        if group is None:
            return None
        raw = await self._records.load(shard, f"{parent_id}/{group}/{index}")
        before = None if raw is None else unpack_record(raw)
        if before is None or before["status"] != Status.SUCCEEDED:
            return None
        return {"output": before["output"]}

    async def _machine(self, name: str, version: int) -> Machine | None:
        """A machine version, read and compiled once however many items ask at the same time."""
        key = (name, version)
        found = self._machines.get(key)
        if found is not None:
            return found
        loading = self._loading.get(key)
        if loading is None:
            loading = self._loading[key] = asyncio.ensure_future(self._compile(name, version))
        try:
            return await asyncio.shield(loading)
        finally:
            if loading.done():
                self._loading.pop(key, None)

    async def _compile(self, name: str, version: int) -> Machine | None:
        stored = await self._records.definition(name, version)
        if stored is None:
            return None
        self._logging[(name, version)] = LoggingConfiguration.stored(
            stored.get("loggingConfiguration"))
        found = self._machines[(name, version)] = compile_machine(stored["definition"])
        return found

    async def _with_outcomes(self, shard: Shard, record: Execution,
                             event: GroupTotal) -> ChildrenFinished:
        """The ``ChildrenFinished`` to deliver: with the outcomes read back by index (none
        when the record no longer waits for the group: the event is stale then), or failed
        as ``States.Runtime`` when an outcome is missing (lost, never to be counted as done)."""
        group = event["group"]
        if record["waiting"] != "children" or record["group"] != group:
            return {"type": "ChildrenFinished", "group": group}
        values = await self._records.outcomes(shard, record["id"], group, event["total"])
        found = [v for v in values if v is not None]
        if len(found) < len(values):
            lost = values.index(None)
            log.error("execution %s: group %s lost child %d's outcome", record["id"], group, lost,
                      extra={"executionId": record["id"]})
            return {"type": "ChildrenFinished", "group": group, "failed": {
                "index": lost, "status": "FAILED", "error": F.RUNTIME,
                "cause": F.LOST_OUTCOME, "threshold": False}}
        return {"type": "ChildrenFinished", "group": group, "outcomes": [loads(v) for v in found]}


def _result_at(event: Delivered, entry_id: bytes, dispatch: bool) -> float | None:
    """When the task result ``event`` was received (seconds since the epoch): now, for a
    task this worker just performed (``dispatch``); the ready stream entry's time (Redis'
    clock) for a callback's; None for any other event."""
    if dispatch:
        return time()
    if event.get("type") not in _RESULTS:
        return None
    ms = entry_id.partition(b"-")[0]
    return int(ms) / 1000 if ms.isdigit() else None


def _writes_results(machine: Machine, record: Execution, group: str) -> bool:
    """Whether ``record`` waits for ``group``, a Map Run whose ``ResultWriter`` exports its
    outcomes to S3 (then they stay in the store for the writer; see
    :meth:`.plan.Planner.plan`)."""
    name = record["state"]
    if (record["waiting"] != "children" or record["group"] != group or name is None
            or not is_run(group)):
        return False
    writer = machine.sub(record["path"]).states[name].result_writer
    return writer is not None and writer.resource is not None
