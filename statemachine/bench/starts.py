"""The ``start`` workload: StartExecution over the REST API at fixed rates.

The API runs as its own process (``cli.py serve --workers 0``, every request carrying the
admin key it was started with), the worker processes run
the started executions (a Pass then Succeed), and this process is the load generator.
The load is open-loop: request *i* is sent at ``t0 + i / rate`` whatever the answers do,
so a slow server shows up as latency rather than as a politely lower rate.  500/s is held
for 10 s (the target's figure), then the rate steps up for 3 s at a time until a step is
not held: fewer than 95% of the requested starts answered per second, or any error.
Beside the latencies, ``api_cpu_us_per_start``: the API process's CPU time per start of the
500/s stretch, which the rest of the machine's load moves far less than it moves latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import psutil

from statemachine.bench.harness import CLI, Figures, Session, free_port, percentile, rate
from statemachine.security.keys import ADMIN_KEY_ENV, new_key_id, new_secret

BASE_RATE, BASE_SECONDS = 500, 10.0
STEP_RATES, STEP_SECONDS = (1000, 1500, 2000, 3000, 4000), 3.0
HELD = 0.95
TRIVIAL = {"StartAt": "Go", "States": {"Go": {"Type": "Pass", "Next": "Done"},
                                       "Done": {"Type": "Succeed"}}}


@dataclass
class Step:
    """One fixed-rate stretch of starts."""

    rate: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    @property
    def achieved(self) -> float:
        return len(self.latencies_ms) / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def held(self) -> bool:
        return self.errors == 0 and self.achieved >= HELD * self.rate


@contextlib.asynccontextmanager
async def api_process(url: str, key: tuple[str, str] | None = None, args: Sequence[str] = (),
                      ) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """``cli.py serve --workers 0 ARGS`` on a free loopback port, with an admin key (``key``:
    this id and secret, else a new one) set through ``STATEMACHINE_ADMIN_KEY``; yields its
    base URL and the key's Authorization header."""
    port = free_port()
    key_id, secret = key or (new_key_id(), new_secret())
    with tempfile.TemporaryDirectory(prefix="statemachine-bench-api-") as empty:
        proc = subprocess.Popen(  # noqa: ASYNC220 -- the API server runs for the workload
            [sys.executable, "-c", CLI, "serve", "--redis-url", url, "--workers", "0",
             "--host", "127.0.0.1", "--port", str(port), "--definitions", empty,
             "--data-dir", empty, "--log-level", "WARNING", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, ADMIN_KEY_ENV: f"{key_id}:{secret}"},
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await _until_healthy(base, proc)
            yield base, {"Authorization": f"Bearer {secret}"}
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _until_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"cli.py serve exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/healthz") as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("the API did not become healthy")


def api_cpu_s(base: str) -> float:
    """CPU seconds the API process (this process's ``serve`` child on ``base``'s port) used:
    the cost of a call whatever else the machine runs, beside the latencies that show it."""
    port = base.rsplit(":", 1)[1]
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            line = child.cmdline()
            if "serve" in line and port in line:
                times = child.cpu_times()
                return float(times.user + times.system)
    return 0.0


async def offer(step: Step, limit: float, one: Callable[[], Coroutine[Any, Any, None]]) -> Step:
    """Call ``one`` ``step.rate`` times per second for ``step.seconds``, open loop (a call
    starts on time whether or not the earlier ones have answered), none after ``limit``
    (loop time); ``one`` records its own latency or error in ``step``."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    pending: list[asyncio.Task[None]] = []
    for i in range(int(step.rate * step.seconds)):
        delay = t0 + i / step.rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if loop.time() > limit:
            break
        pending.append(asyncio.create_task(one()))
    await asyncio.gather(*pending)
    step.elapsed = loop.time() - t0
    return step


async def fire(http: aiohttp.ClientSession, url: str, step: Step, limit: float) -> Step:
    """Send ``step.rate`` starts per second for ``step.seconds`` (open loop)."""

    async def one() -> None:
        began = time.perf_counter()
        try:
            async with http.post(url, json={"input": {}}) as answer:
                await answer.read()
                if answer.status != 201:
                    step.errors += 1
                    return
        except aiohttp.ClientError:
            step.errors += 1
            return
        step.latencies_ms.append((time.perf_counter() - began) * 1000)

    return await offer(step, limit, one)


async def start(s: Session, executions: int | None) -> Figures:
    """500 starts/s for 10 s over the REST API, then higher rates until one is not held."""
    base_seconds = BASE_SECONDS if executions is None else max(1.0, executions / BASE_RATE)
    limit = asyncio.get_running_loop().time() + s.left()
    async with api_process(s.url, args=s.serve_args) as (base, headers), aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=512), headers=headers
    ) as http:
        async with http.post(f"{base}/v1/state-machines",
                             json={"name": "trivial", "definition": TRIVIAL}) as answer:
            answer.raise_for_status()
        url = f"{base}/v1/state-machines/trivial/executions"
        cpu_before = api_cpu_s(base)
        first = await fire(http, url, Step(BASE_RATE, base_seconds), limit)
        cpu = api_cpu_s(base) - cpu_before
        steps = [first]
        if executions is None:
            for r in STEP_RATES:
                if not steps[-1].held:
                    break
                steps.append(await fire(http, url, Step(r, STEP_SECONDS), limit))
    held = [st.rate for st in steps if st.held]
    figures = s.figures(
        "start", executions=sum(len(st.latencies_ms) for st in steps),
        steps_per_s=rate(len(first.latencies_ms), first.elapsed),
        start_p50_ms=percentile(first.latencies_ms, 50),
        start_p99_ms=percentile(first.latencies_ms, 99),
    )
    figures.extra.update(
        api_cpu_us_per_start=(round(cpu * 1e6 / len(first.latencies_ms))
                              if first.latencies_ms else None),
        rate_requested=first.rate, errors=first.errors,
        highest_rate_held=max(held) if held else None,
        steps=[{"rate": st.rate, "achieved": round(st.achieved, 1), "errors": st.errors,
                "p50_ms": percentile(st.latencies_ms, 50), "p99_ms": percentile(st.latencies_ms, 99)}
               for st in steps],
    )
    return figures
