"""From a decision to a plan: everything one transition writes, as the operations of one commit.

:meth:`Planner.plan` is pure (no I/O, no clock): given the record as loaded, the
``advance()`` decision and what the transition read besides (the state of the groups it
stops), it returns the :class:`~statemachine.runtime.store.Plan` that ``commit.lua``
applies atomically — the compare-and-set guard, the history, the record, task dispatches,
timers, Map/Parallel groups, the listing indexes, the acknowledgement — and so it is
tested without Redis (``tests/runtime/test_plan.py``).

A task of an execution that runs a test case is dispatched with its ``(machine, case)``
(the dispatcher answers the mocked states: :mod:`statemachine.runtime.mocking`), an activity
task too when the case mocks its state.

Map and Parallel: ``StartChildren`` stores the children's inputs by index, the group's
counters and spec, and enqueues ``Started`` items for the first ``MaxConcurrency``
children; no child record exists yet (the worker taking a child's ``Started`` builds it
from the spec and its input).  A child's final commit applies the policy of
:mod:`statemachine.interpreter.children` inside ``commit.lua``: outcome by index, counters,
the next ``Started`` items, the verdict — atomically with the child's own end, so siblings
finish in parallel without any lock or retry.  A Distributed Map reading pages opens its
group open-ended: ``commit.lua`` asks the parent for the next page (``PageWanted``) as the
children run low and ``ExtendChildren`` adds it (EXTEND); the group is done only after the
last.  A nested execution's end (``states:startExecution``)
goes to its ``.sync`` parent, which may live on any shard, as a notice in the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal, NotRequired, TypedDict, assert_never, cast

from statemachine.interpreter import children
from statemachine.interpreter.branches import run_uuid
from statemachine.interpreter.children import RUN_GROUP, batch_size, history_owner, is_run
from statemachine.interpreter.commands import (
    CancelTimer,
    Continue,
    ExtendChildren,
    Finish,
    InvokeTask,
    StartChildren,
    StartTimer,
    StopChildren,
)
from statemachine.interpreter.context import root_fields
from statemachine.interpreter.events import ChildOutcome, Event
from statemachine.interpreter.records import Execution, JsonPath, MapRun, ParentFields, Root
from statemachine.interpreter.run_results import add_run
from statemachine.interpreter.step import Decision
from statemachine.language.queues import lane_name
from statemachine.runtime.invokers import kind
from statemachine.runtime.invokers.nested import child_report
from statemachine.runtime.mocking import answered_here, mock_of
from statemachine.runtime.redaction import Redactor
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import GroupState, Plan, Shard
from statemachine.runtime.store.codec import ChildLink, dumps, history_event, pack_record
from statemachine.runtime.tracing.context import children_trace

__all__ = ["GroupSpec", "Planned", "Planner"]

_RUN_ENDS = {"MapRunSucceeded": "SUCCEEDED", "MapRunFailed": "FAILED",
             "MapRunAborted": "ABORTED"}
"""A Map Run's status after each of its ending events."""

Planned = tuple[Plan, bool, bytes]
"""A plan, whether it sets a timer due soon (wake the scheduler), the record it writes."""

_CONTINUE = {"type": "Continue"}
_CALLED_BACK = ("callback", "activity")
"""The task kinds whose result comes back by its token (runtime.invokers.kind)."""


class GroupSpec(TypedDict):
    """A Map/Parallel group's spec (``spec`` of ``sm:T:g:...``): what
    ``interpreter.step.child_execution`` needs to build a child besides its own input.
    ``items``: whether the Map's item values are kept (``[input, item]`` per child);
    ``reuse``: after a redrive, the group whose succeeded children are not run again."""

    kind: Literal["map", "parallel"]
    paths: list[JsonPath]
    vars: dict[str, Any]
    items: bool
    execution_input: bool
    parent: ParentFields
    reuse: NotRequired[str]
    map_run: NotRequired[MapRun]


