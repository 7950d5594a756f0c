"""The runtime's one clock: milliseconds since the epoch, wall time unless made virtual.

The pure core never reads a clock (it is handed ``now``); every part of the runtime that
stamps or schedules reads this one: start dates, history, ``$$`` times, timers' due times,
redrive windows, the index sweep's cutoff.

``serve --time-skipping`` makes it virtual (:func:`go_virtual`): wall time plus an offset
that only grows, pushed forward by :mod:`statemachine.runtime.time_skipping` whenever no
work is in flight.  Without it the offset stays 0, and reading the clock costs one addition.
Infrastructure timing (leases, backoff, SigV4's skew check, the listeners' expiry) measures
real time and does not read this clock.
"""

from __future__ import annotations

import time

__all__ = ["go_virtual", "now_ms", "offset_ms", "virtual"]

_offset = 0
_virtual = False


def now_ms() -> int:
    return int(time.time() * 1000) + _offset


def virtual() -> bool:
    """Whether this process runs on a virtual clock (``serve --time-skipping``)."""
    return _virtual


def offset_ms() -> int:
    """How far the clock is ahead of wall time."""
    return _offset


def go_virtual(offset: int = 0) -> None:
    """Make the clock virtual, ``offset`` ms ahead of wall time; called again, move it
    forward (a restarted service resumes the offset it had; it never moves back)."""
    global _offset, _virtual
    _virtual = True
    _offset = max(_offset, offset)

