"""What a time-skipping service keeps in Redis: its clock's offset, and what it looks at
before skipping (``serve --time-skipping``; :mod:`statemachine.runtime.time_skipping`).

``sm:clock`` holds the offset (ms) of the virtual clock from wall time.  Its presence marks
the Redis as a time-skipping service's: a ``serve`` without the flag or a ``cli.py worker``
refuses to run on it (their wall clock would stamp history back in time), and a restarted
``serve --time-skipping`` resumes the offset, so history never goes backwards.
"""

from __future__ import annotations

from statemachine.interpreter.records import Status
from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.keys import PREFIX, VIRTUAL_CLOCK

__all__ = ["awaited_tasks", "save_offset", "stored_offset"]

SCAN_COUNT = 1_000
RECORDS = f"{PREFIX}:{{s*}}:x:*"
"""Every execution record hash (roots and Map/Parallel children) of every shard."""


async def stored_offset(store: RedisStore) -> int | None:
    """The stored offset, or None when this Redis has never run on a virtual clock."""
    raw = await store.retry(lambda: store.client.get(VIRTUAL_CLOCK))
    return None if raw is None else int(raw)


async def save_offset(store: RedisStore, offset: int) -> None:
    await store.retry(lambda: store.client.set(VIRTUAL_CLOCK, offset))


async def awaited_tasks(store: RedisStore) -> int:
    """How many running executions wait for a task's result (a callback, an activity, a
    task being performed): their record's ``token`` field is set.

    A scan over every record: a time-skipping service is a test environment with few of
    them, and it looks only when nothing else is in flight (the scan would slow a
    production service's Redis; nothing else calls this).
    """
    async def count() -> int:
        keys = [key async for key in store.client.scan_iter(match=RECORDS, count=SCAN_COUNT,
                                                              _type="HASH")]
        pipe = store.client.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(key, "status", "token")
        rows = await pipe.execute() if keys else []
        return sum(1 for status, token in rows
                   if status == Status.RUNNING.encode() and token)

    return await store.retry(count)
