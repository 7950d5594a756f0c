"""The planner turns a decision into the operations of one commit, without Redis.

Each case hands :meth:`Planner.plan` a decision as ``advance()`` would make it and reads
back the arguments ``commit.lua`` would get: the acknowledgement, the guards and the
operations in order (see the script's header for their meaning).
"""

from __future__ import annotations

from typing import Any

import orjson

from statemachine.interpreter.commands import (
    CancelTimer,
    Continue,
    Finish,
    InvokeTask,
    StartChildren,
    StartTimer,
    StopChildren,
)
from statemachine.interpreter.events import RunEntry
from statemachine.interpreter.step import Decision, new_execution
from statemachine.language.mocks import parse_mock_config
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import GroupState, Plan
from statemachine.runtime.store import keys as K
from statemachine.runtime.store.codec import unpack_record
from statemachine.runtime.worker.plan import Planner

SHARD = K.Shard(3)
NOW = 1_000_000
XID = "0b6f0e4e-3c52-4e0c-9a51-1d8f8a1c2b3d"
PLANNER = Planner(Settings(timer_max_sleep_ms=10_000, input_chunk=2, retention_s=60), "me")
Op = tuple[str, str, list[Any]]


def record(**changes: Any) -> dict[str, Any]:
    base = new_execution(execution_id=XID, name=XID, machine="m", machine_version=1, input={},
                         now=NOW, salt="s")
    return {**base, **changes}


def task(resource: str = "https://example.com/x") -> InvokeTask:
    return InvokeTask(token="t1", resource=resource, input={"a": 1}, state="S", entered=2,
                      idempotency_key="k", attempt=0, timeout_s=None, heartbeat_s=None,
                      credentials=None, execution=XID)


def read(plan: Plan) -> tuple[Any, list[tuple[str, str, Any]], list[Op]]:
    """(ack id, guards as (key, field, expected), ops as (name, key, args))."""
    args = plan.args()
    keys = plan.keys
    guards = [(keys[args[i] - 1], args[i + 1], args[i + 2]) for i in range(2, 2 + 3 * args[1], 3)]
    ops: list[Op] = []
    i = 2 + 3 * args[1]
    while i < len(args):
        name, key, count = args[i], keys[args[i + 1] - 1], args[i + 2]
        ops.append((name, key, list(args[i + 3:i + 3 + count])))
        i += 3 + count
    return args[0], guards, ops


def planned(commands: list[Any], *, event: dict[str, Any] | None = None, dispatch: bool = False,
            child: Any = None, groups: dict[str, GroupState | None] | None = None,
            after: dict[str, Any] | None = None) -> tuple[Plan, bool, bytes]:
    loaded = record(rev=4)
    ex = after if after is not None else record(rev=5, state="S", waiting="task", token="t1")
    decision = Decision(ex, [{"id": 3, "previousEventId": 2, "type": "TaskScheduled"}], commands)
    return PLANNER.plan(SHARD, decision, event or {"type": "Started"}, NOW, loaded=loaded,
                        child=child, entry_id=b"1-1",
                        stream=SHARD.tasks if dispatch else SHARD.ready, dispatch=dispatch,
                        groups=groups or {})


def test_a_work_item_writes_history_and_record_under_its_rev_and_is_acked_with_it() -> None:
    plan, soon, raw = planned([task()])
    ack, guards, ops = read(plan)
    assert ack == b"1-1" and guards == [(SHARD.record(XID), "rev", "4")]
    assert [op[0] for op in ops] == ["HIST", "HSET", "XADD"]
    assert orjson.loads(ops[0][2][1]) == {"type": "TaskScheduled"}  # ids come from the position
    assert ops[1] == ("HSET", SHARD.record(XID), ["r", raw, "rev", 5, "status", "RUNNING",
                                                  "token", "t1"])
    assert unpack_record(raw)["token"] == "t1" and not soon
    assert ops[2][1] == SHARD.tasks
    assert orjson.loads(ops[2][2][1]) == {"x": XID, "c": orjson.loads(orjson.dumps(task()))}


def test_a_task_result_acks_its_dispatch_and_takes_the_next_task() -> None:
    plan, _, _ = planned([task()], event={"type": "TaskSucceeded", "token": "t0"}, dispatch=True)
    ack, _, ops = read(plan)
    assert ack == b""
    assert ops[0] == ("ACK", SHARD.tasks, [K.INVOKERS_GROUP, b"1-1"])
    assert [op[0] for op in ops][-2:] == ["XADD", "TAKE"]
    assert ops[-1] == ("TAKE", SHARD.tasks, [K.INVOKERS_GROUP, "me", 1])


