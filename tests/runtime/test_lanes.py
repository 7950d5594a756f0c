"""Queues' keys and routing, without Redis: the lanes of a shard, what a plan writes where
for an execution of a queue and for a Task naming its own, the ``x-queue`` field in
definitions, and ``--queues`` / ``STATEMACHINE_QUEUES``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from statemachine import cli
from statemachine.interpreter.commands import InvokeTask, StartChildren, StartTimer
from statemachine.interpreter.step import Decision, new_execution
from statemachine.language.queues import QUEUE_PATTERN, definition_queues, queue_problem
from statemachine.language.schema import SCHEMA_PATH
from statemachine.language.validate import validate
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import keys as K
from statemachine.runtime.store.codec import read_dispatch
from statemachine.runtime.worker.plan import Planner

SHARD = K.Shard(3)
XID = "0b6f0e4e-3c52-4e0c-9a51-1d8f8a1c2b3d"


def test_the_default_queue_keeps_todays_keys_and_another_queue_has_its_own() -> None:
    default = SHARD.lane(None)
    assert SHARD.lane("default") is default
    assert (default.ready, default.tasks, default.timers, default.timer_events) == (
        "sm:{s3}:ready", "sm:{s3}:tasks", "sm:{s3}:timers", "sm:{s3}:timer-events")
    payments = SHARD.lane("payments")
    assert (payments.ready, payments.tasks, payments.timers, payments.timer_events) == (
        "sm:{s3}:q:payments:ready", "sm:{s3}:q:payments:tasks", "sm:{s3}:q:payments:timers",
        "sm:{s3}:q:payments:timer-events")
    assert SHARD.lane("payments") is payments  # built once per shard
    for lane in (default, payments):
        assert SHARD.lane_of_stream(lane.ready) is lane
        assert SHARD.lane_of_stream(lane.tasks) is lane
    assert SHARD.lane_of_stream(SHARD.dead) is None
    assert SHARD.lane_of_stream("sm:{s4}:q:payments:ready") is None  # another shard's


def plan_of(ex: dict[str, Any], commands: list[Any], *, queues: tuple[str, ...] = ("default",),
            dispatch: bool = False) -> list[tuple[str, str, list[Any]]]:
    """The ops (name, key, args) a worker of ``queues`` plans for ``ex``'s decision."""
    planner = Planner(Settings(queues=queues), "me")
    loaded = {**ex, "rev": ex["rev"] - 1}
    lane = SHARD.lane(ex.get("queue"))
    stream = lane.tasks if dispatch else lane.ready
    plan, _, _ = planner.plan(SHARD, Decision(ex, [], commands), {"type": "Started"}, 1,
                              loaded=loaded, child=None, entry_id=b"1-1", stream=stream,
                              dispatch=dispatch, groups={})  # type: ignore[arg-type]
    assert plan.keys[0] == lane.ready  # the commit acknowledges and enqueues on its lane
    return ops_of(plan)


def ops_of(plan: Any) -> list[tuple[str, str, list[Any]]]:
    args, keys = plan.args(), plan.keys
    ops, i = [], 2 + 3 * args[1]
    while i < len(args):
        ops.append((args[i], keys[args[i + 1] - 1], list(args[i + 3:i + 3 + args[i + 2]])))
        i += 3 + args[i + 2]
    return ops


def execution(queue: str | None) -> dict[str, Any]:
    ex: dict[str, Any] = dict(new_execution(execution_id=XID, name=XID, machine="m",
                                            machine_version=1, input={}, now=1, salt="s"))
    ex.update(rev=2, state="S", waiting="task", token="t1")
    if queue is not None:
        ex["queue"] = queue
    return ex


def task(queue: str | None = None) -> InvokeTask:
    return InvokeTask(token="t1", resource="https://example.com/x", input={}, state="S",
                      entered=2, idempotency_key="k", attempt=0, timeout_s=None,
                      heartbeat_s=None, credentials=None, execution=XID, queue=queue)


