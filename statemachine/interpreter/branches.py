"""Parallel and Map: start children (``StartChildren``), then complete with their results.

The children are executions of their own, run by the runtime under the policy of
:mod:`statemachine.interpreter.children`; their end comes back as ``ChildrenFinished``.
"""

from __future__ import annotations

from typing import Any

from statemachine.interpreter import failures as F
from statemachine.interpreter.children import RUN_GROUP, is_run
from statemachine.interpreter.commands import ExtendChildren, StartChildren, StopChildren
from statemachine.interpreter.context import Go, Step
from statemachine.interpreter.dataflow import DataFlow
from statemachine.interpreter.events import ChildOutcome, ChildrenFinished
from statemachine.interpreter.formats import check_nesting, dumps, error_details
from statemachine.interpreter.item_source import batches, map_run_arn, read_task
from statemachine.interpreter.outcomes import complete, fail_state
from statemachine.interpreter.records import Execution, MapRun, RunFailure
from statemachine.interpreter.run_results import (
    transformed,
    write_task,
    writer_config,
    written_counts,
)
from statemachine.interpreter.tokens import derive
from statemachine.language.items import ITEM_READER_FAILED, StoredResults
from statemachine.language.model import State
from statemachine.language.scope import StatesError


def parallel(step: Step, state: State, value: Any) -> Go:
    ex = step.ex
    branch_input = state.flow.parameters(step, state, value, None)
    check_nesting(branch_input, state.name)
    group = str(step.emit("ParallelStateStarted"))
    base: list[str | int] = [*ex["path"], "States", state.name, "Branches"]
    n = len(state.branches)
    ex["waiting"] = "children"
    ex["group"] = group
    step.commands.append(
        StartChildren(
            group=group,
            kind="parallel",
            paths=[[*base, i] for i in range(n)],
            inputs=[branch_input] * n,
            items=None,
            max_concurrency=0,
            tolerated_count=None,
            tolerated_percentage=None,
            vars=ex["vars"],
            execution_input=any(b.reads_execution_input for b in state.branches),
            reuse=step.reuse,
        )
    )
    return None


def _map_limit(step: Step, state: State, spec: Any, value: Any, field: str, kind: type) -> Any:
    if spec is None:
        return None
    raw = step.number(spec, state, value, field)
    path_text = state.raw.get(field + "Path")
    if isinstance(raw, str) and spec[0] == "path":
        try:
            raw = kind(raw)
        except ValueError:
            pass
    ok = not isinstance(raw, bool) and isinstance(raw, (int, float))
    if kind is int and ok and isinstance(raw, float) and not raw.is_integer():
        ok = False
    if not ok:
        shown = raw if isinstance(raw, str) else dumps(raw)
        what = "integer" if kind is int else "float"
        raise StatesError(
            F.RUNTIME, f'The {field}Path field refers to value "{shown}" which is not a valid {what}: {path_text}'
        )
    return kind(raw)


def map_(step: Step, state: State, value: Any) -> Go:
    flow: DataFlow = state.flow
    if state.item_reader is not None:
        return _read_items(step, state, flow.effective_input(step, state, value))
    effective, items = flow.items(step, state, value)
    limits = _limits(step, state, effective)
    inputs, kept = _inputs(step, state, effective, items)
    group = str(step.emit("MapStateStarted", {"length": len(items)}))
    if state.distributed:
        group = _run_started(step, state, group)
    return _start_map(step, state, value, inputs, kept, group, limits)


def _limits(step: Step, state: State, effective: Any) -> tuple[int, int | None, float | None]:
    """MaxConcurrency, ToleratedFailureCount, ToleratedFailurePercentage, evaluated."""
    max_concurrency = _map_limit(step, state, state.max_concurrency, effective, "MaxConcurrency", int) or 0
    count = _map_limit(step, state, state.tolerated_count, effective, "ToleratedFailureCount", int)
    pct = _map_limit(step, state, state.tolerated_percentage, effective, "ToleratedFailurePercentage", float)
    if count is not None and count < 0:
        raise StatesError(F.RUNTIME, "ToleratedFailureCount cannot be negative.")
    if pct is not None and not 0 <= pct <= 100:
        raise StatesError(F.RUNTIME, "ToleratedFailurePercentage must be between 0 and 100.")
    return max_concurrency, count, pct