class Planner:
    """Turns decisions into plans for one worker (its settings and consumer name)."""

    def __init__(self, settings: Settings, consumer: str) -> None:
        self.settings = settings
        self.consumer = consumer
        self._redactor = Redactor(settings.redact_headers)
        self._lanes = frozenset(settings.lanes)

    def plan(self, shard: Shard, decision: Decision, event: Event, now: int, *,
             loaded: Execution, child: ChildLink | None, entry_id: bytes, stream: str,
             dispatch: bool, groups: Mapping[str, GroupState | None],
             result_at: float | None = None) -> Planned:
        """The plan of one transition of ``loaded`` (which ``child`` begins, when it is a
        lazy child's first), acknowledging ``entry_id`` of ``stream``: a ready work item, or
        with ``dispatch`` a task dispatch whose result this is (then a task the decision
        sends is taken for this worker, to be performed next, when it is of one of the
        worker's queues).  ``groups``: the state of each group a ``StopChildren`` stops
        (None: gone).  ``result_at``: when the task result this transition applies was
        received (seconds), carried by the tasks it sends; a callback or activity task's
        token is stored with ``now``, when it was issued (both for the latency histograms,
        runtime/timings.py)."""
        ex = decision.execution
        xid = ex["id"]
        lane = shard.lane(ex.get("queue"))
        own = not dispatch and stream == lane.ready  # else acknowledged by an ACK op
        plan = Plan(shard, entry_id if own else b"", lane)
        if dispatch:
            plan.ack_dispatch(stream, entry_id)
        elif not own:
            plan.ack_work(stream, entry_id)
        if child is None:
            plan.guard_record(xid, loaded["rev"])
        else:
            plan.begin_child(xid, *child)
        if not _quiet(ex):
            plan.append_history(xid, map(history_event,
                                         self._redactor.history(decision.history)),
                                begins=child is not None)
        if child is not None and "map_run" in ex:
            _count_child(plan, ex, "started")
        self._map_runs(plan, loaded, decision, event, now)
        raw = pack_record(ex)
        token = ex["token"] if ex["waiting"] == "task" and ex["token"] else ""
        page = ex.get("page")
        if ex["waiting"] == "children" and page is not None and page["token"]:
            token = page["token"]  # a Distributed Map's page read, while its children run
        kept = raw
        if _express_child(ex) and any(isinstance(c, Finish) for c in decision.commands):
            kept = pack_record(_slim(ex))
        issued = now if token and any(
            isinstance(c, InvokeTask) and kind(c.resource or "") in _CALLED_BACK
            for c in decision.commands) else None
        plan.write_record(xid, kept, ex["rev"], ex["status"], token, issued)
        if event["type"] == "ChildrenFinished":
            # outcomes left for a ResultWriter stay until its Map Run ends (_map_runs)
            plan.drop_group(xid, event["group"], results="stored" not in event)
        soon = False
        for command in decision.commands:
            match command:
                case InvokeTask():
                    resource = command.resource or ""
                    mock = mock_of(ex)
                    if kind(resource) == "activity" and (mock is None or not answered_here(
                            self.settings.mock_config, mock, command.state)):
                        plan.activity_task(resource.rsplit(":", 1)[1], xid, command.token,
                                           command.input)
                    else:
                        sent_to = plan.dispatch(xid, command, mock, command.queue, result_at)
                        queue = lane.queue if command.queue is None else lane_name(command.queue)
                        if dispatch and queue in self._lanes:
                            plan.take_dispatch(sent_to, self.consumer)
                case StartTimer():
                    plan.set_timer(xid, command.id, command.due, command.event)
                    soon = soon or command.due - now < self.settings.timer_max_sleep_ms
                case CancelTimer(id=timer):
                    plan.cancel_timer(timer)
                case Continue():  # a long run-through goes on in its own work item
                    plan.enqueue(xid, _CONTINUE)
                case StartChildren():
                    self._start_children(plan, ex, command)
                case ExtendChildren():
                    self._extend_children(plan, loaded, ex, command)
                case StopChildren(group=group):
                    state = groups.get(group)
                    if state is not None:
                        plan.stop_children(xid, group, state, command.error, command.cause)
                case Finish():
                    self._finish(plan, ex, command)
                case _:
                    assert_never(command)
        return plan, soon, raw

    def _start_children(self, plan: Plan, parent: Execution, command: StartChildren) -> None:
        """Open a group: inputs by index, counters and spec, ``Started`` for the first children.

        The spec carries what ``interpreter.step.child_execution`` needs besides the input:
        the root's input only when the children can read ``$$.Execution.Input``.
        """
        s = self.settings
        policy = command
        if not policy.max_concurrency:
            policy = replace(command, max_concurrency=s.children_in_flight)
        counters, first = children.open_group(policy)
        pid = parent["id"]
        inputs, items = command.inputs, command.items
        stored = {i: dumps([inputs[i], items[i] if items is not None else None])
                  for i in range(len(inputs))}
        execution_input = command.execution_input
        root: Root = parent["root"] or root_fields(parent)
        if not execution_input:
            root = {**root, "input": None}
        inherited: ParentFields = {
            "id": pid, "name": parent["name"], "machine": parent["machine"],
            "machine_version": parent["machine_version"], "salt": parent["salt"],
            "input": None, "start": parent["start"], "root": root,
        }
        if "place" in parent:  # the children's ARNs in $$ name the parent's region/account
            inherited["place"] = parent["place"]
        if "test_case" in parent:  # the children's tasks are mocked as the parent's are
            inherited["test_case"] = parent["test_case"]
        if "queue" in parent:  # the children's work goes to the parent's queue
            inherited["queue"] = parent["queue"]
        if s.tracing is not None or "trace" in parent:  # their spans: under this state's
            inherited["trace"] = children_trace(parent, s.invokers.trace_parent,
                                                s.invokers.trace_sampler.samples)
        spec: GroupSpec = {
            "kind": command.kind, "paths": command.paths, "vars": command.vars or {},
            "items": items is not None, "execution_input": execution_input,
            "parent": inherited,
        }
        if command.reuse is not None:
            spec["reuse"] = command.reuse
        if command.map_run is not None:
            spec["map_run"] = command.map_run
            item_count = (sum(batch_size(i) for i in inputs) if command.map_run["batched"]
                          else len(inputs))
            plan.run_opened(history_owner(pid), f"{pid}/{command.group}",
                            int(command.max_concurrency or 0), command.tolerated_count,
                            command.tolerated_percentage, len(inputs), item_count)
        plan.open_group(pid, command.group, counters, dumps(spec), stored, first,
                        s.input_chunk)

    def _extend_children(self, plan: Plan, loaded: Execution, ex: Execution,
                         command: ExtendChildren) -> None:
        """A Distributed Map's next page joins its open group, under the indexes after the
        pages before (``page.inputs`` of the record as loaded: how many there are)."""
        page = loaded.get("page")
        assert page is not None, "a page read without a page"
        first, pid = page["inputs"], ex["id"]
        inputs, items = command.inputs, command.items
        stored = {first + i: dumps([inputs[i], items[i] if items is not None else None])
                  for i in range(len(inputs))}
        # batches keep no item values (interpreter.branches._inputs): count their items
        item_count = sum(batch_size(i) for i in inputs) if items is None else len(inputs)
        plan.run_extended(history_owner(pid), f"{pid}/{command.group}", len(inputs), item_count)
        plan.extend_group(pid, command.group, stored, command.more, self.settings.input_chunk)

    def _map_runs(self, plan: Plan, loaded: Execution, decision: Decision, event: Event,
                  now: int) -> None:
        """The Map Run records the decision's MapRun* events begin and end (a run ends in the
        execution's group: the one it waited for, the one whose results it waited to write,
        or one begun in this very decision); a run whose results were just written counts
        them (``written``)."""
        ex = decision.execution
        owner = history_owner(ex["id"])
        group = loaded["group"] or loaded.get("done_group")
        for history in decision.history:
            kind = history["type"]
            if not kind.startswith("MapRun"):
                continue
            if kind == "MapRunStarted":
                group = f"{RUN_GROUP}{history['id']}"
                arn = history["mapRunStartedEventDetails"]["mapRunArn"]
                plan.run_started(owner, f"{ex['id']}/{group}", arn, arn.rsplit(":", 1)[1], now)
            elif group is not None and is_run(group):
                status = _RUN_ENDS.get(kind)
                if status is None:
                    continue
                run = f"{ex['id']}/{group}"
                plan.run_ended(owner, run, run_uuid(ex, group), status, now,
                               self.settings.retention_s)
                plan.drop_results(ex["id"], group)  # kept for its writer, if it had one
                writing = loaded.get("writing")
                if writing is not None and event["type"] == "TaskSucceeded":
                    plan.run_written(owner, run, writing["executions"], writing["items"])

    def _finish(self, plan: Plan, ex: Execution, command: Finish) -> None:
        """A root is listed under its final status; a child's end goes to its group."""
        keep = self.settings.retention_s
        link = ex["parent"]
        if link is None:
            plan.finish_root(ex["id"], ex["machine"], ex["name"], ex["status"], ex["start"], keep,
                             ex["stop"] if self.settings.archive_url else None)
            report = child_report(ex)  # a nested execution's end, for its .sync parent
            if report is not None:
                plan.notify_parent(ex["started_by"]["id"], report)
            return
        outcome: ChildOutcome = {"status": command.status, "output": command.output,
                                 "error": command.error, "cause": command.cause}
        if "map_run" in ex:  # an execution of its own, counted in its Map Run
            _count_child(plan, ex, command.status)
        if command.run is not None:  # what its Map Run's ResultWriter writes of it
            add_run(outcome, command.run)
        # An EXPRESS Map Run child keeps no record once it ended unsuccessfully (AWS keeps
        # nothing of an Express execution; a redrive runs it again anyway), and a slim one
        # when it succeeded: what a redrive of its failed Map Run needs to skip it.
        if _express_child(ex) and command.status != "SUCCEEDED":
            keep = 0
        plan.finish_child(ex["id"], link["id"], link["group"], link["index"], outcome, keep)


