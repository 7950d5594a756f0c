"""Stopping ``serve`` and ``worker`` while they start: a container's ``docker stop`` then
ends them at once and cleanly, instead of by docker's SIGKILL ten seconds later.

The graceful handlers (``serve._stop_event``) are installed once the event loop runs; before
that, a process that is PID 1 in a container ignores a SIGTERM it has no handler for, and
after that, connecting waits up to 30 s for an absent Redis before anyone looks at the stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


def exit_at_once(signum: int, _frame: object) -> None:
    """A SIGTERM handler for the start-up, until the graceful one replaces it."""
    raise SystemExit(128 + signum)


async def unless_stopped(stop: asyncio.Event, starting: Awaitable[T]) -> T | None:
    """``starting``'s result, or None when ``stop`` is set first (a signal): the step is
    then cancelled, and the caller exits cleanly."""
    step = asyncio.ensure_future(starting)
    signalled = asyncio.ensure_future(stop.wait())
    await asyncio.wait({step, signalled}, return_when=asyncio.FIRST_COMPLETED)
    signalled.cancel()
    if step.done():
        return step.result()
    step.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await step
    print("statemachine: stopped while connecting to Redis", file=sys.stderr, flush=True)
    return None
