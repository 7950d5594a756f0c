"""A run's history in the order of the definition's tree, whatever order its children ran in.

An in-memory run writes one history in the order things happened, so the events of Map
iterations and Parallel branches interleave, and with real services the interleaving
changes from run to run.  Tests want an order they can write down: each execution's own
events in order, and right after the Map or Parallel state that started them, the events of
its children, child 0 first (depth first).  A child's id is ``<parent id>/<group>/<index>``,
and its events belong after the last event its parent wrote before the child's first one:
a parent starts its children from the state it is in, and writes nothing more there until
they have run.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence


def tree_order(origins: Sequence[str]) -> list[int]:
    """Indices into a history, depth first, from ``origins``: the execution id of each event
    (the first event's is the root's)."""
    if not origins:
        return []
    events: dict[str, list[int]] = {}
    for index, origin in enumerate(origins):
        events.setdefault(origin, []).append(index)
    root = origins[0]
    after: dict[int, list[str]] = {}  # a parent's event index -> the children that follow it
    for origin, own in events.items():
        if origin == root:
            continue
        parent_events = events.get(origin.rsplit("/", 2)[0], [])
        before = bisect_left(parent_events, own[0]) - 1
        after.setdefault(parent_events[before] if before >= 0 else -1, []).append(origin)
    order: list[int] = []
    _walk(root, events, after, order)
    for orphan in after.get(-1, []):  # a child whose parent wrote nothing first: not expected
        _walk(orphan, events, after, order)
    return order


def _walk(origin: str, events: dict[str, list[int]], after: dict[int, list[str]],
          order: list[int]) -> None:
    for index in events[origin]:
        order.append(index)
        for child in sorted(after.get(index, ()), key=_child_index):
            _walk(child, events, after, order)


def _child_index(origin: str) -> int:
    tail = origin.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else 0
