"""Run one execution in memory, in this process: the engine behind ``cli.py run``.

The same ``advance()`` core as the durable runtime, with an in-memory store:
records in a dict, a queue of events, timers in a heap (waits really happen),
tasks performed by the invokers.  Map and Parallel children are records of their
own, started under ``MaxConcurrency`` by :mod:`statemachine.interpreter.children`.
"""

from __future__ import annotations

import asyncio
import heapq
import secrets
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, assert_never, cast

from statemachine.interpreter import children as _children
from statemachine.interpreter import events as E
from statemachine.interpreter.children import history_owner, root_of
from statemachine.interpreter.commands import (
    CancelTimer,
    Command,
    Continue,
    ExtendChildren,
    Finish,
    InvokeTask,
    StartChildren,
    StartTimer,
    StopChildren,
)
from statemachine.interpreter.records import TERMINAL, Execution, HistoryEvent
from statemachine.interpreter.run_results import aborted, add_run, pending
from statemachine.interpreter.step import advance, new_child, new_execution
from statemachine.language.items import READ_ITEMS
from statemachine.language.model import Machine
from statemachine.runtime.clock import now_ms
from statemachine.runtime.redaction import Redactor

Invoke = Callable[[InvokeTask], Awaitable[dict[str, Any] | None]]
"""Perform a task: its ``TaskSucceeded``/``TaskFailed`` event (as the invokers make them),
or None when the result comes later, by callback."""



@dataclass
class _Group:
    command: StartChildren
    counters: dict[str, Any]
    outcomes: list[E.ChildOutcome | None]
    running: set[str] = field(default_factory=set)


@dataclass
class TaskRecord:
    """A task the run performed, and the ``TaskSucceeded``/``TaskFailed`` event it ended with
    (None: no answer before the run ended, e.g. a call still in flight when it timed out)."""

    command: InvokeTask
    result: dict[str, Any] | None = None


@dataclass
class LocalResult:
    execution: Execution
    history: list[HistoryEvent]
    transitions: int
    origins: list[str] = field(default_factory=list)
    """the id of the execution each history event came from: the root's, or a Map/Parallel
    child's ``<parent id>/<group>/<index>`` (their events interleave in ``history``)"""
    tasks: list[TaskRecord] = field(default_factory=list)
    """every task performed, in the order dispatched (what statemachine.testing reports)"""


