"""``cli.py bench``: run the benchmark workloads through the real service path.

Without ``--redis-url`` a private ``redis-server`` is started (loopback, a free port, a temp
dir, AOF on with ``appendfsync everysec``: the durable baseline) and killed at the end.
With a URL, the bench EMPTIES that database (FLUSHDB) before every workload: point it at a
Redis kept for benchmarks.  The URL may name any node of a Redis Cluster (every master is
emptied); ``--cluster`` starts a private one instead (6 redis-servers on loopback, 3
masters with a replica each, AOF everysec), and ``--min-replicas-ack N`` is passed to the
bench's service, workers and API processes (the cost of waiting for replicas).
Executions are defined and started through the Service (the
``start`` workload through the REST API), run by ``--workers`` ``cli.py worker`` processes,
and counted from their stored histories.

Workloads: memory, validate (no Redis); loop, map, parallel, http, history, start, wait,
express (StartSyncExecution over the AWS API: :mod:`statemachine.bench.express`), costs
(Redis commands, bytes and CPU per operation, one row per scenario:
:mod:`statemachine.bench.costs`), dmap (a Distributed Map over 10,000 then 100,000 CSV
lines in a private moto S3, results written back: items/s, worker RSS, Redis peak memory:
:mod:`statemachine.bench.dmap`).
Each runs ``--runs`` times (medians are printed) and is bounded by ``--timeout`` seconds;
a workload that runs out of time prints what it got and says ``timed_out``.

``--json`` prints one JSON object per line per workload with the keys ``workload``,
``executions``, ``transitions``, ``transitions_per_s``, ``steps_per_s``, ``p50_ms``,
``p99_ms``, ``start_p50_ms``, ``start_p99_ms``, ``peak_rss_mb``,
``redis_bytes_per_execution``, ``redis_rtt_per_s`` (null where a figure does not apply),
followed by workload-specific figures.  See :mod:`statemachine.bench.durable` for what
``p50_ms``/``p99_ms`` measure in each workload.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from statemachine.bench.cluster import LocalCluster
from statemachine.bench.harness import Bench, Figures, RedisServer, median_of

CLUSTER_NODE_TIMEOUT_MS = 15_000
"""The private cluster's node timeout (Redis's default): a node slow under the bench's load
is not failed over."""

OFFLINE = ("memory", "validate")
DURABLE = ("loop", "map", "parallel", "http", "history", "start", "wait", "express", "costs",
           "dmap")
ORDER = OFFLINE + DURABLE

COLUMNS = (
    ("workload", "workload", 20), ("executions", "execs", 7), ("transitions", "transitions", 11),
    ("transitions_per_s", "trans/s", 9), ("steps_per_s", "steps/s", 9), ("p50_ms", "p50 ms", 8),
    ("p99_ms", "p99 ms", 8), ("start_p50_ms", "start p50", 9), ("start_p99_ms", "start p99", 9),
    ("peak_rss_mb", "RSS MB", 7), ("redis_bytes_per_execution", "Redis B/exec", 12),
    ("redis_rtt_per_s", "RTT/s", 8),
)


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    """Add the ``bench`` arguments to ``parser``."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--redis-url", default=None,
                       help="Redis to use, or any node of a Redis Cluster (its databases are "
                       "emptied!); default: a private redis-server with AOF everysec")
    where.add_argument("--cluster", action="store_true",
                       help="a private local Redis Cluster instead: 3 masters, 3 replicas")
    parser.add_argument("--min-replicas-ack", type=_non_negative, default=None, metavar="N",
                        help="the service's and workers' --min-replicas-ack (default: theirs)")
    tracing = parser.add_mutually_exclusive_group()
    tracing.add_argument("--trace", action="store_true",
                         help="tracing on: the workers and API processes export their spans to "
                         "a private stand-in OTLP collector (a process of its own); each "
                         "workload's row says how many spans it received")
    tracing.add_argument("--otlp-endpoint", default=None, metavar="URL",
                         help="tracing on, spans to this OTLP/HTTP collector (http://host:4318)")
    parser.add_argument("--workload", action="append", choices=ORDER, metavar="NAME",
                        help=f"workload to run (repeatable; default all): {', '.join(ORDER)}")
    parser.add_argument("--workers", type=_positive, default=2, help="worker processes (default 2)")
    parser.add_argument("--concurrency", type=_positive, default=32,
                        help="work items in flight per worker process (default 32)")
    parser.add_argument("--executions", type=_positive, default=None,
                        help="scale the workload: executions (loop 20, http 100, wait 100000, "
                        "map/parallel 1), loop count (history 10000), CSV lines (dmap: "
                        "10000 and 100000), repeats (memory 5, "
                        "validate 3), starts at 500/s (start and express 5000, no ramp), "
                        "executions per scenario (costs 1000)")
    parser.add_argument("--runs", type=_positive, default=1,
                        help="runs per workload; medians are printed (default 1)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds each workload may take (default 300)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line per workload")


def main(args: argparse.Namespace) -> int:
    names = [n for n in ORDER if n in (args.workload or ORDER)]
    try:
        return asyncio.run(_main(args, names))
    except RuntimeError as exc:
        print(f"statemachine bench: {exc}", file=sys.stderr)
        return 2


