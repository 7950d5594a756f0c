"""``serve --time-skipping``: the service on a virtual clock, for test environments.

The API and the in-process workers read one clock (:mod:`statemachine.runtime.clock`);
with the flag it is virtual, and :class:`~statemachine.runtime.time_skipping.TimeSkipper`
jumps it to the next due timer whenever no work is in flight: a three-day Wait or an
hours-long retry interval passes at once, while start dates, history, ``$$`` times and
redrive windows read as the virtual time.  EXPRESS executions (``StartSyncExecution``) skip
their own waits, as ``cli.py run --skip-time`` does.

Only for a service nobody else shares: the flag is refused (exit 2, one line) with a
Redis of one's own (``--redis-url``/``REDIS_URL``: other workers there run on wall time),
a ``--host`` other than loopback, ``--workers 0`` (the workers are what moves), an archive
(``--archive-url``) or replica acknowledgement (``--min-replicas-ack``).  The offset is
kept in the private Redis (``sm:clock``), so a restarted ``serve --time-skipping`` over the
same ``--data-dir`` resumes where the clock was; a ``serve`` without the flag or a
``cli.py worker`` refuses that Redis.  Retention is Redis' own key expiry, which counts
real time: a jump never deletes the history a test is about to read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from statemachine.runtime import clock

__all__ = ["WARNING", "add_argument", "prepare", "refusal", "start"]

WARNING = ("statemachine: WARNING: --time-skipping: this service runs on a VIRTUAL clock for "
           "tests: whenever no work is in flight, time jumps to the next timer (Wait states, "
           "retry intervals), and start dates and history show the virtual time")


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--time-skipping", action="store_true",
                        help="test environments: run on a virtual clock that jumps to the next "
                        "timer whenever no work is in flight (private Redis, loopback --host "
                        "only)")


def refusal(args: argparse.Namespace, settings: Any) -> str | None:
    """Why ``serve --time-skipping`` cannot run with these options, or None (also None
    without the flag)."""
    from statemachine.cli.access import is_loopback

    if not getattr(args, "time_skipping", False):
        return None
    why = None
    if args.redis_url:
        why = "with --redis-url (it runs on its private Redis only)"
    elif os.environ.get("REDIS_URL"):
        why = "with REDIS_URL set (it runs on its private Redis only)"
    elif not is_loopback(args.host):
        why = f"on --host {args.host} (loopback addresses only)"
    elif args.workers == 0:
        why = "with --workers 0 (its in-process workers are what moves the clock)"
    elif settings.archive_url:
        why = "with an archive (--archive-url or STATEMACHINE_ARCHIVE_URL)"
    elif settings.min_replicas_ack:
        why = "with replica acknowledgement (--min-replicas-ack or STATEMACHINE_MIN_REPLICAS_ACK)"
    return None if why is None else f"--time-skipping is for a private test service, not {why}"


async def prepare(store: Any, time_skipping: bool) -> str | None:
    """Set the clock as the Redis and the flag say, before anything is stamped: resume the
    stored offset with the flag (marking the Redis as a virtual clock's); without it, the
    reason to refuse a Redis a time-skipping service ran on, else None."""
    from statemachine.runtime.store.virtual_clock import save_offset, stored_offset

    offset = await stored_offset(store)
    if not time_skipping:
        if offset is None:
            return None
        return ("this Redis belongs to a 'serve --time-skipping' (its clock is virtual, "
                f"{offset // 1000}s ahead): start serve with --time-skipping, or use another "
                "--data-dir")
    clock.go_virtual(offset or 0)
    if offset is None:
        await save_offset(store, 0)
    return None


def start(store: Any) -> asyncio.Task[None]:
    """The skipper, running until cancelled."""
    from statemachine.runtime.time_skipping import TimeSkipper

    return asyncio.create_task(TimeSkipper(store).run(), name="time-skipping")
