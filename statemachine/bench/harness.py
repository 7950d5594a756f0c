"""The bench's machinery: a private redis-server, worker processes, probes, the figures.

Every durable workload runs in a :class:`Session`: the database is emptied, the Redis
round-trip rate is measured (:class:`~statemachine.runtime.store.probes.Probe`: sequential
``EVALSHA`` of a small HSET+XADD+ZADD script, the ceiling of one durable commit per
transition), fresh worker processes are started (so each workload's peak RSS is its own),
and the memory Redis uses is noted so the workload can report bytes per execution.

The URL may name a node of a Redis Cluster: the probe asks every master, and the workers
and API processes the bench starts find the cluster themselves from the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from statistics import median
from typing import Any

import psutil

from statemachine.runtime.embedded import MEMORY_SETTINGS, ping
from statemachine.runtime.store.probes import Probe

CLI = "import sys; from statemachine.cli import main; sys.exit(main())"


@dataclass
class Figures:
    """One workload's figures; ``None`` where a figure does not apply.  ``extra`` is printed
    after the standard keys (workload-specific figures such as the wait workload's CPU)."""

    workload: str
    executions: int | None = None
    transitions: int | None = None
    transitions_per_s: float | None = None
    steps_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    start_p50_ms: float | None = None
    start_p99_ms: float | None = None
    peak_rss_mb: float | None = None
    redis_bytes_per_execution: float | None = None
    redis_rtt_per_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        data.update(self.extra)
        return data


STANDARD_KEYS = tuple(f.name for f in fields(Figures) if f.name != "extra")


def median_of(runs: Sequence[Figures]) -> Figures:
    """Per-figure medians of several runs of one workload (non-numbers: the last run's)."""
    merged = Figures(runs[0].workload)
    for key in STANDARD_KEYS[1:]:
        setattr(merged, key, _median([getattr(r, key) for r in runs]))
    extra_keys = dict.fromkeys(k for r in runs for k in r.extra)
    for key in extra_keys:
        values = [r.extra.get(key) for r in runs]
        numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        merged.extra[key] = _median(numeric) if numeric else values[-1]
    merged.extra["runs"] = len(runs)
    return merged


def _median(values: Iterable[Any]) -> Any:
    present = [v for v in values if v is not None]
    if not present:
        return None
    middle = median(present)
    return round(middle, 3) if isinstance(middle, float) else middle


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return round(float(ordered[rank]), 3)


def rate(count: float, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


def wall_ms() -> float:
    return time.time() * 1000


# -- Redis --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A private redis-server on loopback: AOF on, ``appendfsync everysec``, in a temp dir."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="statemachine-bench-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; install it or pass --redis-url")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
             "--protected-mode", "yes", "--logfile", str(self.dir / "redis.log"),
             *MEMORY_SETTINGS],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if ping(self.port):
                return self.url
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start (see {self.dir / 'redis.log'})")

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(10)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


# -- workers ------------------------------------------------------------------------------


class WorkerPool:
    """N ``cli.py worker`` processes, their peak RSS (sampled) and their CPU time."""

    def __init__(self, url: str, count: int, concurrency: int,
                 args: Sequence[str] = ()) -> None:
        self.url, self.count, self.concurrency = url, count, concurrency
        self.args = tuple(args)
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 -- the workers' output, open while they run
        self.procs: list[subprocess.Popen[bytes]] = []
        self._peak = 0
        self._sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    async def start(self, probe: Probe, readers: int, timeout: float = 60.0) -> None:
        """Spawn the processes and wait until each one's ``readers`` stream readers block."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        for _ in range(self.count):
            self.procs.append(subprocess.Popen(  # noqa: ASYNC220 -- long-lived, not awaited
                [sys.executable, "-c", CLI, "worker", "--redis-url", self.url,
                 "--concurrency", str(self.concurrency), "--log-level", "WARNING", *self.args],
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env,
            ))
        self._sampling.set()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        await self._until_ready(probe, self.count * readers, timeout)

    async def _until_ready(self, probe: Probe, wanted: int, timeout: float) -> None:
        """Until the workers' stream readers block in Redis."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"worker process {proc.pid} exited with {proc.returncode}:\n"
                                       + self.log_tail())
            if await probe.blocked_clients() >= wanted:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"the workers did not start reading within {timeout} s")

    def _sample(self) -> None:
        while self._sampling.is_set():
            self._peak = max(self._peak, self._rss_now())
            time.sleep(0.05)

    def _rss_now(self) -> int:
        peak = 0
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, psutil.Process(proc.pid).memory_info().rss)
        return peak

    def peak_rss_mb(self) -> float:
        """The largest RSS any one worker reached (sampled, and the kernel's high-water mark)."""
        peak = self._peak
        for proc in self.procs:
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
        return round(peak / 2**20, 1)

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(proc.pid).cpu_times()
                total += times.user + times.system
        return total

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (graceful), then SIGKILL whatever is still running after ``timeout``."""
        self._sampling.clear()
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._sampler is not None:
            self._sampler.join()
        self.log.close()

    def log_tail(self, size: int = 2000) -> str:
        """The end of what the workers wrote (their log lines and messages)."""
        self.log.seek(0, os.SEEK_END)
        self.log.seek(max(0, self.log.tell() - size))
        return self.log.read().decode(errors="replace")


# -- sessions -----------------------------------------------------------------------------


@dataclass
class Session:
    """What a durable workload gets: the service, the probe of its Redis, the workers."""

    url: str
    service: Any
    probe: Probe
    workers: WorkerPool
    rtt_per_s: float
    memory_before: int
    deadline: float
    serve_args: tuple[str, ...] = ()
    """Arguments for every ``cli.py serve`` the workload starts (as the workers got)."""

    def left(self) -> float:
        """Seconds until this workload's timeout."""
        return self.deadline - time.monotonic()

    def figures(self, name: str, **values: Any) -> Figures:
        """Figures with the session-wide ones (RTT, peak RSS) filled in."""
        figures = Figures(name, redis_rtt_per_s=self.rtt_per_s,
                          peak_rss_mb=self.workers.peak_rss_mb(), **values)
        return figures