def test_an_activity_task_waits_in_its_activitys_queue() -> None:
    plan, _, _ = planned([task("arn:aws:states:local:000000000000:activity:review")])
    _, _, ops = read(plan)
    assert ops[-1][:2] == ("RPUSH", SHARD.activity("review"))
    assert orjson.loads(ops[-1][2][0]) == {"x": XID, "token": "t1", "input": {"a": 1}}


def test_timers_set_and_cancelled_and_a_soon_one_wakes_the_scheduler() -> None:
    plain = StartTimer(id=f"{XID}:wait:3", due=NOW + 500,
                       event={"type": "TimerFired", "timer": f"{XID}:wait:3"})
    later = StartTimer(id=f"{XID}:odd", due=NOW + 3_600_000, event={"type": "Odd"})
    _, soon, _ = planned([later])
    assert not soon
    plan, soon, _ = planned([CancelTimer(id="old"), plain, later, Continue()])
    _, _, ops = read(plan)
    assert soon
    assert ops[2:4] == [("ZREM", SHARD.timers, ["old"]), ("HDEL", SHARD.timer_events, ["old"])]
    assert ops[4] == ("TIMER", SHARD.timers, [plan.key(SHARD.timer_events), plain.id, plain.due, b""])
    assert orjson.loads(ops[5][2][3]) == {"x": XID, "e": {"type": "Odd"}}
    assert ops[6][:2] == ("XADD", SHARD.ready)
    assert orjson.loads(ops[6][2][1]) == {"x": XID, "e": {"type": "Continue"}}


def children(inputs: list[Any], max_concurrency: int = 2) -> StartChildren:
    return StartChildren(group="7", kind="map", paths=[["States", "M", "ItemProcessor"]],
                         inputs=inputs, items=None, max_concurrency=max_concurrency,
                         tolerated_count=None, tolerated_percentage=None, vars={},
                         execution_input=False)


def test_a_group_opens_with_its_inputs_and_first_children() -> None:
    plan, _, _ = planned([children([10, 20])])
    _, _, ops = read(plan)
    assert plan.prewrites == []
    assert ops[2] == ("HSET", SHARD.group_inputs(XID, "7"), [0, b"[10,null]", 1, b"[20,null]"])
    assert ops[3][:2] == ("HSET", SHARD.group(XID, "7"))
    assert ops[4] == ("SADD", SHARD.group_running(XID, "7"), [0, 1])
    assert [orjson.loads(op[2][1])["g"] for op in ops[5:]] == [[XID, "7", 0], [XID, "7", 1]]
    big, _, _ = planned([children([1, 2, 3])])  # more than input_chunk: written before
    assert big.prewrites == [(SHARD.group_inputs(XID, "7"), {0: b"[1,null]", 1: b"[2,null]",
                                                             2: b"[3,null]"})]


def test_a_test_cases_tasks_carry_it_its_mocked_activity_is_dispatched_its_children_inherit_it(
        ) -> None:
    mocks = parse_mock_config(orjson.dumps({
        "StateMachines": {"m": {"TestCases": {"T": {"Review": "R"}}}},
        "MockedResponses": {"R": {"0": {"Return": 1}}}}), "mocks.json")
    planner = Planner(Settings(mock_config=mocks), "me")
    activity = "arn:aws:states:local:000000000000:activity:review"

    def plan(state: str, commands: list[Any]) -> list[Op]:
        ex = record(rev=5, state=state, waiting="task", token="t1", test_case="T")
        decision = Decision(ex, [], commands)
        made, _, _ = planner.plan(SHARD, decision, {"type": "Started"}, NOW,
                                  loaded=record(rev=4), child=None, entry_id=b"1-1",
                                  stream=SHARD.ready, dispatch=False, groups={})
        return read(made)[2]

    mocked = InvokeTask(**{**orjson.loads(orjson.dumps(task(activity))), "state": "Review"})
    ops = plan("Review", [mocked])  # mocked: the dispatcher answers it, no poller waits
    assert ops[-1][:2] == ("XADD", SHARD.tasks)
    assert orjson.loads(ops[-1][2][1])["t"] == ["m", "T"]
    ops = plan("S", [task(activity)])  # not mocked: the activity's pollers take it
    assert ops[-1][:2] == ("RPUSH", SHARD.activity("review"))
    ops = plan("M", [children([10])])
    spec = orjson.loads(next(op[2][1] for op in ops if op[2][:1] == ["spec"]))
    assert spec["parent"]["test_case"] == "T"


