"""Plain-text tables for the client commands' default output (``--json`` prints the API's
JSON instead): left-aligned columns, one row a line, long cells cut with ``…``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

__all__ = ["short", "table", "when"]

MAX_CELL = 60
"""Widest cell printed: a detail longer than this is cut (``--json`` has it whole)."""


def table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    """``rows`` under ``headers``, columns padded to their widest cell; ``empty`` for none."""
    if not rows:
        return f"({empty})"
    cells = [[short(cell) for cell in row] for row in rows]
    widths = [max(len(line[i]) for line in [headers, *cells]) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
             for line in [headers, *cells]]
    return "\n".join(lines)


def short(value: Any, width: int = MAX_CELL) -> str:
    """``value`` on one line (JSON for anything but a string), cut to ``width`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def when(value: Any) -> str:
    """A timestamp (milliseconds since the epoch, or ISO 8601 text) as ``YYYY-MM-DD HH:MM:SS``
    in UTC; anything else as it is."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value / 1000, UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        return "" if value is None else str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S")