@dataclass
class Bench:
    """Settings shared by every workload of one ``cli.py bench`` run."""

    url: str
    workers: int = 2
    concurrency: int = 32
    executions: int | None = None
    timeout: float = 300.0
    min_replicas_ack: int | None = None
    """``--min-replicas-ack`` of the service and workers (None: their default)."""
    otlp_endpoint: str | None = None
    """``--otlp-endpoint`` of the service and workers: tracing on (None: off)."""

    def serve_args(self) -> tuple[str, ...]:
        """The arguments the bench's worker and API processes get besides the URL."""
        args: tuple[str, ...] = ()
        if self.min_replicas_ack is not None:
            args += ("--min-replicas-ack", str(self.min_replicas_ack))
        if self.otlp_endpoint is not None:
            args += ("--otlp-endpoint", self.otlp_endpoint)
        return args

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        """An emptied database, the RTT probe, fresh workers, a connected Service."""
        from statemachine.runtime.settings import Settings
        from statemachine.service import Service

        probe = await Probe.open(self.url)
        pool = WorkerPool(self.url, self.workers, self.concurrency, self.serve_args())
        service = None
        try:
            await probe.flush()
            rtt = await probe.rtt_rate()
            settings = Settings.from_env(redis_url=self.url, min_replicas_ack=self.min_replicas_ack)
            service = await Service.connect(self.url, settings=settings)
            # Each worker blocks one reader per stream kind (ready, tasks): on a Redis
            # Cluster one per shard (a command may not span slots).
            shards = len(service.store.shards) if probe.cluster else 1
            await pool.start(probe, readers=2 * shards)
            before = await probe.used_memory()
            yield Session(self.url, service, probe, pool, rtt, before,
                          time.monotonic() + self.timeout, self.serve_args())
        finally:
            pool.stop()
            if service is not None:
                await service.close()
            await probe.close()
