"""The runtime's one clock: wall time in milliseconds since the epoch.

The pure core never reads a clock (it is handed ``now``); every part of the runtime that
stamps or schedules reads this one.
"""

from __future__ import annotations

import time


def now_ms() -> int:
    return int(time.time() * 1000)
