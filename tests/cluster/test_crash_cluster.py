"""THE crash test (tests/runtime/test_crash.py) on a real Redis Cluster: 200 executions of
the payment workflow (HTTP tasks deduplicated by Idempotency-Key, a Wait, a Map, a callback)
on two ``cli.py worker`` processes killed with ``kill -9`` six times; every execution
SUCCEEDED with the right output, each effect once under one key, every history gap-free."""

from __future__ import annotations

from typing import Any

import pytest

from tests.runtime.test_crash import Payments, run_and_kill


@pytest.mark.slow
async def test_kill_dash_nine_on_a_cluster_loses_and_repeats_nothing(
        redis_url: str, runtime: Any, redis: Any, serve_app: Any, gap_free: Any) -> None:
    async with runtime() as rt:
        assert rt.service.store.core.cluster  # the runtime runs on the cluster indeed
        await run_and_kill(rt, redis, redis_url, Payments(), serve_app, gap_free)
