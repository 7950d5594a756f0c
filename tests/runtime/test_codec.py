"""One codec for what the store keeps, and the Lua scripts that build messages too.

The work items ``promote.lua`` and ``commit.lua`` build by concatenating text must be the
very bytes :mod:`statemachine.runtime.store.codec` makes; the reply codes each script
names (``local CREATED = 1``) must be the ones :mod:`statemachine.runtime.store.scripts`
names; every script names its ARGV instead of counting on the reader.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from statemachine.runtime.store import Plan, Records, RedisStore
from statemachine.runtime.store import keys as K
from statemachine.runtime.store.codec import (
    child_started,
    children_finished,
    read_work_item,
    timer_item,
    work_item,
)
from statemachine.runtime.store.scripts import LUA_DIR, REPLIES, SCRIPTS

PARENT, GROUP = "8d0b9a8e-2f4b-4c1e-9a51-1d8f8a1c2b3d", "4"


async def ready_messages(client: Any, shard: K.Shard) -> list[bytes]:
    return [fields[b"m"] for _, fields in await client.xrange(shard.ready)]


async def test_promote_builds_the_plain_timer_fired_as_the_codec_does(settings: Any) -> None:
    store = await RedisStore.connect(settings())
    records = Records(store)
    shard = store.shards[3]
    try:
        timer = f"{PARENT}:wait:7"
        event = {"type": "TimerFired", "timer": timer}
        assert timer_item(PARENT, timer, event) == b""  # kept by nobody: the script builds it
        plan = Plan(shard)
        plan.set_timer(PARENT, timer, 1000, event)
        assert await records.commit(plan) == (True, 0)
        await store.script("promote", [shard.timers, shard.timer_events, shard.ready], [5000, 10])
        assert await ready_messages(store.client, shard) == [work_item(PARENT, event)]
    finally:
        records.close()
        await store.close()


@pytest.mark.parametrize("failing", [False, True])
async def test_commit_builds_a_groups_messages_as_the_codec_does(settings: Any,
                                                                 failing: bool) -> None:
    """Three children one at a time: the end of child 0 starts child 1 (its lazy Started);
    then either child 1 fails the group (child 2's StopRequested, the parent's
    ChildrenFinished{failed}) or all end (ChildrenFinished{total})."""
    store = await RedisStore.connect(settings())
    records = Records(store)
    shard = store.shard(PARENT)
    counters = {"kind": "parallel", "total": 3, "limit": 2, "next": 2, "running": 2, "done": 0,
                "failed": 0, "closed": 0, "tolerated_count": None, "tolerated_percentage": None}
    ok = {"status": "SUCCEEDED", "output": {"a": 1}, "error": None, "cause": None}
    bad = {"status": "FAILED", "output": None, "error": "E", "cause": 'a "quoted" cause'}
    try:
        plan = Plan(shard)
        plan.open_group(PARENT, GROUP, counters, b"{}", {}, [0, 1], 100)
        for index, outcome in ((0, ok), (1, bad if failing else ok)) + (() if failing else ((2, ok),)):
            plan.child_finished(PARENT, GROUP, index, outcome)
        assert await records.commit(plan) == (True, 0)
        expected = [child_started(PARENT, GROUP, 0), child_started(PARENT, GROUP, 1),
                    child_started(PARENT, GROUP, 2)]
        if failing:
            stop = {"type": "StopRequested", "error": None, "cause": None}
            expected += [work_item(f"{PARENT}/{GROUP}/2", stop),
                         children_finished(PARENT, GROUP, failed={
                             "index": 1, "status": "FAILED", "error": "E",
                             "cause": 'a "quoted" cause', "threshold": False})]
        else:
            expected.append(children_finished(PARENT, GROUP, total=3))
        assert await ready_messages(store.client, shard) == expected
        started = read_work_item(expected[2])
        assert (started.execution, started.event, started.link) == (
            f"{PARENT}/{GROUP}/2", {"type": "Started"}, (PARENT, GROUP, 2))
    finally:
        records.close()
        await store.close()


def _lua(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text()


def test_every_script_is_in_the_lua_folder_with_keys_and_named_argv() -> None:
    assert sorted(p.stem for p in LUA_DIR.glob("*.lua")) == sorted(SCRIPTS)
    for name in SCRIPTS:
        source = _lua(name)
        assert source.startswith(f"-- {name}.lua: "), name
        assert "-- KEYS[1]" in source and "-- ARGV[1]" in source, name
        code = [line for line in source.splitlines() if not line.lstrip().startswith("--")]
        positional = [line for line in code if "ARGV[" in line and not line.startswith("local ")]
        assert positional == [], (name, positional)


def test_reply_codes_are_named_alike_in_lua_and_python() -> None:
    for name, replies in REPLIES.items():
        declared = dict(re.findall(r"^local ([A-Z_]+) = (-?\d+)$", _lua(name), re.MULTILINE))
        assert {k: int(v) for k, v in declared.items()} == {r.name: r.value for r in replies}, name
