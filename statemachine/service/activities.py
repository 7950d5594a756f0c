"""Activities: named queues of tasks that workers poll for (``GetActivityTask``).

A Task state whose ``Resource`` is an activity ARN hands its input to the activity's queue
(see :mod:`statemachine.runtime.store.callbacks`); a worker takes it with :meth:`poll`
and answers with the task token through ``SendTaskSuccess`` & co.  Creating an activity is
idempotent by name as on AWS (a repeat with other tags returns the first one unchanged).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from statemachine.errors import InputError, NotFound
from statemachine.interpreter.events import TaskTaken
from statemachine.interpreter.formats import iso
from statemachine.runtime.clock import now_ms
from statemachine.runtime.store import Store
from statemachine.service.definitions import check_name
from statemachine.service.resources import MAX_TAGS, tag_map

__all__ = ["ACTIVITIES_CURSOR", "ActivityBook"]

ACTIVITIES_CURSOR = re.compile(r"[^\x00-\x20\x7f-\xa0]{1,80}")
"""A listing's cursor: the name of the last activity of the page before (no blank or control
character; a class that reads the same in Python and in the OpenAPI document's ECMA
regexes, whose whitespace class differs from Python's)."""


def _not_found(name: str) -> NotFound:
    return NotFound(f"Activity Does Not Exist: '{name}'", "ActivityDoesNotExist")


class ActivityBook:
    """Create, describe, delete, list and poll activities."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._place = store.settings.place

    async def create(self, name: str, tags: Any = None) -> dict[str, Any]:
        """Create (or return) the activity ``name``: ``{"name", "activityArn", "createdAt"}``.
        ``tags`` (AWS's ``[{"key", "value"}]``) are kept with the catalog's (TagResource &
        co.) when the activity is new; a repeat leaves them as they are, as on AWS."""
        check_name(name, "activity name")
        given = tag_map(tags)
        entry: dict[str, Any] = {"name": name, "activityArn": self._place.activity(name),
                                 "createdAt": iso(now_ms())}
        stored = await self._store.activities.create(name, entry)
        if given and stored == entry:
            await self._store.catalog.tag("a", name, given, MAX_TAGS)
        return stored

    async def describe(self, name: str) -> dict[str, Any]:
        found = await self._store.activities.get(name)
        if found is None:
            raise _not_found(name)
        return found

    async def delete(self, name: str) -> None:
        """Delete activity ``name`` and its tags (deleting one that does not exist is no
        error, as on AWS)."""
        await self._store.activities.delete(name)
        await self._store.catalog.forget_tags("a", name)

    async def list(self, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """Activities by name; ``nextCursor`` continues after the last one."""
        limit = max(1, min(int(limit), 1000))
        if cursor is not None and ACTIVITIES_CURSOR.fullmatch(cursor) is None:
            raise InputError("malformed cursor", "InvalidCursor")
        page, more = await self._store.activities.page(cursor, limit)
        return {"activities": page, "nextCursor": page[-1]["name"] if more and page else None}

    async def poll(self, name: str, timeout: float = 60.0, worker: str | None = None,
                   gone: Callable[[], bool] | None = None) -> dict[str, Any] | None:
        """The next task of activity ``name`` as ``{"taskToken", "input"}``, or None on timeout
        or once ``gone()`` says the poller left (a task taken for it would be lost until it
        timed out).

        The execution hears that the task was taken (by ``worker``), before the worker can
        answer it: its ``ActivityStarted`` event."""
        if await self._store.activities.get(name) is None:
            raise _not_found(name)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        delay = 0.02
        while True:
            if gone is not None and gone():
                return None
            task = await self._store.activities.take(name)
            if task is not None:
                taken: TaskTaken = {"type": "TaskTaken", "token": task.token, "worker": worker}
                # a task closed since it was taken (NOT_AWAITED) is the worker's to find out
                await self._store.callbacks.callback(task.execution, task.token,
                                                     dict(taken), False)
                return {"taskToken": task.token, "input": task.input}
            left = deadline - loop.time()
            if left <= 0:
                return None
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, 0.5)