def _run_started(step: Step, state: State, started: str) -> str:
    """``MapRunStarted``; its id names the children group (children number their events on
    from it, after every event of the parent's before them)."""
    run = step.emit("MapRunStarted", {"mapRunArn": map_run_arn(step, state, started)})
    return f"{RUN_GROUP}{run}"


def run_uuid(ex: Execution, group: str) -> str:
    """The id that ends the ARN of ``ex``'s Map Run ``group`` (as :func:`map_run_arn` derives
    it from the MapStateStarted event just before MapRunStarted): the runtime finds a Map
    Run back by it."""
    return derive(ex["salt"], "map-run", ex["id"], str(int(group[len(RUN_GROUP):]) - 1))


def _map_run(step: Step, state: State, group: str) -> MapRun:
    """The Map Run of ``group`` (``r<MapRunStarted id>``; MapStateStarted is the event just
    before, what :func:`map_run_arn` derives the run's id from)."""
    started = str(int(group[len(RUN_GROUP):]) - 1)
    run: MapRun = {"arn": map_run_arn(step, state, started),
                   "label": state.extras.get("Label") or state.name,
                   "batched": state.item_batcher is not None}
    processor = state.raw.get("ItemProcessor") or {}
    if (processor.get("ProcessorConfig") or {}).get("ExecutionType") == "EXPRESS":
        run["express"] = True
    if _exports(state):
        run["writes"] = True
    return run


def _read_items(step: Step, state: State, effective: Any) -> Go:
    """A Distributed Map with an ItemReader: the Map Run starts, the runtime reads the items
    (a task of this state; :mod:`.item_source`), :func:`items_read` goes on with them."""
    ex = step.ex
    _limits(step, state, effective)  # a bad limit fails before anything is read
    group = _run_started(step, state, str(step.emit("MapStateStarted")))
    try:
        command = read_task(step, state, effective)
    except StatesError as err:
        return read_failed(step, state, err.error, step.cause_of(err))
    ex["waiting"] = "task"
    ex["token"] = command.token
    ex["group"] = group  # the Map Run's, kept while its items are read
    step.commands.append(command)
    return None


def _page(output: Any) -> tuple[list[Any], bool]:
    """A read's items and whether more pages follow (a runtime may answer a paged read with
    every item, a list)."""
    if isinstance(output, dict) and isinstance(output.get("Items"), list):
        return output["Items"], bool(output.get("More"))
    if not isinstance(output, list):
        raise StatesError(ITEM_READER_FAILED, "Attempting to map over non-iterable node.",
                          prefixed=False)
    return output, False


def items_read(step: Step, state: State, output: Any) -> Go:
    """The reader's result, the first page of items (or all of them): the Map goes on over
    them; with more pages to come, its group stays open for them (:func:`page_wanted`)."""
    ex = step.ex
    value = ex["state_input"]
    group = ex["group"] or str(ex["entered"])
    ex["group"] = None
    try:
        items, more = _page(output)
        effective = state.flow.effective_input(step, state, value)
        limits = _limits(step, state, effective)
        inputs, kept = _inputs(step, state, effective, items)
        if more and inputs:
            ex["page"] = {"skip": len(items), "inputs": len(inputs), "token": None}
            if isinstance(output, dict) and output.get("Cursor") is not None:
                ex["page"]["cursor"] = output["Cursor"]
        return _start_map(step, state, value, inputs, kept, group, limits, more and bool(inputs))
    except StatesError as err:
        return read_failed(step, state, err.error, step.cause_of(err))


def page_wanted(step: Step, state: State) -> None:
    """The open group runs low: read the next page (a task of this state, as the first)."""
    ex = step.ex
    page = ex["page"]
    effective = state.flow.effective_input(step, state, ex["state_input"])
    command = read_task(step, state, effective, page["skip"], page.get("cursor"))
    page["token"] = command.token
    step.commands.append(command)


