"""The dispatcher: task dispatches in, tasks performed, their results applied right here.

Hands (``invoke_concurrency`` of them) take dispatches from the tasks inbox (the outbox of
every shard) and perform each with :class:`~statemachine.runtime.invokers.Invokers`.  A
result is applied at once (:meth:`Transitions.apply`), the transition it causes committed
together with the dispatch's ack: no hop through the ready stream, and a crash in between
delivers the dispatch again, with the same ``Idempotency-Key``.  A callback task (its
result comes later, through the API) is just acknowledged.  A dispatch taken over from
another worker, or requeued, is checked first: one whose execution no longer waits for its
token (stopped, timed out) is dropped unperformed.  At most a few dispatches per destination
are performed at once (:mod:`.destinations`): the others wait parked, without holding a hand.
A dispatch of an execution that runs a mock config's test case is answered from the config
when the case mocks its state (:mod:`statemachine.runtime.mocking`), per attempt, without an
invoker: no request, no message, no callback wait.
"""

from __future__ import annotations

import asyncio
from time import perf_counter, time
from typing import Any, cast

from statemachine.interpreter.commands import invoke_task
from statemachine.interpreter.events import TaskFailed, TaskSucceeded
from statemachine.language.mocks import MockConfig
from statemachine.runtime.execution_lines import Performed
from statemachine.runtime.invokers import Invokers
from statemachine.runtime.invokers.base import TaskResult
from statemachine.runtime.mocking import answer
from statemachine.runtime.store import Callbacks, Records
from statemachine.runtime.store.codec import read_dispatch, read_parent_notice
from statemachine.runtime.timings import (
    NEXT_DISPATCH_DELAY,
    NO_HOST,
    TASK_DURATION,
    callback_waited,
)
from statemachine.runtime.worker.consumer import Cached, Follow, Inbox, Item
from statemachine.runtime.worker.destinations import DestinationGate
from statemachine.runtime.worker.housekeeping import Housekeeping
from statemachine.runtime.worker.loops import Stats
from statemachine.runtime.worker.transitions import Transitions

__all__ = ["Dispatcher"]


def task_result(event: TaskResult) -> str:
    """A performed task's result as ``sm:stats`` (``tasks:<result>``) and the task duration
    histogram name it."""
    if event is None:
        return "sent"  # a callback task: the result comes later
    if event["type"] == "TaskSucceeded":
        return "succeeded"
    return "timed_out" if event.get("error") == "States.Timeout" else "failed"


class Dispatcher:
    """Performs task dispatches and applies their results."""

    def __init__(self, records: Records, inbox: Inbox, transitions: Transitions,
                 invokers: Invokers, stats: Stats, housekeeping: Housekeeping,
                 gate: DestinationGate, callbacks: Callbacks,
                 mock_config: MockConfig | None = None) -> None:
        self._records = records
        self._callbacks = callbacks
        self._mock_config = mock_config
        self._inbox = inbox
        self._transitions = transitions
        self.invokers = invokers
        self._stats = stats
        self._timings = stats.timings
        self._housekeeping = housekeeping
        self._gate = gate

    async def run(self) -> None:
        """The hands: dispatches until the inbox ends."""
        inbox = self._inbox
        await asyncio.gather(*(inbox.serve(self.dispatch, self._housekeeping.dead_letter)
                               for _ in range(inbox.capacity)))

    async def close(self) -> None:
        await self.invokers.close()

    async def dispatch(self, item: Item, cached: Cached | None = None) -> Follow | None:
        """Perform one task and apply its result, the dispatch acknowledged by the commit."""
        shard, stream, entry_id, message, fresh = item
        notice = read_parent_notice(message)
        if notice is not None:
            parent, report = notice
            closed = await self._callbacks.callback(parent, str(report["token"]), report, True)
            callback_waited(self._timings, closed.issued, report["type"])
            await self._inbox.streams.ack(stream, entry_id)
            return None
        stored = read_dispatch(message)
        xid, token = stored.execution, stored.token
        command = invoke_task(stored.command)
        if stored.mock is not None:
            mocked = answer(self._mock_config, stored.mock, command)
            if mocked is not None:
                return await self._mocked(item, xid, token, mocked, cached, stored.queue)
        destination = self.invokers.destination(command)
        if not self._gate.enter(destination, item, cached):
            self._inbox.park(item)  # its destination is at its cap: wait without a hand
            return None
        try:
            if fresh or await self._records.awaits(shard, xid, token):
                if stored.after is not None:
                    self._timings.observe(NEXT_DISPATCH_DELAY, time() - stored.after)
                began = perf_counter()
                event = await self.invokers.invoke(command)
                took = perf_counter() - began
                outcome = task_result(event)
                self._timings.observe(TASK_DURATION, took, (destination or NO_HOST, outcome))
                self._stats.counts[f"tasks:{outcome}"] += 1
                if event is not None:
                    result = cast("TaskSucceeded | TaskFailed", {**event, "token": token})
                    performed = Performed(destination, took * 1000, command.attempt + 1)
                    return await self._transitions.apply(shard, stream, xid, result, None,
                                                         entry_id, dispatch=True, cached=cached,
                                                         queue=stored.queue, performed=performed)
            # a callback task (its result comes later), or an execution that moved on
            await self._inbox.streams.ack(stream, entry_id)
            return None
        finally:
            parked = self._gate.leave(destination)
            if parked is not None:
                self._inbox.resume(*parked)

    async def _mocked(self, item: Item, xid: str, token: str, event: dict[str, Any],
                      cached: Cached | None, queue: str | None) -> Follow | None:
        """Apply a mocked result as a performed task's (no invoker, no destination slot; not
        counted among the tasks performed)."""
        shard, stream, entry_id, _, fresh = item
        if fresh or await self._records.awaits(shard, xid, token):
            result = cast("TaskSucceeded | TaskFailed", {**event, "token": token})
            return await self._transitions.apply(shard, stream, xid, result, None, entry_id,
                                                 dispatch=True, cached=cached, queue=queue)
        await self._inbox.streams.ack(stream, entry_id)
        return None
