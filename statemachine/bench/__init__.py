"""The benchmark behind ``cli.py bench``: workloads run through the real service path.

``harness``  a private redis-server, worker processes, the Redis round-trip probe, figures
``durable``  the workloads that go Service -> Redis -> workers -> history
``offline``  the in-memory interpreter and ``validate``, no Redis
``workloads/`` the shared definitions (copied from the peers' benchmark, same inputs)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

WORKLOADS_DIR = Path(__file__).resolve().parent / "workloads"


def load_workload(name: str) -> dict[str, Any]:
    """One shared workload file: ``{"name", "description", "definition", "input", ...}``."""
    data: dict[str, Any] = orjson.loads((WORKLOADS_DIR / f"{name}.json").read_bytes())
    return data
