"""A Distributed Map Run's results as AWS's ``ResultWriter`` shapes them.

Pure, and shared by both sides: the interpreter transforms the results it returns itself
(``WriterConfig`` without a ``Resource``) and asks the runtime to export them with a task of
resource :data:`~statemachine.language.items.WRITE_RESULTS` (:func:`write_task`); the
runtime's writer (:mod:`statemachine.runtime.items.writer`) lays out the files with
:func:`entry` and :func:`transformed`.

A child's entry is AWS's (the fields of ``DescribeExecution``, capitalised, keys in
alphabetical order as AWS writes them): ``ExecutionArn``, ``Input`` and ``Output`` as JSON
text with their ``...Details``, ``Name``, ``RedriveCount``, ``RedriveStatus``, ``StartDate``,
``StateMachineArn``, ``Status``, ``StopDate``, and ``Error``/``Cause`` instead of the output
for a child that did not succeed.  ``Transformation``: ``NONE`` writes entries, ``COMPACT``
the outputs alone, ``FLATTEN`` the outputs with arrays spliced in; a child that did not
succeed is always written as its entry (AWS: "as if NONE").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from statemachine.interpreter.children import batch_size
from statemachine.interpreter.commands import InvokeTask
from statemachine.interpreter.context import Step
from statemachine.interpreter.events import ChildOutcome, RunEntry
from statemachine.interpreter.formats import dumps, iso, place_of
from statemachine.interpreter.item_source import arguments_of
from statemachine.interpreter.records import Execution, RunWriting
from statemachine.interpreter.tokens import derive, task_token
from statemachine.language import items as I
from statemachine.language.model import State
from statemachine.language.scope import StatesError

SUCCEEDED = "SUCCEEDED"
PENDING = "PENDING"
"""A child a failed Map Run never began (AWS's ``PENDING_n.json``)."""


def run_fields(step: Step) -> RunEntry | None:
    """What a finishing child of a Distributed Map (an execution of its own in a Map Run)
    adds to its outcome, for its Map Run's ResultWriter (None for any other execution): its
    ``arn``, ``name``, ``input`` (JSON text), ``start`` and ``stop``."""
    return run_entry(step.ex, step.now)


def run_entry(ex: Execution, now: int) -> RunEntry | None:
    """:func:`run_fields` of the record ``ex`` (stopping at ``now`` if it has not ended: a
    child its failing Map Run aborts)."""
    run = ex.get("map_run")
    if run is None or ex["parent"] is None:
        return None
    arn = place_of(ex.get("place")).execution(f"{ex['machine']}/{run['label']}", ex["name"])
    return {"arn": arn, "name": ex["name"], "input": dumps(ex["input"]), "start": ex["start"],
            "stop": ex["stop"] if ex["stop"] is not None else now}


def aborted(ex: Execution, now: int) -> ChildOutcome:
    """The outcome of a child its failing Map Run stops: ABORTED (as the run's results show
    it), or how it ended if it did end before the stop reached it."""
    status = "ABORTED" if ex["status"] == "RUNNING" else str(ex["status"])
    outcome: ChildOutcome = {"status": status,
                             "output": ex["output"] if status == SUCCEEDED else None,
                             "error": ex["error"], "cause": ex["cause"]}
    run = run_entry(ex, now)
    if run is not None:
        add_run(outcome, run)
    return outcome


def pending(child_input: Any) -> ChildOutcome:
    """The outcome of a child a failing Map Run never began (its ``PENDING_n.json`` entry)."""
    return {"status": PENDING, "output": None, "error": None, "cause": None,
            "input": dumps(child_input)}


def written_counts(outcomes: Iterable[ChildOutcome], batched: bool) -> RunWriting:
    """The children and items whose results the files hold (DescribeMapRun's
    ``resultsWritten``): every child that ran, not the PENDING ones."""
    executions = items = 0
    for outcome in outcomes:
        if outcome.get("status") == PENDING:
            continue
        executions += 1
        items += batch_size(orjson.loads(outcome.get("input") or "null")) if batched else 1
    return {"executions": executions, "items": items}


def add_run(outcome: ChildOutcome, run: RunEntry) -> None:
    """``outcome`` with its child's :class:`RunEntry` fields (one shape in both runtimes)."""
    outcome["arn"] = run["arn"]
    outcome["name"] = run["name"]
    outcome["input"] = run["input"]
    outcome["start"] = run["start"]
    outcome["stop"] = run["stop"]


def run_id(map_run_arn: str) -> str:
    """The Map Run's id: the last part of its ARN (the folder its results go under)."""
    return map_run_arn.rsplit(":", 1)[-1]


def execution_arn(map_run_arn: str, outcome: ChildOutcome) -> str:
    """A child's ARN: its own when the runtime gave one, else AWS's form for a Map Run's
    children, ``...:execution:<machine>/<label>:<name>``."""
    if outcome.get("arn"):
        return str(outcome["arn"])
    head, _, _ = map_run_arn.rpartition(":")
    return head.replace(":mapRun:", ":execution:", 1) + ":" + str(outcome.get("name") or "")


def machine_arn(map_run_arn: str) -> str:
    """The Map Run's state machine as AWS names it: ``...:stateMachine:<machine>/<label>``."""
    head, _, _ = map_run_arn.rpartition(":")
    return head.replace(":mapRun:", ":stateMachine:", 1)


def entry(map_run_arn: str, outcome: ChildOutcome) -> dict[str, Any]:
    """One child's entry in a result file (Transformation ``NONE``)."""
    status = outcome.get("status") or "FAILED"
    if status == PENDING:  # never began: no execution, only what it would have run on
        return {"Input": outcome.get("input") or "null", "InputDetails": {"Included": True},
                "StateMachineArn": machine_arn(map_run_arn), "Status": PENDING}
    out: dict[str, Any] = {}
    if status != SUCCEEDED:
        if outcome.get("cause") is not None:
            out["Cause"] = outcome["cause"]
        if outcome.get("error") is not None:
            out["Error"] = outcome["error"]
    out["ExecutionArn"] = execution_arn(map_run_arn, outcome)
    out["Input"] = outcome.get("input") or "null"
    out["InputDetails"] = {"Included": True}
    out["Name"] = outcome.get("name") or out["ExecutionArn"].rsplit(":", 1)[-1]
    if status == SUCCEEDED:
        out["Output"] = dumps(outcome.get("output"))
        out["OutputDetails"] = {"Included": True}
    out["RedriveCount"] = 0
    if status == SUCCEEDED:
        out["RedriveStatus"] = "NOT_REDRIVABLE"
        out["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
    else:  # a Map Run's failed child is run again by redriving its Map Run
        out["RedriveStatus"] = "REDRIVABLE_BY_MAP_RUN"
    if outcome.get("start") is not None:
        out["StartDate"] = iso(int(outcome["start"]))
    out["StateMachineArn"] = machine_arn(map_run_arn)
    out["Status"] = status
    if outcome.get("stop") is not None:
        out["StopDate"] = iso(int(outcome["stop"]))
    return out


def transformed(map_run_arn: str, outcomes: Iterable[ChildOutcome],
                transformation: str) -> Iterator[Any]:
    """The results as ``Transformation`` says (see the module's docstring), one at a time
    (a writer turns each into bytes before it makes the next)."""
    for outcome in outcomes:
        if transformation == "NONE" or outcome.get("status") != SUCCEEDED:
            yield entry(map_run_arn, outcome)
        elif transformation == "FLATTEN" and isinstance(outcome.get("output"), list):
            yield from outcome["output"]
        else:
            yield outcome.get("output")


def writer_config(state: State) -> I.WriterConfig:
    """``WriterConfig`` with AWS's defaults: exporting without one writes ``NONE`` entries as
    ``JSON``; a ``WriterConfig`` alone previews ``COMPACT`` results."""
    writer = state.result_writer
    assert writer is not None
    default = "NONE" if writer.resource is not None else "COMPACT"
    return {"Transformation": writer.transformation or default,
            "OutputType": writer.output_type or "JSON"}


def write_task(step: Step, state: State, effective: Any, map_run_arn: str,
               outcomes: list[ChildOutcome],
               stored: I.StoredResults | None = None) -> InvokeTask:
    """The task that exports the Map Run's results (raises ``States.ResultWriterFailed``
    for a ``Bucket``/``Prefix`` that is not a string, and the usual errors of templates);
    ``stored``: where the runtime keeps them instead of ``outcomes``."""
    writer = state.result_writer
    assert writer is not None
    ex = step.ex
    arguments = arguments_of(step, state, writer.arguments, effective)
    bucket = arguments.get("Bucket") if isinstance(arguments, dict) else None
    prefix = arguments.get("Prefix", "") if isinstance(arguments, dict) else None
    if not isinstance(bucket, str) or not bucket or not isinstance(prefix, str):
        raise StatesError(I.RESULT_WRITER_FAILED, "The ResultWriter's parameters must name a "
                          "'Bucket' and may name a 'Prefix' (strings): " + dumps(arguments),
                          prefixed=False)
    request: I.WriteRequest = {
        "Bucket": bucket, "Prefix": prefix, "WriterConfig": writer_config(state),
        "MapRunArn": map_run_arn, "Results": [dict(o) for o in outcomes],
    }
    if stored is not None:
        request["Stored"] = stored
    token = task_token(ex["id"], derive(ex["salt"], "token", ex["seq"]))
    return InvokeTask(
        token=token, resource=I.WRITE_RESULTS, input=request, state=state.name,
        entered=ex["entered"],
        idempotency_key=derive(ex["salt"], "idempotency", ex["id"], ex["entered"], "results"),
        attempt=sum(ex["retry"].values()) if ex["retry"] else 0,
        timeout_s=None, heartbeat_s=None, credentials=None, execution=ex["id"],
    )
