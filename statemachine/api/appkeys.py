"""The values the application holds for its handlers (both APIs read them)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from statemachine.api.metrics import Metrics

__all__ = ["METRICS", "SERVICE", "SHUTDOWN", "WORKERS"]

SERVICE: web.AppKey[Any] = web.AppKey("service", object)
"""The connected :class:`statemachine.service.Service`."""
METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)
SHUTDOWN: web.AppKey[asyncio.Event] = web.AppKey("shutdown", asyncio.Event)
"""Set when the application shuts down: long polls end at once."""
WORKERS: web.AppKey[tuple[Any, ...]] = web.AppKey("workers", tuple)
"""The in-process workers (``cli.py serve``), whose transitions ``/metrics`` counts."""