def test_stopping_a_group_stops_its_running_children_under_its_next_counter() -> None:
    stop = StopChildren(group="7", error="E", cause="c")
    plan, _, _ = planned([stop], groups={"7": GroupState("5", [1, 4])})
    _, guards, ops = read(plan)
    assert guards[1] == (SHARD.group(XID, "7"), "next", "5")
    assert [orjson.loads(op[2][1]) for op in ops if op[0] == "XADD"] == [
        {"x": f"{XID}/7/{i}", "e": {"type": "StopRequested", "error": "E", "cause": "c"}}
        for i in (1, 4)]
    assert [op[1] for op in ops if op[0] == "DEL"] == [
        SHARD.group(XID, "7"), SHARD.group_inputs(XID, "7"), SHARD.group_results(XID, "7"),
        SHARD.group_running(XID, "7")]
    gone, _, _ = planned([stop], groups={"7": None})
    assert [op[0] for op in read(gone)[2]] == ["HIST", "HSET"]


def test_a_root_ends_in_its_status_index_a_child_in_its_group() -> None:
    done = record(rev=5, status="SUCCEEDED", output=1, stop=NOW)
    plan, _, _ = planned([Finish("SUCCEEDED", 1, None, None, 3)], after=done)
    _, _, ops = read(plan)
    assert ops[2:] == [("ZREM", SHARD.index_status("RUNNING"), [XID]),
                       ("ZADD", SHARD.index_status("SUCCEEDED"), [NOW, XID]),
                       ("EXPIRE", SHARD.record(XID), [60]), ("EXPIRE", SHARD.history(XID), [60]),
                       ("EXPIRE", SHARD.name("m", XID), [60]),
                       ("EXPIRE", SHARD.nested(XID), [60]), ("EXPIRE", SHARD.map_runs(XID), [60])]
    child_id = f"{XID}/7/2"
    child = record(id=child_id, rev=1, status="FAILED", error="E",
                   parent={"id": XID, "group": "7", "index": 2})
    plan, _, _ = planned([Finish("FAILED", None, "E", None, 3)], after=child, child=(XID, "7", 2))
    _, guards, ops = read(plan)
    assert guards == [(SHARD.record(child_id), "rev", ""), (SHARD.group(XID, "7"), "closed", "0")]
    assert ops[0] == ("HDEL", SHARD.group_inputs(XID, "7"), [2])
    assert ops[-2] == ("EXPIRE", SHARD.record(child_id), [60])
    assert ops[-1][0] == "CHILD" and ops[-1][2][2] == 2


def test_a_nested_execution_tells_its_sync_parent_through_the_outbox() -> None:
    parent = "5d2b7c1e-0000-4000-8000-000000000001/3/0"  # a Map iteration's task started it
    done = record(rev=5, status="SUCCEEDED", output={"b": 1}, stop=NOW,
                  started_by={"id": parent, "token": "tok", "pattern": "sync2"})
    plan, _, _ = planned([Finish("SUCCEEDED", {"b": 1}, None, None, 3)], after=done)
    _, _, ops = read(plan)
    name, key, [field, message] = ops[-1]
    assert (name, key, field) == ("XADD", SHARD.tasks, "m")
    notice = orjson.loads(message)
    assert notice["x"] == parent
    assert (notice["n"]["type"], notice["n"]["token"]) == ("TaskSucceeded", "tok")
    assert notice["n"]["output"]["Output"] == {"b": 1}
    quiet = record(rev=5, status="SUCCEEDED", output=1, stop=NOW,
                   started_by={"id": parent, "token": "tok", "pattern": "request"})
    plan, _, _ = planned([Finish("SUCCEEDED", 1, None, None, 3)], after=quiet)
    assert all(op[1] != SHARD.tasks for op in read(plan)[2])


def test_a_finished_group_is_dropped_by_the_transition_that_reads_it() -> None:
    plan, _, _ = planned([], event={"type": "ChildrenFinished", "group": "7", "outcomes": []})
    assert [op[0] for op in read(plan)[2]] == ["HIST", "HSET", "DEL", "DEL", "DEL", "DEL"]


RUN = {"arn": "arn:aws:states:us-east-1:123456789012:mapRun:m/L:u1", "label": "L",
       "batched": True}


