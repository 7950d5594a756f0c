"""``advance()``: one event in, one decision out.  The heart of the engine, and the records
it starts from.

Pass, Choice, Succeed and Fail run through inside one call until a state needs the outside
world (a task, a timer, children) or the execution ends (:mod:`.runthrough`); failures are
data: every ASL error goes retry → catch → fail (:mod:`.outcomes`) and never escapes as a
Python exception.  What each event does: :mod:`.deliver`; each state type: :mod:`.task`,
:mod:`.instant`, :mod:`.wait`, :mod:`.branches`; the input/output data flow of each query
language: :mod:`.dataflow`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from statemachine.interpreter import events as E
from statemachine.interpreter import failures as F
from statemachine.interpreter.commands import Command, StartChildren
from statemachine.interpreter.context import HISTORY_LIMIT_CAUSE, HistoryFull, Step, root_fields
from statemachine.interpreter.dataflow import bind
from statemachine.interpreter.deliver import deliver, stop_children
from statemachine.interpreter.outcomes import finish
from statemachine.interpreter.records import (
    TERMINAL,
    Execution,
    HistoryEvent,
    JsonPath,
    MapRun,
    ParentFields,
    Root,
    Status,
)
from statemachine.interpreter.tokens import derive
from statemachine.language.model import Machine
from statemachine.language.scope import MISSING


@dataclass(slots=True)
class Decision:
    """What one ``advance()`` call decided: the new record, the history it wrote, the commands."""

    execution: Execution
    history: list[HistoryEvent] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)


def advance(machine: Machine, execution: Execution, event: E.Event, *, now: int) -> Decision:
    """Apply one event to one execution record; see :mod:`statemachine.interpreter.records`."""
    if execution["status"] in TERMINAL and event["type"] != "Redriven":
        return Decision(execution)
    if not machine.bound:
        bind(machine)
    ex = execution.copy()
    step = Step(machine, ex, now)
    try:
        changed = deliver(step, event)
    except HistoryFull:
        # Nothing the interrupted step meant to start happens; what was running stops.
        step.commands = []
        stop_children(step, F.RUNTIME, HISTORY_LIMIT_CAUSE)
        finish(step, Status.FAILED, error=F.RUNTIME, cause=HISTORY_LIMIT_CAUSE)
        changed = True
    if not changed:
        return Decision(execution)
    if ex["waiting"] != "continue":
        ex.pop("burst", None)
    ex["rev"] = execution["rev"] + 1
    return Decision(ex, step.history, step.commands)


def new_execution(
    *,
    execution_id: str,
    name: str,
    machine: str,
    machine_version: int,
    input: Any,
    now: int,
    salt: str,
    place: str | None = None,
    express: bool = False,
    test_case: str | None = None,
) -> Execution:
    """A fresh top-level record; deliver ``{"type": "Started"}`` to it next.  ``place``:
    ``"<region>:<account>"`` of its ARNs, when not the default; ``express``: an EXPRESS
    execution (``execution_id`` is then the id its ARN ends with); ``test_case``: the mock
    config's test case it runs with (the runtime reads the config; the core only carries
    the name)."""
    record: Execution = {
        "id": execution_id,
        "name": name,
        "machine": machine,
        "machine_version": machine_version,
        "path": [],
        "status": Status.RUNNING,
        "input": input,
        "output": None,
        "error": None,
        "cause": None,
        "rev": 0,
        "seq": 0,
        "state": None,
        "state_input": None,
        "entered": 0,
        "vars": {},
        "retry": {},
        "token": None,
        "timer": None,
        "waiting": None,
        "group": None,
        "start": now,
        "stop": None,
        "parent": None,
        "item": None,
        "root": None,
        "salt": salt,
    }
    if place is not None:
        record["place"] = place
    if express:
        record["express"] = True
    if test_case is not None:
        record["test_case"] = test_case
    return record


def run_child_name(child_id: str) -> str:
    """A Map Run child's execution name: its id with "." for "/" (ids are UUIDs, digits and
    "r", so the id reads back from the name, and so from the child's ARN)."""
    return child_id.replace("/", ".")


def run_child_id(name: str) -> str:
    """The id of the Map Run child named ``name`` (:func:`run_child_name`)."""
    return name.replace(".", "/")


def new_child(parent: Execution, command: StartChildren, index: int, now: int) -> Execution:
    """The record of child ``index`` of a ``StartChildren`` command, before its ``Started``."""
    items = command.items
    return child_execution(
        parent, command.group, command.kind, command.paths, index, command.inputs[index],
        MISSING if items is None else items[index], command.vars, command.execution_input, now,
        command.map_run,
    )


def child_execution(
    parent: ParentFields, group: str, kind: str, paths: list[JsonPath], index: int, input: Any,
    value: Any, vars: dict[str, Any], execution_input: bool, now: int,
    map_run: MapRun | None = None,
) -> Execution:
    """The record of child ``index`` of a group, from the group's fields and this child's own
    ``input`` and Map item ``value`` (MISSING when the item values are not kept): what
    :func:`new_child` does for a whole command, for a runtime that stores the group's fields
    and the children's inputs apart.  With ``map_run``, the child of a Distributed Map: an
    execution of its own (:func:`run_child_name`), numbering its own events from 1."""
    path = paths[index] if len(paths) > 1 else paths[0]
    root: Root = parent["root"] or root_fields(parent)
    if not execution_input and root.get("input") is not None:
        root = {**root, "input": None}  # nothing below reads it: don't copy it into every child
    child_id = f"{parent['id']}/{group}/{index}"
    child = new_execution(
        execution_id=child_id,
        name=parent["name"] if map_run is None else run_child_name(child_id),
        machine=parent["machine"],
        machine_version=parent["machine_version"],
        input=input,
        now=now,
        salt=derive(parent["salt"], group, index),
    )
    # A child numbers its events on from the parent's "...StateStarted" event (the group id),
    # as AWS numbers inline iterations in the parent's history; causes quote these ids.
    child["seq"] = child["seq0"] = int(group) if str(group).isdigit() else 0
    child["path"] = list(path)
    child["vars"] = dict(vars or {})
    child["parent"] = {"id": parent["id"], "group": group, "index": index}
    child["root"] = root
    if map_run is not None:  # its own root: $$.Execution is the child's own (root_fields)
        child["seq"] = child["seq0"] = 0
        child["root"] = None
        child["map_run"] = map_run
    if "place" in parent:
        child["place"] = parent["place"]
    if parent.get("express"):
        child["express"] = True
    if "test_case" in parent:
        child["test_case"] = parent["test_case"]
    if "queue" in parent:
        child["queue"] = parent["queue"]
    if "trace" in parent:
        child["trace"] = parent["trace"]
    if value is not MISSING:
        child["item"] = {"Index": index, "Value": value}
    elif kind == "map":
        child["item"] = {"Index": index}  # a Map iteration, even when its item values are not kept
    return child
