"""Background loops tell Redis being away (waited out, one log line per outage) from bugs
(logged with their traceback and counted: ``worker_errors_total`` in ``/metrics``)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from redis import exceptions as rexc

from statemachine.runtime.store import RedisStore
from statemachine.runtime.worker.housekeeping import Housekeeping
from statemachine.runtime.worker.loops import Guard, Stats
from statemachine.service import Service


async def test_an_outage_is_one_line_and_a_bug_is_a_traceback_and_a_count(
        settings: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("statemachine.runtime.worker.loops.ERROR_PAUSE_S", 0.0)
    conf = settings()
    store = await RedisStore.connect(conf)
    service = await Service.connect(conf.redis_url, settings=conf)
    stats = Stats()
    guard = Guard(store, stats)
    caplog.set_level(logging.INFO)

    async def unreachable() -> None:
        raise rexc.ConnectionError("connection refused")

    async def bug() -> None:
        raise KeyError("nope")

    async def fine() -> None:
        return None

    try:
        assert [await guard.round("reading", unreachable) for _ in range(3)] == [False] * 3
        assert await guard.round("reading", fine)
        assert await guard.round("sweeping", bug) is False
        lines = [(r.name, r.getMessage(), r.exc_info is not None) for r in caplog.records]
        assert lines == [
            ("statemachine.runtime.store.client",
             "Redis is unreachable (ConnectionError: connection refused); waiting for it", False),
            ("statemachine.runtime.store.client", "Redis is reachable again", False),
            ("statemachine.runtime.worker", "sweeping failed; going on", True),
        ]
        assert stats.counts["loop_errors"] == 1
        housekeeping = Housekeeping(store, conf, "me", stats, guard, [])
        await housekeeping.flush()
        assert (await service.stats())["worker_errors_total"] == 1
    finally:
        await service.close()
        await store.close()
