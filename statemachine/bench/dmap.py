"""The ``dmap`` workload: a Distributed Map over a CSV of N lines in S3, results written back.

Each case starts its own moto S3 server (in this process, on loopback) and points the
bench's worker processes at it with ``STATEMACHINE_AWS_ENDPOINT``; a small aiohttp service
(here too) is the children's task: it notes every item it is sent, by ``Idempotency-Key``
(a re-sent request counts once).  The machine: ``ItemReader`` CSV, ``ItemBatcher`` of 100,
EXPRESS children that POST their batch, ``ResultWriter`` to the same bucket.

Figures: ``steps_per_s`` is items per second (first start to the Map's end, reading and
writing included); ``peak_rss_mb`` the largest worker's; ``redis_peak_mb`` the largest
``used_memory`` sampled while it ran, less what Redis used before, and
``redis_bytes_per_item`` the same per CSV line — the figures to compare between the
10,000- and 100,000-line cases to see whether memory grows with the item count.
``items_once`` says every item reached the task exactly once (logically).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from statemachine.bench.durable import start_batch, wait_batch
from statemachine.bench.harness import Bench, Figures, Session, free_port, rate, wall_ms

LINES = (10_000, 100_000)
BATCH = 100
SAMPLE_S = 0.1
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}


class Recorder:
    """The children's task: ``POST /items`` with ``{"Items": [...]}`` answers ``{"n"}`` and
    notes the items' ids under the request's ``Idempotency-Key``."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[str]] = {}
        self.requests = 0

    async def items(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        ids = [str(item.get("id")) for item in body.get("Items") or ()]
        self.requests += 1
        self.by_key[request.headers.get("Idempotency-Key") or str(self.requests)] = ids
        return web.json_response({"n": len(ids)})

    def seen(self) -> Counter[str]:
        return Counter(i for ids in self.by_key.values() for i in ids)


def machine(task_url: str, bucket: str) -> dict[str, Any]:
    """The workload's definition (also the done-when test's)."""
    return {"StartAt": "Lines", "States": {"Lines": {
        "Type": "Map", "Label": "Lines",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                       "Parameters": {"Bucket": bucket, "Key": "lines.csv"}},
        "ItemBatcher": {"MaxItemsPerBatch": BATCH},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Record", "States": {"Record": {
                "Type": "Task", "Resource": task_url, "End": True}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                         "Parameters": {"Bucket": bucket, "Prefix": "results"}},
        "End": True}}}


def csv_body(lines: int) -> bytes:
    """``lines`` CSV rows under a header: ``id`` (0..lines-1), ``name``, ``qty``."""
    return ("id,name,qty\n" + "".join(f"{i},item-{i},{i % 97}\n" for i in range(lines))).encode()


@contextlib.asynccontextmanager
async def recorder() -> AsyncIterator[tuple[str, Recorder]]:
    """The task service on a free loopback port: (its URL, its notes)."""
    notes = Recorder()
    app = web.Application(client_max_size=8 * 2**20)
    app.router.add_post("/items", notes.items)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}/items", notes
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def moto_s3() -> Any:
    """moto's server on a free loopback port, and the environment that points the workers
    (started after this) at it; both undone at the end."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # moto is a test dependency
        raise RuntimeError("the dmap workload needs moto[server] (pip install 'moto[server]')") from exc
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # not a line per S3 request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    env = {**FAKE_AWS, "STATEMACHINE_AWS_ENDPOINT": url}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield url
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


async def _s3_setup(url: str, bucket: str, body: bytes) -> None:
    from aiobotocore.session import get_session

    async with get_session().create_client("s3", endpoint_url=url, region_name="us-east-1",
                                           aws_access_key_id="testing",
                                           aws_secret_access_key="testing") as s3:
        await s3.create_bucket(Bucket=bucket)
        await s3.put_object(Bucket=bucket, Key="lines.csv", Body=body)


async def _sampled_peak(s: Session, stop: asyncio.Event) -> int:
    """The largest ``used_memory`` seen until ``stop`` is set."""
    peak = 0
    while not stop.is_set():
        peak = max(peak, await s.probe.used_memory())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_S)
    return max(peak, await s.probe.used_memory())


def dmap_case(lines: int) -> Callable[[Bench], Awaitable[Figures]]:
    """The case over ``lines`` CSV lines (``--executions`` overrides the count)."""

    async def run(bench: Bench) -> Figures:
        count = bench.executions or lines
        with moto_s3() as url:
            bucket = f"dmap-{count}-{int(time.time())}"
            await _s3_setup(url, bucket, csv_body(count))
            async with recorder() as (task_url, notes), bench.session() as s:
                await s.service.define("dmap", machine(task_url, bucket))
                stop = asyncio.Event()
                sampler = asyncio.create_task(_sampled_peak(s, stop))
                began = wall_ms()
                batch = await wait_batch(s, await start_batch(s, "dmap", [{}]))
                stop.set()
                peak = await sampler
                seconds = (batch.end_ms or wall_ms()) - began
                seen = notes.seen()
                grew = max(0, peak - s.memory_before)
                figures = s.figures(
                    f"dmap:{count}", executions=len(batch.done()),
                    steps_per_s=rate(count, seconds / 1000),
                    p50_ms=round(seconds, 1),
                    redis_bytes_per_execution=grew,
                )
        described = batch.described[0] if batch.described else {}
        figures.extra.update({
            "items": count, "items_per_s": rate(count, seconds / 1000),
            "redis_peak_mb": round(grew / 2**20, 1),
            "redis_bytes_per_item": round(grew / max(1, count), 1),
            "task_requests": notes.requests,
            "items_once": len(seen) == count and all(n == 1 for n in seen.values()),
            "status": described.get("status"),
        })
        if described.get("status") != "SUCCEEDED":
            figures.extra["first_failure"] = f"{described.get('error')}: {described.get('cause')}"[:300]
        return figures

    return run
