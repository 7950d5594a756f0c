"""Queues: which pool of workers takes a state machine's work (README "Worker pools").

A machine's queue is its ``statemachine:queue`` tag (:data:`~statemachine.language.queues.
QUEUE_TAG`): the REST define's ``queue`` field writes it, the AWS API's TagResource and
CreateStateMachine's tags may too; untagging it (or ``queue: "default"``) brings the
machine back to the default queue.  A start reads it (with the machine's head, at most once
a second per machine: :mod:`.heads`) into the new record, which keeps it: running executions stay on the
queue they started on.  Task states may name a queue of their own (``x-queue``).

For ``/metrics`` (:func:`queue_gauges`) every known queue's waiting work and live workers;
for describe (:meth:`Queues.describe`) an execution's queue, the ``x-queue`` of the Task it is
in, and whether any worker takes the queue its work waits on.
"""

from __future__ import annotations

from typing import Any

from statemachine.errors import InputError
from statemachine.interpreter.records import Execution, Status
from statemachine.language.queues import QUEUE_FIELD, QUEUE_TAG, lane_name, queue_problem
from statemachine.runtime.clock import now_ms
from statemachine.runtime.store import Store
from statemachine.runtime.store.pools import figures, live_workers, register
from statemachine.service.heads import Heads
from statemachine.service.resources import MAX_TAGS, too_many_tags

__all__ = ["Queues", "checked_queue", "queue_gauges", "tagged"]


def checked_queue(value: Any) -> str:
    """A queue name given to the API, or ``InvalidQueue``."""
    problem = queue_problem(value)
    if problem is not None:
        raise InputError(problem, "InvalidQueue")
    return str(value)


async def queue_gauges(store: Store) -> dict[str, Any]:
    """``/metrics``' gauges of every known queue (``Service.stats`` adds them): its work
    waiting or in hand and its live workers, so work that no worker takes shows as such:
    ``queue_work_current{queue}`` > 0 with ``queue_workers_current{queue}`` 0."""
    found = await figures(store.core, now_ms())
    return {
        "queue_work_current": {(("queue", f.queue),): f.work for f in found},
        "queue_workers_current": {(("queue", f.queue),): f.workers for f in found},
    }


async def tagged(store: Store, tags: dict[str, str]) -> None:
    """After a machine was tagged (AWS API, REST tags): a queue the tags name is known."""
    if QUEUE_TAG in tags:
        await register(store.core, [tags[QUEUE_TAG]])


class Queues:
    """Machines' queues and the pools' figures over one store (``service.queues``)."""

    def __init__(self, store: Store, heads: Heads) -> None:
        self._store = store
        self._heads = heads

    async def of(self, machine: str) -> str | None:
        """The queue ``machine``'s new executions go to (None: the default queue), read with
        its head (:mod:`.heads`: at most once a second per machine)."""
        return (await self._heads.of(machine)).queue

    async def assign(self, machine: str, queue: str) -> None:
        """Make ``queue`` (checked) the queue of ``machine``'s new executions."""
        if lane_name(queue) is None:
            await self._store.catalog.untag("m", machine, [QUEUE_TAG])
        elif await self._store.catalog.tag("m", machine, {QUEUE_TAG: queue}, MAX_TAGS) is None:
            raise too_many_tags()
        self._heads.forget(machine)
        await register(self._store.core, [queue])

    async def describe(self, record: Execution) -> dict[str, Any]:
        """What describe adds: the execution's queue when not the default one; while it
        runs in a Task state with an ``x-queue`` of its own, that ``taskQueue``; and while it
        runs, whether no live worker takes the queue its work waits on (the task's, else its
        own; never said of the default queue)."""
        queue = record.get("queue")
        shown: dict[str, Any] = {} if queue is None else {"queue": queue}
        if record["status"] != Status.RUNNING:
            return shown
        task_queue = await self._task_queue(record)
        if task_queue is not None:
            shown["taskQueue"] = task_queue
        waits_on = lane_name(task_queue if task_queue is not None else queue)
        if waits_on is not None:
            shown["waitingForWorker"] = await live_workers(self._store.core, waits_on) == 0
        return shown

    async def _task_queue(self, record: Execution) -> str | None:
        """The ``x-queue`` of the Task state the execution is in (None: none, or not in a
        Task), read from its machine version's definition (cached by the store: versions
        never change) at the execution's path (a Map or Parallel child's branch)."""
        state = record.get("state")
        if state is None:
            return None
        stored = await self._store.machines.version(record["machine"], record["machine_version"])
        node: Any = None if stored is None else stored.get("definition")
        for step in record.get("path") or ():
            node = _child(node, step)
        states = node.get("States") if isinstance(node, dict) else None
        found = states.get(state) if isinstance(states, dict) else None
        if not isinstance(found, dict) or found.get("Type") != "Task":
            return None
        named = found.get(QUEUE_FIELD)
        return named if isinstance(named, str) else None


def _child(node: Any, step: str | int) -> Any:
    """One step down a definition along an execution's path (None once off it)."""
    if isinstance(step, int):
        return node[step] if isinstance(node, list) and 0 <= step < len(node) else None
    return node.get(step) if isinstance(node, dict) else None
