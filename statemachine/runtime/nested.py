"""Starting nested executions over the store: the :class:`~.invokers.nested.Starter` the
workers (and the API's in-process runs) give their invokers.

A child is a real execution of the named machine (its latest revision, or the published
version or alias its ARN names), started like a StartExecution through the API, whose record
names its parent (``started_by``: the parent's id, the task's token, how the task waits).
Its start is idempotent: the same name and input give back the same execution, so a dispatch
delivered again after a crash finds the child it started (its ``started_by`` token is this
task's) instead of starting a second one.  The parent's index of its children
(:class:`~.store.nested.NestedLinks`) lets a stop reach its ``.sync`` children and describe
list them.

A ``.sync`` child is also stopped (best effort, after the parent's commit) when the task
waiting for it times out (its ``TimeoutSeconds`` or ``HeartbeatSeconds``) or the parent
execution times out: :func:`sync_stops` reads that from a transition, :meth:`StoreStarter.
stop_sync` finds the children (a stop through the API stops them in the service facade).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import orjson

from statemachine.interpreter.children import root_of
from statemachine.interpreter.events import Event, TaskSubmitted
from statemachine.interpreter.records import Execution, HistoryEvent, StartedBy, Status
from statemachine.interpreter.step import new_execution
from statemachine.language.arns import InvalidArn, MachineArn, name_problem, parse
from statemachine.runtime.clock import now_ms
from statemachine.runtime.invokers.nested import NestedStart, NestedStarted, Pattern, StartRefused
from statemachine.runtime.settings import Settings
from statemachine.runtime.store.callbacks import Callbacks
from statemachine.runtime.store.catalog import Catalog
from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.executions import Executions
from statemachine.runtime.store.nested import NestedLinks
from statemachine.runtime.store.scripts import StartReply

__all__ = ["StoreStarter", "sync_stops"]

_SYNC = (Pattern.SYNC, Pattern.SYNC2)


def sync_stops(before: Execution, event: Event, history: list[HistoryEvent],
               after: Execution) -> tuple[str, str | None] | None:
    """Whose ``.sync`` children a committed transition ends: ``(execution id, task token)``
    for a ``.sync`` task that timed out, ``(execution id, None)`` for all of a top-level
    execution that timed out; None when it ends none."""
    if after["status"] == Status.TIMED_OUT and before["status"] == Status.RUNNING \
            and "/" not in before["id"]:
        return before["id"], None
    timer = event.get("timer") if event["type"] == "TimerFired" else None
    if not isinstance(timer, str):
        return None
    for marker in (":timeout:", ":heartbeat:"):
        _, found, token = timer.rpartition(marker)
        if found and any(_sync_timed_out(e) for e in history):
            return before["id"], token
    return None


def _sync_timed_out(event: HistoryEvent) -> bool:
    details = event.get("taskTimedOutEventDetails")
    return (event["type"] == "TaskTimedOut" and isinstance(details, dict)
            and details.get("resourceType") == "states"
            and str(details.get("resource", "")).startswith("startExecution.sync"))


def _missing(arn: str) -> StartRefused:
    return StartRefused("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")


class StoreStarter:
    """Starts nested executions in this service's store."""

    def __init__(self, store: RedisStore, settings: Settings) -> None:
        self._settings = settings
        self._executions = Executions(store)
        self._catalog = Catalog(store)
        self.links = NestedLinks(store)
        self._callbacks = Callbacks(store)

    def close(self) -> None:
        self._executions.close()

    async def start_child(self, start: NestedStart) -> NestedStarted:
        s = self._settings
        machine = self._machine(start.machine_arn)
        problem = name_problem(start.name)
        if problem is not None:
            raise StartRefused("InvalidName", f"Invalid Name: execution name {problem}")
        data = orjson.dumps(start.input, option=orjson.OPT_SORT_KEYS)
        if len(data) > s.max_input_bytes:
            raise StartRefused("InvalidExecutionInput", f"The input is {len(data)} bytes, over "
                               f"the limit of {s.max_input_bytes} bytes")
        head = await self._catalog.head(machine.name)
        if head.latest is None:
            raise _missing(start.machine_arn)
        express = head.type == "EXPRESS"
        execution_id, _ = self._executions.new_id(machine.name, start.name)
        now = now_ms()
        record = new_execution(execution_id=execution_id, name=start.name, machine=machine.name,
                               machine_version=0, input=orjson.loads(data), now=now,
                               salt=secrets.token_hex(16), place=s.record_place, express=express)
        link: StartedBy = {"id": start.parent, "token": start.token, "pattern": str(start.pattern)}
        record["started_by"] = link
        if head.queue is not None:  # its own machine's queue, not its parent's
            record["queue"] = head.queue
        if start.trace is not None and s.tracing is not None:  # its spans: under the task's
            record["trace"] = start.trace
        revision = await self._revision(machine, start, record)
        started = await self._executions.start(record, hashlib.sha256(data).hexdigest(),
                                                unnamed=False, revision=revision)
        arn = s.place.execution(machine.name, start.name,
                                express_id=execution_id if express else None)
        match started.reply:
            case StartReply.CREATED:
                await self.links.add(start.parent, execution_id, start.pattern)
                return NestedStarted(arn, now)
            case StartReply.EXISTS:
                return await self._existing(started.execution_id, start, arn)
            case StartReply.OTHER_INPUT | StartReply.NAME_TAKEN:
                raise StartRefused("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
            case StartReply.NO_VERSION:
                raise _missing(start.machine_arn)

    async def submitted(self, start: NestedStart, output: dict[str, Any]) -> None:
        """``TaskSubmitted`` for the parent's waiting task (not consuming it; a task closed
        meanwhile, by a child that already ended, takes nothing)."""
        event: TaskSubmitted = {"type": "TaskSubmitted", "token": start.token, "output": output}
        await self._callbacks.callback(start.parent, start.token, dict(event), False)

    async def stop_sync(self, parent_id: str, token: str | None) -> None:
        """Stop the running ``.sync`` children of ``parent_id``'s task ``token`` (None: all
        of them), as an ordinary stop (ABORTED)."""
        for child_id, pattern in (await self.links.children(root_of(parent_id))).items():
            if pattern not in _SYNC:
                continue
            child = await self._executions.load(child_id)
            link = child.get("started_by") if child is not None else None
            if child is None or link is None or child["status"] != Status.RUNNING:
                continue
            if link["id"] == parent_id and (token is None or link["token"] == token):
                await self._executions.stop(child_id, None, None)

    def _machine(self, arn: str) -> MachineArn:
        try:
            parsed = parse(arn)
        except InvalidArn as bad:
            raise StartRefused("InvalidArn", str(bad)) from None
        if not isinstance(parsed, MachineArn):
            raise StartRefused("InvalidArn", f"Invalid Arn: '{arn}' is no state machine ARN")
        if parsed.place != self._settings.place:  # another account's or region's: not here
            raise _missing(arn)
        return parsed

    async def _revision(self, machine: MachineArn, start: NestedStart,
                        record: Any) -> int | None:
        """The revision a version or alias ARN runs (None: the latest), noted on ``record``
        as a start through the API notes it.  An alias's version is picked by weight from
        ``start.seed``, so a dispatch delivered again picks the same."""
        version = machine.version
        if machine.alias is not None:
            entry = await self._catalog.alias(machine.name, machine.alias)
            if entry is None:
                raise _missing(start.machine_arn)
            routes = entry["routing"]
            point = int(hashlib.sha256(start.seed.encode()).hexdigest()[:8], 16) / 0x100000000
            total = sum(r["weight"] for r in routes) or 1
            for route in routes:
                version = route["version"]
                point -= route["weight"] / total
                if point < 0:
                    break
            record["alias"] = machine.alias
        if version is None:
            return None
        published = await self._catalog.version(machine.name, version)
        if published is None:
            raise _missing(start.machine_arn)
        record["published_version"] = version
        return int(published["revision"])

    async def _existing(self, execution_id: str, start: NestedStart, arn: str) -> NestedStarted:
        """The name exists with this input: this task's own child (a dispatch delivered
        again), or, as StartExecution allows, a running execution a request may share."""
        existing = await self._executions.load(execution_id)
        if existing is None:
            raise StartRefused("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        link = existing.get("started_by")
        ours = link is not None and link["token"] == start.token
        shared = start.pattern == Pattern.REQUEST and existing["status"] == Status.RUNNING
        if not (ours or shared):
            raise StartRefused("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        if ours:
            await self.links.add(start.parent, execution_id, start.pattern)
        return NestedStarted(arn, existing["start"], created=False)
