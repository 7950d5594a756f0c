"""commit.lua's CHILD op applies exactly the policy of interpreter/children.py.

The same scenarios (MaxConcurrency, tolerated count and percentage, Parallel's
any-failure, outcomes arriving after the verdict) run through the pure functions and
through the script on a real Redis; after every child's end the counters, the children
started next, the siblings stopped and the verdict must be identical.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from statemachine.interpreter import children
from statemachine.interpreter.commands import StartChildren
from statemachine.runtime.store import Plan, Records, RedisStore
from statemachine.runtime.store import keys as K
from statemachine.runtime.store.codec import loads

PARENT, GROUP = "root-1/4/2", "7"

# (kind, total, max_concurrency, tolerated_count, tolerated_percentage, failing indexes, seed)
SCENARIOS = [
    ("map", 7, 2, None, None, set(), 1),
    ("map", 6, 0, None, None, {3}, 2),
    ("map", 10, 3, 2, None, {1, 4, 8}, 3),
    ("map", 10, 3, 2, None, {1, 4}, 4),
    ("map", 10, 4, None, 25.0, {0, 2, 5}, 5),
    ("map", 10, 4, None, 30.0, {0, 2, 5}, 6),
    ("map", 8, 0, 1, 12.5, {6, 7}, 7),
    ("map", 5, 1, 5, None, {0, 1, 2, 3, 4}, 8),
    ("parallel", 4, 0, None, None, {2}, 9),
    ("parallel", 3, 0, None, None, set(), 10),
    ("map", 1, 40, None, None, set(), 11),
]


def outcome(index: int, failing: set[int]) -> dict[str, Any]:
    if index in failing:
        return {"status": "FAILED", "output": None, "error": f"E{index}", "cause": 'bad "input"'}
    return {"status": "SUCCEEDED", "output": {"i": index}, "error": None, "cause": None}


def expected_event(verdict: dict[str, Any] | None, total: int) -> dict[str, Any] | None:
    """The ChildrenFinished the worker owes the parent for a verdict of children.py."""
    if verdict is None:
        return None
    if "failed" in verdict:
        return {"type": "ChildrenFinished", "group": GROUP, "failed": verdict["failed"]}
    return {"type": "ChildrenFinished", "group": GROUP, "total": total}


async def stored_counters(client: Any, shard: K.Shard) -> dict[str, Any]:
    raw = {k.decode(): v.decode() for k, v in (await client.hgetall(shard.group(PARENT, GROUP))).items()}

    def number(text: str) -> int | float | None:
        return None if text == "" else (float(text) if "." in text else int(text))

    counters: dict[str, Any] = {k: int(raw[k]) for k in ("total", "limit", "next", "running", "done",
                                                         "failed", "closed")}
    counters.update(kind=raw["kind"], tolerated_count=number(raw["tc"]),
                    tolerated_percentage=number(raw["tp"]))
    return counters


async def enqueued(client: Any, shard: K.Shard, after: bytes) -> tuple[list[Any], bytes]:
    """Work items added to the ready stream after ``after``: (messages, last id)."""
    entries = await client.xrange(shard.ready, b"(" + after, "+")
    return [loads(fields[b"m"]) for _, fields in entries], entries[-1][0] if entries else after


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s[0]}{s[1]}-mc{s[2]}-tc{s[3]}-tp{s[4]}")
async def test_script_and_core_agree(settings: Any, scenario: tuple[Any, ...]) -> None:
    kind, total, limit, count, pct, failing, seed = scenario
    store = await RedisStore.connect(settings())
    client, shard = store.client, store.shard(PARENT)
    records = Records(store)
    try:
        command = StartChildren(group=GROUP, kind=kind, paths=[[]], inputs=[None] * total,
                                items=None, max_concurrency=limit, tolerated_count=count,
                                tolerated_percentage=pct, vars={}, execution_input=False)
        counters, first = children.open_group(command)
        opening = Plan(shard)
        opening.open_group(PARENT, GROUP, counters, b"{}", {}, first, 1000)
        assert await records.commit(opening) == (True, 0)
        messages, last = await enqueued(client, shard, b"0-0")
        assert [m["g"] for m in messages] == [[PARENT, GROUP, i] for i in first]
        assert all(m["x"] == f"{PARENT}/{GROUP}/{m['g'][2]}" and m["e"] == {"type": "Started"}
                   for m in messages)
        assert await stored_counters(client, shard) == counters

        running, rng, verdicts = list(first), random.Random(seed), 0
        while running:
            index = running.pop(rng.randrange(len(running)))
            result = outcome(index, failing)
            counters, start, verdict = children.child_finished(counters, index, result)
            end = Plan(shard)
            end.child_finished(PARENT, GROUP, index, result)
            assert await records.commit(end) == (True, 0)

            messages, last = await enqueued(client, shard, last)
            started = [m["g"][2] for m in messages if m["e"]["type"] == "Started"]
            stopped = [m["x"] for m in messages if m["e"]["type"] == "StopRequested"]
            finished = [m["e"] for m in messages if m["e"]["type"] == "ChildrenFinished"]
            assert await stored_counters(client, shard) == counters
            assert started == start
            assert finished == [e for e in [expected_event(verdict, total)] if e is not None]
            assert all(m["x"] == PARENT for m in messages if m["e"]["type"] == "ChildrenFinished")
            if verdict is not None and "failed" in verdict:
                assert stopped == [f"{PARENT}/{GROUP}/{i}" for i in sorted(running)]
            else:
                assert stopped == []
            verdicts += verdict is not None
            running += start
        assert verdicts == 1
        results = await client.hgetall(shard.group_results(PARENT, GROUP))
        assert all(loads(v) == outcome(int(k), failing) for k, v in results.items())
    finally:
        records.close()
        await store.close()