def page_read(step: Step, state: State, output: Any) -> Go:
    """The next page: its children join the open group (their indexes, and the items'
    ``$$.Map.Item.Index``, go on from the pages before)."""
    ex = step.ex
    page = ex["page"]
    group = ex["group"]
    assert group is not None
    try:
        items, more = _page(output)
        effective = state.flow.effective_input(step, state, ex["state_input"])
        inputs, kept = _inputs(step, state, effective, items, page["skip"])
    except StatesError as err:
        return page_failed(step, state, err.error, step.cause_of(err))
    more = more and bool(items)
    step.commands.append(ExtendChildren(group, inputs, kept, more))
    if more:
        ex["page"] = {"skip": page["skip"] + len(items), "inputs": page["inputs"] + len(inputs),
                      "token": None}
        if isinstance(output, dict) and output.get("Cursor") is not None:
            ex["page"]["cursor"] = output["Cursor"]
    else:
        ex.pop("page", None)
    return None


def page_failed(step: Step, state: State, error: str, cause: str | None) -> Go:
    """A later page could not be read: the children still running are stopped, the Map Run
    fails, then the Map state (as when the first page fails)."""
    ex = step.ex
    ex.pop("page", None)
    if ex["group"] is not None:
        step.commands.append(StopChildren(ex["group"], error, cause))
    ex["waiting"] = None
    return read_failed(step, state, error, cause)


def read_failed(step: Step, state: State, error: str, cause: str | None) -> Go:
    """The items could not be read (or started): the Map Run fails, then the Map state."""
    step.ex["group"] = None
    step.emit("MapRunFailed", error_details(error, cause))
    step.emit("MapStateFailed")
    return fail_state(step, state, error, cause)


def _inputs(step: Step, state: State, effective: Any, items: list[Any],
            first: int = 0) -> tuple[list[Any], list[Any] | None]:
    """The children's inputs (ItemSelector, then ItemBatcher) and the item values they see as
    ``$$.Map.Item.Value`` (None for batches: a batch has no single item); ``first``: the
    index of the first item (a later page's)."""
    flow: DataFlow = state.flow
    if state.item_selector is not None:
        inputs = []
        base_context = step.context(state)
        for index, item in enumerate(items, first):
            context = dict(base_context)
            context["Map"] = {"Item": {"Index": index, "Value": item}}
            scope = step.scope(state, effective, context=context)
            selected = flow.value_of(state.item_selector, scope, "ItemSelector")
            check_nesting(selected, state.name)
            inputs.append(selected)
    else:
        inputs = items
    if state.item_batcher is not None:
        return batches(step, state, effective, inputs), None
    return inputs, items


def _start_map(step: Step, state: State, value: Any, inputs: list[Any], kept: list[Any] | None,
               group: str, limits: tuple[int, int | None, float | None],
               more: bool = False) -> Go:
    ex = step.ex
    max_concurrency, count, pct = limits
    if not inputs:
        if state.distributed:
            step.emit("MapRunSucceeded")
        step.emit("MapStateSucceeded")
        return complete(step, state, value, [])
    ex["waiting"] = "children"
    ex["group"] = group
    step.commands.append(
        StartChildren(
            group=group,
            kind="map",
            paths=[[*ex["path"], "States", state.name, "ItemProcessor"]],
            inputs=inputs,
            items=kept,
            max_concurrency=max_concurrency,
            tolerated_count=count,
            tolerated_percentage=pct,
            vars=ex["vars"],
            execution_input=state.processor is not None and state.processor.reads_execution_input,
            reuse=step.reuse,
            map_run=_map_run(step, state, group) if state.distributed else None,
            more=more,
        )
    )
    return None


def children_done(step: Step, state: State, event: ChildrenFinished) -> Go:
    """The group ended: complete with the results by index, or fail as the policy said (a
    Distributed Map that exports its results writes them first, failed run or not, as
    AWS's: ``outcomes`` then come with ``failed``, by index, PENDING for those not begun)."""
    step.ex.pop("page", None)  # a page read in flight is of no use now
    value = step.ex["state_input"]
    prefix = "Map" if state.type == "Map" else "Parallel"
    failed = event.get("failed")
    run = state.type == "Map" and state.distributed
    outcomes = event.get("outcomes")
    if failed is not None:
        failure: RunFailure = {"error": failed.get("error"), "cause": failed.get("cause"),
                               "threshold": bool(failed.get("threshold"))}
        if run and _exports(state) and outcomes is not None:
            return _write_results(step, state, value, outcomes, failure)
        return _group_failed(step, state, failure)
    outcomes = outcomes or []
    if run and state.result_writer is not None:
        return _write_results(step, state, value, outcomes, stored=event.get("stored"))
    results = [o.get("output") if o.get("status") == "SUCCEEDED" else _failed_item(o) for o in outcomes]
    if run:
        step.emit("MapRunSucceeded")
    step.emit(prefix + "StateSucceeded")
    return complete(step, state, value, results)


