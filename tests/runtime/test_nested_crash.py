"""Nested ``.sync`` executions survive ``kill -9`` of their workers: one child per task, and
every parent resumes.

Parents run a Map whose every item starts a nested ``states:startExecution.sync:2`` child
(no Name given: derived from the task, so a dispatch delivered again finds its child) that
waits a second.  Worker processes are killed while children are being started and again
while children end and their notices travel to their parents (through the outbox), and are
restarted.  Afterwards every parent SUCCEEDED with every child's output, and the child
machine has exactly one execution per item.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest

from tests.runtime.test_crash import Workers

PARENTS = 4
ITEMS = 8
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:nested-kid"
CHILD = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
                                     "P": {"Type": "Pass", "End": True}}}
PARENT = {"StartAt": "Fan", "States": {"Fan": {
    "Type": "Map", "ItemsPath": "$.items", "End": True,
    "ItemProcessor": {"StartAt": "Nested", "States": {"Nested": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": ARN, "Input.$": "$"},
        "ResultSelector": {"out.$": "$.Output", "status.$": "$.Status"}, "End": True}}}}}}


def items(p: int) -> list[dict[str, Any]]:
    return [{"parent": p, "item": i} for i in range(ITEMS)]


@pytest.mark.slow
async def test_killed_workers_start_each_child_once_and_every_parent_resumes(
        redis_url: str, runtime: Any) -> None:
    async with runtime() as rt:
        service = rt.service
        await service.define("nested-kid", CHILD)
        await service.define("nested-mom", PARENT)
        workers = Workers(redis_url)
        workers.spawn()
        workers.spawn()
        ids = [(await service.start("nested-mom", {"items": items(p)}))["executionId"]
               for p in range(PARENTS)]

        async def children() -> Counter[str]:
            listed = await service.list_executions("nested-kid", limit=1000)
            return Counter(e["status"] for e in listed["executions"])

        async def parents() -> Counter[str]:
            return Counter([(await service.describe(x))["status"] for x in ids])

        async def until(condition: Any, what: str) -> None:
            deadline = time.monotonic() + 120
            while not await condition():
                assert time.monotonic() < deadline, what
                await asyncio.sleep(0.02)

        kills = 0
        try:
            # while the first children are being started
            await until(lambda: _some(children()), "no child was started")
            for victim in sorted(workers.procs):
                workers.kill(victim)
                kills += 1
            workers.spawn()
            workers.spawn()
            # while children end and their parents wait to hear of it
            async def ending() -> bool:
                return (await children())["SUCCEEDED"] > 0
            await until(ending, "no child ended")
            for victim in sorted(workers.procs):
                workers.kill(victim)
                kills += 1
            workers.spawn()
            workers.spawn()

            async def all_done() -> bool:
                return (await parents())["RUNNING"] == 0
            await until(all_done, "the parents did not finish")
        finally:
            workers.stop_all()

        assert kills == 4
        assert await parents() == Counter({"SUCCEEDED": PARENTS})
        for p, xid in enumerate(ids):
            described = await service.describe(xid)
            assert described["output"] == [{"out": item, "status": "SUCCEEDED"}
                                           for item in items(p)]
        assert await children() == Counter({"SUCCEEDED": PARENTS * ITEMS})
        # each child names the parent whose Map item started it
        listed = (await service.list_executions("nested-kid", limit=1000))["executions"]
        seen = Counter()
        for child in listed:
            described = await service.describe(child["executionId"])
            seen[(described["startedBy"]["executionId"],
                  described["input"]["parent"], described["input"]["item"])] += 1
        assert set(seen.values()) == {1}
        assert {(ids[p], p, i) for p in range(PARENTS) for i in range(ITEMS)} == set(seen)


async def _some(counting: Any) -> bool:
    return sum((await counting).values()) > 0
