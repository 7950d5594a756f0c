"""A failed Map Run's outcomes, for its ResultWriter: every child's, by index.

When a Distributed Map's children group fails (a child's failure passed the tolerated
threshold), ``commit.lua`` closes the group, stops the running children and sends the parent
``ChildrenFinished`` with ``failed`` only.  AWS writes such a run's results all the same
(``FAILED_n.json`` with the failed, timed out and aborted children, ``PENDING_n.json`` with
those never begun, ``SUCCEEDED_n.json``), so for a Map that exports its results
(``MapRun.writes``) the worker reads the group back before the parent's commit drops it:
the stored outcomes, the records of the children being stopped (ABORTED), and the inputs of
those never begun (PENDING).  The group is closed, so nothing of it changes meanwhile: a
late child's outcome is ignored by ``commit.lua``.
"""

from __future__ import annotations

from typing import cast

from statemachine.interpreter.children import is_run
from statemachine.interpreter.events import ChildOutcome, ChildrenFinished
from statemachine.interpreter.records import Execution
from statemachine.interpreter.run_results import aborted, pending
from statemachine.runtime.store import Records, Shard
from statemachine.runtime.store.codec import loads, unpack_record

__all__ = ["with_run_outcomes"]


async def with_run_outcomes(records: Records, shard: Shard, record: Execution,
                            event: ChildrenFinished, now: int) -> ChildrenFinished:
    """``event`` (a failed group's) with ``outcomes`` added when it ends a Map Run whose
    results are exported and ``record`` still waits for it; else ``event`` as it is."""
    group = event["group"]
    if (not is_run(group) or "failed" not in event or record["waiting"] != "children"
            or record["group"] != group):
        return event
    parent = record["id"]
    spec, begun, total = await records.group_head(shard, parent, group)
    if spec is None or not (loads(spec).get("map_run") or {}).get("writes"):
        return event
    values = await records.outcomes(shard, parent, group, total)
    missing = [i for i, v in enumerate(values) if v is None]
    inputs = dict(zip(missing, await records.inputs(shard, parent, group, missing), strict=True))
    outcomes: list[ChildOutcome] = []
    for index, value in enumerate(values):
        if value is not None:
            outcomes.append(cast(ChildOutcome, loads(value)))
            continue
        stored = inputs[index]
        child = None
        if stored is None and index < begun:  # begun: its record has its input
            raw = await records.load(shard, f"{parent}/{group}/{index}")
            child = None if raw is None else unpack_record(raw)
        if child is not None:
            outcomes.append(aborted(child, now))
        else:
            outcomes.append(pending(loads(stored)[0] if stored is not None else None))
    return {**event, "outcomes": outcomes}
