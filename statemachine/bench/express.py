"""The ``express`` workload: StartSyncExecution over the AWS API at fixed rates.

The API runs as its own process (``cli.py serve --workers 0``: an EXPRESS execution runs in
the API process, no worker is involved), and this process is the load generator, as in the
``start`` workload (:mod:`.starts`): open loop, 500/s held for 10 s (the target: p99 under
5 ms), then the rate steps up for 3 s at a time until a step is not held (or, when 500/s
is not held, down until one is).  Each request is
a real AWS JSON 1.0 call signed with SigV4 by botocore's signer (the admin key the API was
started with); the signature is made once per second (it covers the time to the second and
the body, both the same within that second), so signing costs the generator little.

The machine (``workloads/express5.json``) is five states, Pass and Choice: each answer is
a whole execution, start to end.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson

from statemachine.bench import load_workload
from statemachine.bench.harness import Figures, Session, percentile, rate
from statemachine.bench.starts import (
    BASE_RATE,
    BASE_SECONDS,
    STEP_SECONDS,
    Step,
    api_cpu_s,
    api_process,
    offer,
)
from statemachine.security.keys import new_key_id, new_secret

STEP_RATES = (1000, 1500, 2000, 2500, 3000, 4000)
LOWER_RATES = (400, 300, 200, 100)
"""Tried, down from the base rate, when the base rate is not held (a busy machine)."""
TARGET = "AWSStepFunctions.{}"
CONTENT_TYPE = "application/x-amz-json-1.0"


class Signer:
    """SigV4 headers for one body, made again when the second changes."""

    def __init__(self, base: str, key_id: str, secret: str, region: str = "us-east-1") -> None:
        from botocore.auth import SigV4Auth
        from botocore.credentials import Credentials

        self._auth = SigV4Auth(Credentials(key_id, secret), "states", region)
        self._base = base
        self._cache: dict[tuple[str, bytes], tuple[int, dict[str, str]]] = {}

    def headers(self, operation: str, body: bytes) -> dict[str, str]:
        from botocore.awsrequest import AWSRequest

        second = int(time.time())
        cached = self._cache.get((operation, body))
        if cached is not None and cached[0] == second:
            return cached[1]
        request = AWSRequest("POST", f"{self._base}/", data=body, headers={
            "Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET.format(operation)})
        self._auth.add_auth(request)
        headers = dict(request.headers.items())
        self._cache[(operation, body)] = (second, headers)
        return headers


async def call(http: aiohttp.ClientSession, base: str, signer: Signer, operation: str,
               payload: dict[str, Any]) -> tuple[int, Any]:
    body = orjson.dumps(payload)
    async with http.post(f"{base}/", data=body, headers=signer.headers(operation, body)) as answer:
        return answer.status, orjson.loads(await answer.read() or b"null")


async def fire(http: aiohttp.ClientSession, base: str, signer: Signer,
               payload: dict[str, Any], step: Step, limit: float) -> Step:
    """``step.rate`` StartSyncExecution calls per second for ``step.seconds`` (open loop); a
    call counts when its execution SUCCEEDED."""

    async def one() -> None:
        began = time.perf_counter()
        try:
            status, answer = await call(http, base, signer, "StartSyncExecution", payload)
        except aiohttp.ClientError:
            step.errors += 1
            return
        if status != 200 or answer.get("status") != "SUCCEEDED":
            step.errors += 1
            return
        step.latencies_ms.append((time.perf_counter() - began) * 1000)

    return await offer(step, limit, one)


async def _create(http: aiohttp.ClientSession, base: str, signer: Signer,
                  definition: dict[str, Any]) -> str:
    """The EXPRESS machine ``express5`` made with CreateStateMachine; its ARN."""
    status, created = await call(http, base, signer, "CreateStateMachine", {
        "name": "express5", "type": "EXPRESS", "roleArn": "arn:aws:iam::123456789012:role/bench",
        "definition": orjson.dumps(definition).decode()})
    if status != 200:
        raise RuntimeError(f"CreateStateMachine failed: {created}")
    return str(created["stateMachineArn"])


async def express(s: Session, executions: int | None) -> Figures:
    """500 StartSyncExecution/s for 10 s, then higher rates until one is not held."""
    base_seconds = BASE_SECONDS if executions is None else max(1.0, executions / BASE_RATE)
    limit = asyncio.get_running_loop().time() + s.left()
    workload = load_workload("express5")
    key = (new_key_id(), new_secret())
    async with api_process(s.url, key, s.serve_args) as (base, _), aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=512)
    ) as http:
        signer = Signer(base, *key)
        arn = await _create(http, base, signer, workload["definition"])
        payload = {"stateMachineArn": arn, "input": orjson.dumps(workload["input"]).decode()}
        # A short warm-up: the first calls compile the machine and open connections.
        await fire(http, base, signer, payload, Step(100, 1.0), limit)
        cpu_before = api_cpu_s(base)
        first = await fire(http, base, signer, payload, Step(BASE_RATE, base_seconds), limit)
        cpu = api_cpu_s(base) - cpu_before
        steps = [first]
        if executions is None:
            for r in STEP_RATES if first.held else LOWER_RATES:
                if steps[-1].held != first.held:
                    break
                steps.append(await fire(http, base, signer, payload, Step(r, STEP_SECONDS), limit))
    held = [st.rate for st in steps if st.held]
    states = len(workload["definition"]["States"])
    figures = s.figures(
        "express", executions=sum(len(st.latencies_ms) for st in steps),
        steps_per_s=rate(len(first.latencies_ms), first.elapsed),
        p50_ms=percentile(first.latencies_ms, 50), p99_ms=percentile(first.latencies_ms, 99),
    )
    figures.extra.update(
        path="AWS JSON 1.0 (SigV4) StartSyncExecution", states=states,
        api_cpu_us_per_call=round(cpu * 1e6 / len(first.latencies_ms)) if first.latencies_ms else None,
        rate_requested=first.rate, errors=first.errors,
        highest_rate_held=max(held) if held else None,
        steps=[{"rate": st.rate, "achieved": round(st.achieved, 1), "errors": st.errors,
                "p50_ms": percentile(st.latencies_ms, 50), "p99_ms": percentile(st.latencies_ms, 99)}
               for st in steps],
    )
    return figures
