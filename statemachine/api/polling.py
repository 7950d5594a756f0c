"""The activity long poll both APIs serve (REST ``POST /v1/activities/{name}/poll``, AWS
``GetActivityTask``): up to a minute, over at once when the service shuts down, and no task
is taken for a poller that has left (it would wait, lost, for its timeout)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from statemachine.api.appkeys import SERVICE, SHUTDOWN

__all__ = ["MAX_POLL_SECONDS", "poll_activity"]

MAX_POLL_SECONDS = 60.0
"""The longest poll (AWS: 60 s; its clients read for 65 s or more)."""


async def poll_activity(request: web.Request, name: str, timeout: float,
                        worker: str | None) -> dict[str, Any] | None:
    """The next task of activity ``name`` (``{"taskToken", "input"}``), or None when none
    came in ``timeout`` seconds, the service shuts down, or the client went away."""
    def gone() -> bool:
        transport = request.transport
        return transport is None or transport.is_closing()

    poll = asyncio.ensure_future(
        request.app[SERVICE].poll_activity(name, timeout, worker, gone))
    shutdown = asyncio.ensure_future(request.app[SHUTDOWN].wait())
    try:
        await asyncio.wait((poll, shutdown), return_when=asyncio.FIRST_COMPLETED)
    finally:
        shutdown.cancel()
        if not poll.done():
            poll.cancel()
            await asyncio.wait((poll,))
    if poll.cancelled():
        return None
    task: dict[str, Any] | None = poll.result()
    return task