def _count_child(plan: Plan, ex: Execution, what: str) -> None:
    """A Map Run child began (``started``) or ended (its status): its Map Run counts it, and
    the items of its batch."""
    link = ex["parent"]
    assert link is not None
    items = batch_size(ex["input"]) if ex["map_run"]["batched"] else 1
    plan.run_counted(history_owner(link["id"]), f"{link['id']}/{link['group']}", what, items)


def _express_child(ex: Execution) -> bool:
    """Whether ``ex`` is an EXPRESS Map Run child (not one of its own Map/Parallel children)."""
    run = ex.get("map_run")
    return run is not None and bool(run.get("express"))


_SLIMMED = ("state_input", "vars", "retry", "root", "item", "path")
"""What an ended EXPRESS Map Run child's kept record leaves out: only its identity, status,
output and error are read again (a redrive's reuse of a succeeded child, a late event)."""


def _slim(ex: Execution) -> Execution:
    """``ex`` without what nothing reads once it ended (see :data:`_SLIMMED`): the bulk of
    a batch child's record is its input, which the Map Run's stored inputs had already."""
    slim: dict[str, Any] = {**ex, "input": None}
    for field in _SLIMMED:  # each a field unpack_record restores at its default
        slim.pop(field, None)
    return cast(Execution, slim)


def _quiet(ex: Execution) -> bool:
    """Whether ``ex``'s events are not kept: an EXPRESS Map Run child's (or its children's),
    whose history AWS does not keep either (CloudWatch Logs has it there)."""
    run = ex.get("map_run")
    if run is not None:
        return bool(run.get("express"))
    root = ex["root"]
    return root is not None and bool(root.get("quiet"))
