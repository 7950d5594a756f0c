"""Task callbacks (SendTaskSuccess & co.) and activities, as the service needs them.

A callback is one ``callback.lua`` call on the execution's shard: the event is enqueued
only while the record waits for that very token.  An activity's tasks wait in one list
per shard (``sm:T:act:<name>``); a poller takes from the shards in random order and skips
tasks whose execution no longer waits for them.
"""

from __future__ import annotations

import random
from functools import partial
from typing import Any, NamedTuple

from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.codec import (
    ActivityTask,
    awaits_token,
    dumps,
    loads,
    read_activity_task,
    work_item,
)
from statemachine.runtime.store.keys import ACTIVITIES, Shard
from statemachine.runtime.store.machines import WAIT_S
from statemachine.runtime.store.scripts import CallbackReply

__all__ = ["Activities", "Answer", "Callbacks"]


class Answer(NamedTuple):
    """``callback.lua``'s answer: its reply code, and when the token was issued (ms; None
    unless ENQUEUED, and for a token stored without the time: a request task's, or one
    issued before the field existed)."""

    reply: CallbackReply
    issued: int | None


class Callbacks:
    def __init__(self, store: RedisStore) -> None:
        self._store = store

    async def callback(self, execution_id: str, token: str, event: dict[str, Any],
                       consume: bool) -> Answer:
        """Deliver ``event`` (a task result or heartbeat) if the execution waits for
        ``token``; ``consume`` closes the task (success, failure) so no second one counts.
        One script call for an execution of the default queue; another one's answers with
        its queue first (OTHER_QUEUE), and the event goes to that queue's stream."""
        shard = self._store.shard(execution_id)
        message = work_item(execution_id, event)
        queue = ""
        for _ in range(2):  # a record's queue never changes: the second call is the last
            keys = [shard.record(execution_id), shard.lane(queue or None).ready]
            args = [token, message, "1" if consume else "0", queue]
            reply = await self._store.retry(partial(self._store.script, "callback", keys, args),
                                            give_up_s=WAIT_S)
            code = CallbackReply(reply[0])
            if code is not CallbackReply.OTHER_QUEUE:
                return Answer(code, (int(reply[1]) or None)
                              if code is CallbackReply.ENQUEUED else None)
            queue = reply[1].decode()
        raise AssertionError(f"callback.lua named two queues for {execution_id}")


class Activities:
    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._client = store.client

    async def create(self, name: str, entry: dict[str, Any]) -> dict[str, Any]:
        """Store ``entry`` as activity ``name`` unless it exists; returns the stored one."""
        await self._store.retry(lambda: self._store.write("HSETNX", ACTIVITIES, name, dumps(entry)),
                                give_up_s=WAIT_S)
        return await self.get(name) or entry

    async def get(self, name: str) -> dict[str, Any] | None:
        raw = await self._store.retry(lambda: self._client.hget(ACTIVITIES, name), give_up_s=WAIT_S)
        return None if raw is None else loads(raw)

    async def delete(self, name: str) -> None:
        """Forget activity ``name`` (tasks already queued for it stay until taken or closed)."""
        await self._store.retry(lambda: self._store.write("HDEL", ACTIVITIES, name),
                                give_up_s=WAIT_S)

    async def page(self, after: str | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` activities by name after ``after``, and whether more follow.

        Activities are few (AWS allows 10,000 per account): one HGETALL, sorted here."""
        stored = await self._store.retry(lambda: self._client.hgetall(ACTIVITIES),
                                         give_up_s=WAIT_S)
        names = sorted(key.decode() for key in stored)
        if after is not None:
            names = [name for name in names if name > after]
        return [loads(stored[name.encode()]) for name in names[:limit]], len(names) > limit

    async def take(self, name: str) -> ActivityTask | None:
        """One task of activity ``name`` that its execution still waits for, from any shard
        (tried in random order, so pollers spread over them), or None."""
        shards = list(self._store.shards)
        random.shuffle(shards)
        for shard in shards:
            task = await self._take(shard, name)
            if task is not None:
                return task
        return None

    async def _take(self, shard: Shard, name: str) -> ActivityTask | None:
        client = self._client
        while True:
            raw = await self._store.retry(lambda: client.lpop(shard.activity(name)),
                                          give_up_s=WAIT_S)
            if raw is None:
                return None
            task = read_activity_task(raw)
            status, token = await self._store.retry(
                partial(client.hmget, shard.record(task.execution), ["status", "token"]),
                give_up_s=WAIT_S)
            if awaits_token(status, token, task.token):
                return task
