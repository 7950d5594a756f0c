"""Map Runs: the records of Distributed Maps' runs, read, found by ARN, and updated live.

A Map Run is written by the commits of its execution and of its children (worker/plan.py):
``sm:T:mr:<owner>`` holds every Map Run of one owner (the execution whose history records
it: a root, or a Map Run's child), its fields ``<run>:<name>`` where ``run`` is
``<parent id>/<group>`` (the prefix of its children's ids); ``sm:T:ma:<id>`` finds a run
from the id its ARN ends with: on its owner's shard (written by the commits), and on the
shard the id itself picks (the index a lookup reads: one key).  Counters: ``started``, one per final status and ``written``
(the children whose results its ResultWriter wrote), each also as ``i:<what>`` counting
items (a batch's items).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from statemachine.interpreter.children import history_owner
from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.codec import child_pieces
from statemachine.runtime.store.executions import lane_of
from statemachine.runtime.store.machines import WAIT_S
from statemachine.runtime.store.scripts import UpdateRunReply

__all__ = ["MapRunRecord", "MapRuns"]

ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True, slots=True)
class MapRunRecord:
    """One Map Run as stored; ``counts`` and ``items``: started, ended by final status and
    written by its ResultWriter (children and items), ``total``/``item_total`` None until its children are opened."""

    owner: str
    run: str
    arn: str
    status: str
    start: int
    stop: int | None
    max_concurrency: int
    tolerated_count: int | None
    tolerated_percentage: float | None
    total: int
    item_total: int
    counts: dict[str, int]
    items: dict[str, int]

    @property
    def parent(self) -> str:
        """The execution whose Map state started the run."""
        return self.run.rsplit("/", 1)[0]


class MapRuns:
    def __init__(self, store: RedisStore) -> None:
        self._store = store

    async def of(self, execution_id: str) -> list[MapRunRecord]:
        """Every Map Run recorded in ``execution_id``'s history, oldest first."""
        key = self._store.shard(execution_id).map_runs(execution_id)
        raw = await self._store.retry(lambda: self._store.client.hgetall(key), give_up_s=WAIT_S)
        fields: dict[str, dict[str, str]] = {}
        for name, value in raw.items():
            run, _, field = name.decode().partition(":")
            fields.setdefault(run, {})[field] = value.decode()
        runs = [_record(execution_id, run, f) for run, f in fields.items() if "arn" in f]
        return sorted(runs, key=lambda r: (r.start, r.run))

    async def find(self, run_uuid: str) -> MapRunRecord | None:
        """The Map Run whose ARN ends with ``run_uuid``: one key, its index on the shard the
        id picks (a run begun before that index was kept is looked up on every shard)."""
        client = self._store.client
        index = self._store.shard(run_uuid).map_run_arn(run_uuid)

        async def look() -> list[Any]:
            found = await client.get(index)
            if found is not None:
                return [found]
            return list(await asyncio.gather(*(client.get(shard.map_run_arn(run_uuid))
                                               for shard in self._store.shards)))

        for found in await self._store.retry(look, give_up_s=WAIT_S):
            if found is not None:
                owner, _, run = found.decode().partition(" ")
                return next((r for r in await self.of(owner) if r.run == run), None)
        return None

    async def update(self, run: MapRunRecord, max_concurrency: int | None,
                     tolerated_count: int | None,
                     tolerated_percentage: float | None) -> UpdateRunReply:
        """UpdateMapRun (update_run.lua): UPDATED, NO_RUN (gone) or ENDED (not changed)."""
        shard = self._store.shard(run.owner)
        parent, group = run.run.rsplit("/", 1)
        pieces = child_pieces(parent, group)
        lane = await lane_of(self._store, parent)  # the children's Started go to its queue
        keys = [lane.ready, shard.map_runs(run.owner), shard.group(parent, group),
                shard.group_running(parent, group)]
        args = ["" if max_concurrency is None else max_concurrency,
                "" if tolerated_count is None else tolerated_count,
                "" if tolerated_percentage is None else tolerated_percentage,
                self._store.settings.children_in_flight, pieces.started_head,
                pieces.started_middle]
        reply = await self._store.retry(
            lambda: self._store.script("update_run", keys, [run.run, *args]), give_up_s=WAIT_S)
        return UpdateRunReply(reply[0])


def owner_of(run: str) -> str:
    """The owner of Map Run ``run`` (its parent's history owner)."""
    return history_owner(run.rsplit("/", 1)[0])


def _number(text: str | None) -> float | None:
    return None if text is None or text == "" else float(text)


def _record(owner: str, run: str, f: dict[str, str]) -> MapRunRecord:
    tc, tp = _number(f.get("tc")), _number(f.get("tp"))
    return MapRunRecord(
        owner=owner, run=run, arn=f["arn"], status=f.get("status", "RUNNING"),
        start=int(f.get("start", 0)), stop=int(f["stop"]) if f.get("stop") else None,
        max_concurrency=int(f.get("mc") or 0),
        tolerated_count=None if tc is None else int(tc), tolerated_percentage=tp,
        total=int(f.get("total") or 0), item_total=int(f.get("items") or 0),
        counts={w: int(f.get(w) or 0) for w in ("started", *ENDED, "written")},
        items={w: int(f.get("i:" + w) or 0) for w in ("started", *ENDED, "written")},
    )