def test_a_map_run_child_writes_its_own_history_and_is_counted_in_its_run() -> None:
    child_id = f"{XID}/r7/2"
    began = record(id=child_id, name=child_id.replace("/", "."), rev=1, state="S",
                   waiting="task", token="t1", parent={"id": XID, "group": "r7", "index": 2},
                   map_run=RUN, input={"Items": [1, 2, 3]})
    plan, _, _ = planned([task()], after=began, child=(XID, "r7", 2))
    _, _, ops = read(plan)
    hist = next(op for op in ops if op[0] == "HIST")
    assert hist[1] == SHARD.history(child_id) == f"sm:{SHARD.tag}:h:{child_id}"
    assert hist[2][0] == 0  # its record is made by this commit: no status to check
    counted = [op for op in ops if op[0] == "HINCRBY"]
    assert counted == [("HINCRBY", SHARD.map_runs(XID), [f"{XID}/r7:started", 1]),
                       ("HINCRBY", SHARD.map_runs(XID), [f"{XID}/r7:i:started", 3])]

    ended = {**began, "status": "FAILED", "error": "E", "stop": NOW, "rev": 2}
    entry: RunEntry = {"arn": f"arn:aws:states:us-east-1:123456789012:execution:m/L:{began['name']}",
                       "name": began["name"], "input": '{"Items":[1,2,3]}', "start": NOW - 5,
                       "stop": NOW}
    plan, _, _ = planned([Finish("FAILED", None, "E", None, 0, entry)], after=ended)
    _, _, ops = read(plan)
    assert ("HINCRBY", SHARD.map_runs(XID), [f"{XID}/r7:FAILED", 1]) in ops
    assert ("EXPIRE", SHARD.history(child_id), [60]) in ops
    child_op = ops[-1]
    assert child_op[0] == "CHILD"
    outcome = orjson.loads(child_op[2][3])  # what the Map Run's ResultWriter writes of it
    assert {k: outcome[k] for k in entry} == entry


def test_an_express_map_run_child_keeps_no_history() -> None:
    child_id = f"{XID}/r7/0"
    began = record(id=child_id, rev=1, state="S", waiting="task", token="t1",
                   parent={"id": XID, "group": "r7", "index": 0},
                   map_run={**RUN, "express": True})
    plan, _, _ = planned([task()], after=began, child=(XID, "r7", 0))
    assert "HIST" not in [op[0] for op in read(plan)[2]]


def test_an_ended_express_map_run_child_keeps_a_slim_record_or_none() -> None:
    child_id = f"{XID}/r7/1"
    batch = {"Items": [{"id": n, "text": "x" * 40} for n in range(50)]}
    ended = record(id=child_id, rev=2, status="SUCCEEDED", output={"n": 50}, stop=NOW,
                   parent={"id": XID, "group": "r7", "index": 1}, input=batch,
                   map_run={**RUN, "express": True}, vars={"v": 1},
                   item={"Index": 1, "Value": batch})
    plan, _, full = planned([Finish("SUCCEEDED", {"n": 50}, None, None, 0, None)], after=ended)
    _, _, ops = read(plan)
    written = next(op for op in ops if op[0] == "HSET" and op[1] == SHARD.record(child_id))
    kept = unpack_record(written[2][1])
    # what a redrive's reuse reads is there; its input (the batch) and item are not
    assert (kept["status"], kept["output"], kept["input"], kept["item"]) == (
        "SUCCEEDED", {"n": 50}, None, None)
    assert len(written[2][1]) < len(full) / 4
    assert unpack_record(full)["input"] == batch  # the worker goes on with the whole record
    assert ("EXPIRE", SHARD.record(child_id), [60]) in ops

    failed = {**ended, "status": "FAILED", "output": None, "error": "E"}
    plan, _, _ = planned([Finish("FAILED", None, "E", None, 0, None)], after=failed)
    _, _, ops = read(plan)
    assert ("DEL", SHARD.record(child_id), []) in ops  # nothing reads it again
    assert ("EXPIRE", SHARD.record(child_id), [60]) not in ops
    assert ops[-1][0] == "CHILD"  # its outcome still reaches its group


def test_a_standard_map_run_childs_record_is_kept_whole() -> None:
    child_id = f"{XID}/r7/1"
    ended = record(id=child_id, rev=2, status="FAILED", error="E", stop=NOW,
                   parent={"id": XID, "group": "r7", "index": 1}, input={"Items": [1]},
                   map_run=RUN)
    plan, _, full = planned([Finish("FAILED", None, "E", None, 0, None)], after=ended)
    _, _, ops = read(plan)
    written = next(op for op in ops if op[0] == "HSET" and op[1] == SHARD.record(child_id))
    assert written[2][1] == full
    assert ("EXPIRE", SHARD.record(child_id), [60]) in ops