def _exports(state: State) -> bool:
    """Whether the Map's ResultWriter exports its results (has a ``Resource``)."""
    return state.result_writer is not None and state.result_writer.resource is not None


def _group_failed(step: Step, state: State, failed: RunFailure) -> Go:
    """The Map/Parallel fails as its group did (a Map Run first, for a Distributed Map)."""
    if state.type == "Map" and state.distributed:
        step.emit("MapRunFailed", error_details(
            F.TOLERATED if failed["threshold"] else failed["error"] or F.BRANCH_FAILED,
            None if failed["threshold"] else failed["cause"]))
    step.emit(("Map" if state.type == "Map" else "Parallel") + "StateFailed")
    if failed["threshold"]:
        return fail_state(step, state, F.TOLERATED, "The specified tolerated failure threshold was exceeded")
    return fail_state(step, state, failed["error"] or F.BRANCH_FAILED, failed["cause"])


def _failed_item(outcome: ChildOutcome) -> dict[str, Any]:
    item = {"Error": outcome.get("error")}
    if outcome.get("cause") is not None:
        item["Cause"] = outcome["cause"]
    return item


def _write_results(step: Step, state: State, value: Any, outcomes: list[ChildOutcome],
                   failed: RunFailure | None = None, stored: int | None = None) -> Go:
    """A Map Run with a ``ResultWriter`` ended: export its results (a task of this state,
    :func:`results_written` goes on; a run that ``failed`` fails with it afterwards;
    ``stored``: the runtime kept that many outcomes for the writer to read, a page at a
    time, instead of handing them over), or with a ``WriterConfig`` alone return them
    transformed."""
    ex = step.ex
    group = ex.get("done_group") or ""
    arn = map_run_arn(step, state, _started_of(group))
    writer = state.result_writer
    assert writer is not None
    kept: StoredResults | None = None
    if stored is not None:
        kept = {"Execution": ex["id"], "Group": group, "Total": stored}
    if writer.resource is None:
        results = list(transformed(arn, outcomes, writer_config(state)["Transformation"]))
        step.emit("MapRunSucceeded")
        step.emit("MapStateSucceeded")
        return complete(step, state, value, results)
    try:
        command = write_task(step, state, state.flow.effective_input(step, state, value), arn,
                             outcomes, kept)
    except StatesError as err:
        return write_failed(step, state, err.error, step.cause_of(err))
    ex["waiting"] = "task"
    ex["token"] = command.token
    # Stored outcomes are all the run's children, every one of which ran (none PENDING):
    # the runtime counts their items from the run's own count (items None).
    ex["writing"] = ({"executions": stored, "items": None} if stored is not None
                     else written_counts(outcomes, state.item_batcher is not None))
    if failed is not None:
        ex["writing"]["failed"] = failed
    step.commands.append(command)
    return None


def _started_of(group: str) -> str:
    """The ``MapStateStarted`` event id a Map Run's ARN is derived from: the event just before
    its ``MapRunStarted`` (whose id names the children group ``r<id>``, see
    :func:`_run_started`): the ARN the run was started with, which its results name."""
    if is_run(group) and group[len(RUN_GROUP):].isdigit():
        group = group[len(RUN_GROUP):]
    return str(int(group) - 1) if group.isdigit() else group


def results_written(step: Step, state: State, output: Any) -> Go:
    """The writer's result (``{MapRunArn, ResultWriterDetails}``) is the Map's result; a
    run that failed fails the Map now, with its own error (its results are written)."""
    writing = step.ex.pop("writing", None)
    failed = writing.get("failed") if writing is not None else None
    if failed is not None:
        return _group_failed(step, state, failed)
    step.emit("MapRunSucceeded")
    step.emit("MapStateSucceeded")
    return complete(step, state, step.ex["state_input"], output)


def write_failed(step: Step, state: State, error: str, cause: str | None) -> Go:
    """The results could not be written: the Map Run fails, then the Map state
    (``States.ResultWriterFailed``, retried and caught as any error)."""
    step.ex.pop("writing", None)
    step.emit("MapRunFailed", error_details(error, cause))
    step.emit("MapStateFailed")
    return fail_state(step, state, error, cause)