def test_an_executions_work_timers_children_and_tasks_go_to_its_queue() -> None:
    lane = SHARD.lane("payments")
    timer = StartTimer(id=f"{XID}:wait:3", due=9, event={"type": "TimerFired",
                                                         "timer": f"{XID}:wait:3"})
    children = StartChildren(group="5", kind="map", inputs=[1], items=None, paths=[["S"]],
                             vars={}, max_concurrency=0, tolerated_count=None,
                             tolerated_percentage=None, execution_input=False)
    ops = plan_of(execution("payments"), [task(), timer, children], queues=("payments",))
    record = next(op for op in ops if op[0] == "HSET" and op[1] == SHARD.record(XID))
    assert record[2][-2:] == ["q", "payments"]  # what callback.lua checks
    dispatch = next(op for op in ops if op[0] == "XADD" and "tasks" in op[1])
    assert dispatch[1] == lane.tasks
    assert read_dispatch(dispatch[2][1]).queue == "payments"  # a hand-over goes back there
    assert [op[1] for op in ops if op[0] == "TIMER"] == [lane.timers]
    started = [op[1] for op in ops if op[0] == "XADD" and "ready" in op[1]]
    assert started == [lane.ready]  # the first child's Started
    assert not any(SHARD.ready == op[1] or SHARD.tasks == op[1] for op in ops)


def test_a_default_execution_writes_what_it_always_wrote() -> None:
    ops = plan_of(execution(None), [task()])
    record = next(op for op in ops if op[0] == "HSET" and op[1] == SHARD.record(XID))
    assert "q" not in record[2][::2]
    dispatch = next(op for op in ops if op[0] == "XADD")
    assert dispatch[1] == SHARD.tasks
    assert read_dispatch(dispatch[2][1]).queue is None


def test_a_task_naming_a_queue_is_dispatched_there_and_taken_only_by_its_workers() -> None:
    gpu = SHARD.lane("gpu")
    for queues, taken in ((("default",), False), (("default", "gpu"), True)):
        ops = plan_of(execution(None), [task("gpu")], queues=queues, dispatch=True)
        assert ops[0] == ("ACK", SHARD.tasks, [K.INVOKERS_GROUP, b"1-1"])
        assert [op[1] for op in ops if op[0] == "XADD"] == [gpu.tasks]
        assert (ops[-1] == ("TAKE", gpu.tasks, [K.INVOKERS_GROUP, "me", 1])) == taken
    # "default" named by a Task of another queue's machine: the default queue's workers
    ops = plan_of(execution("payments"), [task("default")], queues=("payments",), dispatch=True)
    assert [op[1] for op in ops if op[0] == "XADD"] == [SHARD.tasks]
    assert ops[-1][0] != "TAKE"


def test_a_work_item_found_on_another_queues_stream_is_acknowledged_there() -> None:
    planner = Planner(Settings(), "me")
    ex = execution("payments")
    plan, _, _ = planner.plan(SHARD, Decision(ex, [], []), {"type": "Started"}, 1,  # type: ignore[arg-type]
                              loaded={**ex, "rev": 1}, child=None, entry_id=b"7-1",  # type: ignore[arg-type]
                              stream=SHARD.ready, dispatch=False, groups={})
    assert plan.ack_id == b""
    assert ops_of(plan)[0] == ("ACK", SHARD.ready, [K.WORKERS_GROUP, b"7-1"])


def definition(**call: Any) -> dict[str, Any]:
    return {"StartAt": "M", "States": {"M": {"Type": "Map", "End": True, "ItemProcessor": {
        "StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "https://x.test/a",
                                               "End": True, **call}}}}}}


def test_a_task_may_name_a_queue_in_x_queue_and_nothing_else_may() -> None:
    assert validate(definition(**{"x-queue": "gpu-1"})) == []
    assert definition_queues(definition(**{"x-queue": "gpu-1"})) == {"gpu-1"}
    bad = validate(definition(**{"x-queue": "no spaces"}))
    assert [d.pointer for d in bad] == ["/States/M/ItemProcessor/States/Call/x-queue"]
    unknown = validate({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True,
                                                          "x-queue": "gpu"}}})
    assert [d.pointer for d in unknown] == ["/States/P/x-queue"]
    assert "x-queue" in unknown[0].message
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$defs"]["queueName"]["pattern"] == QUEUE_PATTERN  # one rule, two places


@pytest.mark.parametrize("name", ["", "a b", "{s1}", "a:b", "-x", "x" * 65])
def test_queue_names_that_cannot_be_part_of_a_key_are_refused(name: str) -> None:
    assert queue_problem(name) is not None
    with pytest.raises(ValueError):
        Settings(queues=(name,))
    assert queue_problem(7) == "a queue name must be a string"


def test_queues_come_from_the_environment_or_the_command_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEMACHINE_QUEUES", "payments, default")
    settings = Settings.from_env()
    assert settings.queues == ("payments", "default")
    assert settings.lanes == ("payments", None)
    assert Settings().lanes == (None,)
    assert cli.main(["worker", "--queues", "pay ments"]) == 2
    assert cli.main(["worker", "--queues", ","]) == 2