async def _main(args: argparse.Namespace, names: list[str]) -> int:
    server: RedisServer | PrivateCluster | None = None
    url = args.redis_url
    if url is None and any(n in DURABLE for n in names):
        server = PrivateCluster() if args.cluster else RedisServer()
        url = server.start()
        what = "Redis Cluster (3 masters, 3 replicas, " if args.cluster else "redis-server ("
        _note(f"bench: private {what}AOF everysec) at {url}", args)
    try:
        async with contextlib.AsyncExitStack() as stack:
            endpoint, spans = args.otlp_endpoint, None
            if args.trace:
                from statemachine.bench.otlp_sink import sink_service

                # spans leave within 0.2 s (not 5): a run's export costs fall in its run
                os.environ.setdefault("OTEL_BSP_SCHEDULE_DELAY", "200")
                endpoint, spans = await stack.enter_async_context(sink_service())
                _note(f"bench: tracing on, spans to a stand-in collector at {endpoint}", args)
            bench = Bench(url or "", workers=args.workers, concurrency=args.concurrency,
                          executions=args.executions, timeout=args.timeout,
                          min_replicas_ack=args.min_replicas_ack, otlp_endpoint=endpoint)
            if not args.json:
                _note(_header(), args, stream=sys.stdout)
            for name in names:
                for figures in await _workload(bench, name, args.runs, spans):
                    _print(figures, args.json)
    finally:
        if server is not None:
            server.stop()
    return 0


async def _workload(bench: Bench, name: str, runs: int,
                    spans: Callable[[], Awaitable[int]] | None = None) -> list[Figures]:
    """Every case of workload ``name``, ``runs`` times each, as per-case medians; ``spans``:
    the stand-in collector's count, whose growth over a run is its ``spans`` figure (the
    workers flush theirs when stopped, at the end of the run's session)."""
    cases = _cases(name)
    merged = []
    for label, case in cases:
        results = []
        for _ in range(runs):
            before = await spans() if spans is not None else 0
            rows = await _bounded(bench, label, case)
            if spans is not None:
                rows[-1].extra["spans"] = await spans() - before
            results.append(rows)
        # A case may print several rows (costs: one per scenario): medians row by row.
        merged += [median_of(rows) if runs > 1 else rows[0] for rows in zip(*results, strict=True)]
    return merged


Case = Callable[[Bench], Awaitable[Figures | list[Figures]]]


def _cases(name: str) -> list[tuple[str, Case]]:
    from statemachine.bench import costs, dmap, durable, express, offline, starts

    if name in OFFLINE:
        offline_case = getattr(offline, name)
        return [(name, lambda b: offline_case(b.executions))]
    if name == "map":
        return [(f"map:{m}", _in_session(durable.map_case(m, mc)))
                for m, mc in (("map1000", None), ("map1000_mc40", None),
                              ("map10000", None), ("map10000_mc40", 40),
                              ("map10000_distributed", None))]
    if name == "costs":
        return [(name, _in_session(costs.costs))]
    if name == "dmap":  # each case starts its moto S3 before its session's workers
        return [(f"dmap:{n}", dmap.dmap_case(n)) for n in dmap.LINES]
    runner = {"loop": durable.loop, "parallel": durable.parallel, "http": durable.http,
              "history": durable.history_growth, "start": starts.start, "wait": durable.wait,
              "express": express.express}[name]
    return [(name, _in_session(runner))]


def _in_session(case: Callable[[Any, int | None], Awaitable[Figures | list[Figures]]]) -> Case:
    async def run(bench: Bench) -> Figures | list[Figures]:
        async with bench.session() as session:
            return await case(session, bench.executions)
    return run


async def _bounded(bench: Bench, label: str, case: Case) -> list[Figures]:
    """Run one case (its rows); a hard stop a minute after its timeout (workloads stop at
    the timeout)."""
    try:
        result = await asyncio.wait_for(case(bench), bench.timeout + 60)
    except TimeoutError:
        return [Figures(label, extra={"timed_out": True})]
    return result if isinstance(result, list) else [result]


def _print(figures: Figures, as_json: bool) -> None:
    data = figures.as_json()
    if as_json:
        sys.stdout.write(orjson.dumps(data).decode() + "\n")
    else:
        cells = [_cell(data[key], width) for key, _, width in COLUMNS]
        sys.stdout.write(" ".join(cells) + "\n")
        extra = {k: v for k, v in data.items() if k not in {c[0] for c in COLUMNS}}
        if extra:
            sys.stdout.write("    " + orjson.dumps(extra).decode() + "\n")
    sys.stdout.flush()


def _header() -> str:
    return " ".join(title.rjust(width) if i else title.ljust(width)
                    for i, (_, title, width) in enumerate(COLUMNS))


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, float):
        text = f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        return str(value).ljust(width)
    return text.rjust(width)


def _note(message: str, args: argparse.Namespace, stream: Any = sys.stderr) -> None:
    print(message, file=stream, flush=True)


class PrivateCluster:
    """The bench's own local Redis Cluster, in a temp dir removed at :meth:`stop`."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="statemachine-bench-cluster-"))
        self.cluster = LocalCluster(self.dir, node_timeout_ms=CLUSTER_NODE_TIMEOUT_MS)

    def start(self) -> str:
        try:
            return self.cluster.start().url
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def stop(self) -> None:
        self.cluster.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value
