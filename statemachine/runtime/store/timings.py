"""The latency histograms in Redis: every process's increments added, the sums read back.

Each family is a hash ``sm:{timings}:<name>`` (keys.timings) whose fields are the JSON array
``[label values..., bound]``, ``bound`` being a bucket's upper bound ("0.005", "+Inf") or
``sum_us``: a field per bucket rather than per bucket index, so that a
release that changes the bounds still reads the buckets it knows.  Counts are per bucket,
not cumulative (an increment touches one field); the collector adds them up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson

from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.keys import timings
from statemachine.runtime.timings import Family, Series, Timings

__all__ = ["add_timings", "flush_timings", "read_timings"]

SUM = "sum_us"


def _names(family: Family) -> list[str]:
    """The field's last element for each counter of a label set, in :data:`Series` order."""
    return [*(repr(float(b)) for b in family.bounds), "+Inf", SUM]


async def add_timings(store: RedisStore, taken: Mapping[Family, Series]) -> None:
    """Add a process's increments, one HINCRBY per changed counter, in one MULTI (all the
    keys share a hash tag: one slot)."""
    pipe = store.client.pipeline(transaction=True)
    queued = 0
    for family, series in taken.items():
        key, names = timings(family.name), _names(family)
        for labels, counts in series.items():
            for name, n in zip(names, counts, strict=True):
                if n:
                    pipe.hincrby(key, orjson.dumps([*labels, name]), n)
                    queued += 1
    if queued:
        await pipe.execute()


async def flush_timings(store: RedisStore, timings: Timings) -> None:
    """Add what ``timings`` observed since its last flush (kept for the next one when this
    one fails)."""
    taken = timings.take()
    if not taken:
        return
    try:
        await add_timings(store, taken)
    except BaseException:
        timings.put_back(taken)
        raise


async def read_timings(store: RedisStore, families: Iterable[Family]) -> dict[Family, Series]:
    """Every family's sums over all processes, in :data:`Series` shape (a field of a bound
    the family no longer has, or not JSON, is left out)."""
    families = list(families)
    pipe = store.client.pipeline(transaction=False)
    for family in families:
        pipe.hgetall(timings(family.name))
    found: dict[Family, Series] = {}
    for family, fields in zip(families, await pipe.execute(), strict=True):
        place = {name: i for i, name in enumerate(_names(family))}
        series: Series = {}
        for field, value in fields.items():
            try:
                *labels, name = orjson.loads(field)
            except (ValueError, TypeError):
                continue
            i = place.get(name)
            if i is None or len(labels) != len(family.labels):
                continue
            key = tuple(str(label) for label in labels)
            series.setdefault(key, [0] * family.width)[i] += int(value)
        found[family] = series
    return found
