"""The per-destination cap: one slow service delays only its own tasks.

A worker performs at most ``invoke_concurrency`` task dispatches at once (its hands).
Without a cap, 64 requests to one hanging endpoint take all 64 hands and every other
workflow waits.  :class:`DestinationGate` lets at most ``cap`` dispatches per destination
(``host:port`` of the request, :meth:`Invokers.destination`) be performed at once.  A
dispatch over the cap is *parked*: it leaves its hand (the hand goes on with other work)
but stays in the worker's hand in Redis terms — pending, its lease refreshed by the lease
keeper, so it is neither claimed by another worker nor dead-lettered.  Parked dispatches
do not count against the hands when the reader asks for more entries (up to
``PARK_FACTOR`` times the hands may be parked).  When a dispatch to that destination
ends, its slot passes straight to the oldest parked one, which the freed hand takes next
(:meth:`Inbox.resume`), so the parked ones keep their order and are not overtaken.

A parked dispatch keeps what it came with — whether it is fresh, and the record the
commit that took it wrote — as a dispatch queued in the inbox does: a record that changed
meanwhile only makes the first compare-and-set fail and the record be loaded again.
"""

from __future__ import annotations

from collections import Counter, deque

from statemachine.runtime.worker.consumer import Cached, Item

__all__ = ["PARK_FACTOR", "DestinationGate", "Parked", "default_cap"]

PARK_FACTOR = 4
"""Parked dispatches a worker holds at most, in multiples of its hands."""

Key = tuple[str, bytes]
Parked = tuple[Item, Cached | None]


def default_cap(invoke_concurrency: int, configured: int = 0) -> int:
    """``configured`` when positive, else a quarter of the hands (at least 1)."""
    return configured if configured > 0 else max(1, invoke_concurrency // 4)


def _key(item: Item) -> Key:
    return item[1], item[2]


class DestinationGate:
    """In-flight dispatches per destination, capped; the ones over the cap wait parked."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._busy: Counter[str] = Counter()
        self._parked: dict[str, deque[Parked]] = {}
        self._handed: set[Key] = set()  # parked dispatches already given a freed slot

    def enter(self, destination: str | None, item: Item, cached: Cached | None = None) -> bool:
        """Take a slot for ``item`` (True), or park it (False: the caller lets it go)."""
        if destination is None:
            return True
        key = _key(item)
        if key in self._handed:
            self._handed.discard(key)
            return True
        if self._busy[destination] < self.cap:
            self._busy[destination] += 1
            return True
        self._parked.setdefault(destination, deque()).append((item, cached))
        return False

    def leave(self, destination: str | None) -> Parked | None:
        """Give the slot back: to the oldest parked dispatch of ``destination`` (returned,
        to be resumed) or to the destination's free slots."""
        if destination is None:
            return None
        waiting = self._parked.get(destination)
        if waiting:
            parked = waiting.popleft()
            if not waiting:
                del self._parked[destination]
            self._handed.add(_key(parked[0]))
            return parked
        self._busy[destination] -= 1
        if self._busy[destination] <= 0:
            del self._busy[destination]
        return None

    def in_flight(self, destination: str) -> int:
        return self._busy[destination]

    def parked(self) -> int:
        return sum(len(waiting) for waiting in self._parked.values())