class LocalRunner:
    """Drives one execution (and its children) to the end."""

    def __init__(
        self,
        machine: Machine,
        invoke: Invoke,
        *,
        name: str = "local",
        clock: Callable[[], int] = now_ms,
        virtual_time: bool = False,
        redactor: Redactor | None = None,
        express: bool = False,
        place: str | None = None,
    ) -> None:
        """``virtual_time``: when nothing is in flight, jump the clock to the next timer
        instead of sleeping (``cli.py run --skip-time``; without it waits are real).  A task
        being performed is in flight: while one is, time passes for real (its
        TimeoutSeconds and HeartbeatSeconds count real time, the other timers wait).  ``redactor``
        masks sensitive task headers in history (default: as the environment says, like
        the durable runtime).  ``express``: run it as an EXPRESS execution (its record id
        is a fresh UUID, the id of its ARN; the interpreter applies their 5-minute limit);
        ``place``: the record's ``place``."""
        self.machine = machine
        self._redactor = redactor or Redactor.from_env()
        self._wall = clock
        self._offset = 0
        self.virtual_time = virtual_time
        self.invoke = invoke
        self.name = name
        self.express = express
        self.place = place
        self.records: dict[str, Execution] = {}
        self.queue: deque[tuple[str, E.Event]] = deque()
        self.timers: list[tuple[int, int, str, str]] = []
        self.timer_events: dict[str, tuple[str, E.Event]] = {}
        self.groups: dict[tuple[str, str], _Group] = {}
        self.inflight: set[asyncio.Task[None]] = set()
        self.history: list[HistoryEvent] = []
        self.origins: list[str] = []
        self.run_histories: dict[str, list[HistoryEvent]] = {}
        """the histories of Distributed Maps' children (executions of their own), by id"""
        self.tasks: list[TaskRecord] = []
        self.transitions = 0
        self._timer_seq = 0

    async def run(self, input: Any, *, execution_name: str | None = None,
                  variables: dict[str, Any] | None = None) -> LocalResult:
        """Run to the end; ``variables``: the variables the execution starts with (TestState's)."""
        name = execution_name or str(uuid.uuid4())
        now = self.clock()
        root = new_execution(
            execution_id=str(uuid.uuid4()) if self.express else name, name=name,
            machine=self.name, machine_version=1, input=input, now=now,
            salt=secrets.token_hex(16), place=self.place, express=self.express,
        )
        if variables:
            root["vars"] = dict(variables)
        self.records[root["id"]] = root
        self.queue.append((root["id"], {"type": "Started"}))
        try:
            while self.records[root["id"]]["status"] not in TERMINAL:
                if self.queue:
                    self._process(*self.queue.popleft())
                    continue
                if self._fire_due_timers():
                    continue
                await self._wait_for_something()
        finally:
            for task in self.inflight:
                task.cancel()
        return LocalResult(self.records[root["id"]], self.history, self.transitions,
                           self.origins, self.tasks)

    def clock(self) -> int:
        return self._wall() + self._offset

    # -- the loop ---------------------------------------------------------------------------

    def _process(self, execution_id: str, event: E.Event) -> None:
        record = self.records.get(execution_id)
        if record is None:
            return
        decision = advance(self.machine, record, event, now=self.clock())
        self.records[execution_id] = decision.execution
        if decision.history:
            owner = history_owner(execution_id)
            own = owner != root_of(execution_id)  # a Map Run's child: a history of its own
            history = self.run_histories.setdefault(owner, []) if own else self.history
            base = len(history)
            for i, h in enumerate(self._redactor.history(decision.history)):
                merged = dict(h)
                merged["id"] = base + i + 1
                merged["previousEventId"] = base + i
                history.append(merged)
                if not own:
                    self.origins.append(execution_id)
            self.transitions += sum(1 for h in decision.history if h["type"].endswith("StateEntered"))
        for command in decision.commands:
            self._command(decision.execution, command)

    def _command(self, ex: Execution, command: Command) -> None:
        match command:
            case InvokeTask():
                record = TaskRecord(command)
                self.tasks.append(record)
                task = asyncio.ensure_future(self._invoke(ex["id"], record))
                self.inflight.add(task)
                task.add_done_callback(self.inflight.discard)
            case StartTimer(id=timer, due=due, event=event):
                self._timer_seq += 1
                self.timer_events[timer] = (ex["id"], event)
                heapq.heappush(self.timers, (due, self._timer_seq, timer, ex["id"]))
            case CancelTimer(id=timer):
                self.timer_events.pop(timer, None)
            case Continue():
                self.queue.append((ex["id"], {"type": "Continue"}))
            case StartChildren():
                self._start_children(ex, command)
            case StopChildren(group=name, error=error, cause=cause):
                group = self.groups.get((ex["id"], name))
                if group is not None:
                    group.counters["closed"] = 1
                    for child_id in list(group.running):
                        self.queue.append(
                            (child_id, {"type": "StopRequested", "error": error, "cause": cause})
                        )
            case Finish():
                self._child_finished(ex, command)
            case ExtendChildren():  # never: this runner reads every item at once (_invoke)
                raise AssertionError("a paged read in the in-memory runner")
            case _:
                assert_never(command)

    async def _invoke(self, execution_id: str, record: TaskRecord) -> None:
        command = record.command
        if command.resource == READ_ITEMS and isinstance(command.input, dict):
            # in memory, a Distributed Map's items are read at once, not a page at a time
            command = replace(command, input={k: v for k, v in command.input.items()
                                              if k != "Page"})
        try:
            result = await self.invoke(command)
        except Exception as exc:  # noqa: BLE001 -- an invoker bug must not hang the run
            result = {"type": "TaskFailed", "error": "States.Runtime", "cause": f"{type(exc).__name__}: {exc}"}
        if result is None:
            result = {
                "type": "TaskFailed",
                "error": "States.Runtime",
                "cause": f"The resource '{command.resource}' waits for a task token callback, "
                "which needs the service: run it with 'cli.py serve' and 'cli.py start'.",
            }
        record.result = result
        event = cast("E.TaskSucceeded | E.TaskFailed", {**result, "token": command.token})
        self.queue.append((execution_id, event))

    def _fire_due_timers(self) -> bool:
        now = self.clock()
        fired = False
        while self.timers and self.timers[0][0] <= now:
            _, _, timer_id, _ = heapq.heappop(self.timers)
            target = self.timer_events.pop(timer_id, None)
            if target is not None:
                self.queue.append(target)
                fired = True
        return fired

    async def _wait_for_something(self) -> None:
        while self.timers and self.timers[0][2] not in self.timer_events:
            heapq.heappop(self.timers)
        due = self.timers[0][0] if self.timers else None
        timeout = None if due is None else max(0.0, (due - self.clock()) / 1000)
        if self.inflight:
            await asyncio.wait(set(self.inflight), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        elif due is not None and self.virtual_time:
            self._offset += max(0, due - self.clock())  # exactly to the due time
        elif timeout is not None:
            await asyncio.sleep(timeout)
        else:
            raise RuntimeError("execution is waiting for nothing (engine bug)")

    # -- children ---------------------------------------------------------------------------

    def _start_children(self, parent: Execution, command: StartChildren) -> None:
        counters, first = _children.open_group(command)
        group = _Group(command, counters, [None] * counters["total"])
        self.groups[(parent["id"], command.group)] = group
        for index in first:
            self._start_child(parent, group, index)

    def _start_child(self, parent: Execution, group: _Group, index: int) -> None:
        child = new_child(parent, group.command, index, self.clock())
        self.records[child["id"]] = child
        group.running.add(child["id"])
        self.queue.append((child["id"], {"type": "Started"}))

    def _failed_run_outcomes(self, parent_id: str, group: _Group) -> list[E.ChildOutcome]:
        """Every child's outcome when a Map Run fails: those ended, those it stops (ABORTED)
        and those never begun (PENDING), by index."""
        now = self.clock()
        outcomes: list[E.ChildOutcome] = []
        for index, ended in enumerate(group.outcomes):
            child = self.records.get(f"{parent_id}/{group.command.group}/{index}")
            if ended is not None:
                outcomes.append(ended)
            elif child is not None:
                outcomes.append(aborted(child, now))
            else:
                outcomes.append(pending(group.command.inputs[index]))
        return outcomes

    def _child_finished(self, ex: Execution, command: Finish) -> None:
        link = ex.get("parent")
        if link is None:
            return
        key = (link["id"], link["group"])
        group = self.groups.get(key)
        if group is None:
            return
        group.running.discard(ex["id"])
        index = link["index"]
        outcome: E.ChildOutcome = {"status": command.status, "output": command.output,
                                   "error": command.error, "cause": command.cause,
                                   "events": command.events}
        if command.run is not None:  # a Distributed Map child: what its Map Run's results show
            add_run(outcome, command.run)
        group.outcomes[index] = outcome
        group.counters, start, verdict = _children.child_finished(group.counters, index, outcome)
        self.records.pop(ex["id"], None)
        parent = self.records[link["id"]]
        for i in start:
            self._start_child(parent, group, i)
        if verdict is None:
            return
        if "failed" in verdict:
            for child_id in list(group.running):
                self.queue.append((child_id, {"type": "StopRequested", "error": None, "cause": None}))
            failed: E.FailedChild = {**verdict["failed"], "events": outcome.get("events") or 0}
            event: E.ChildrenFinished = {"type": "ChildrenFinished", "group": link["group"], "failed": failed}
            map_run = group.command.map_run
            if map_run is not None and map_run.get("writes"):  # its results are written
                event["outcomes"] = self._failed_run_outcomes(link["id"], group)
        else:  # every child has ended: no outcome is missing
            outcomes = cast("list[E.ChildOutcome]", group.outcomes)
            event = {"type": "ChildrenFinished", "group": link["group"], "outcomes": outcomes}
        del self.groups[key]
        self.queue.append((link["id"], event))
