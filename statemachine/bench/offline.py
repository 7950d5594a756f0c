"""The workloads without Redis: the in-memory interpreter and ``cli.py validate``."""

from __future__ import annotations

import time
from pathlib import Path
from statistics import median
from typing import Any

from statemachine.bench import load_workload
from statemachine.bench.harness import Figures, percentile, rate
from statemachine.interpreter.commands import InvokeTask

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "corpus" / "real-world"
REPEATS = 5


async def _no_tasks(command: InvokeTask) -> dict[str, Any] | None:
    raise RuntimeError("the memory workload has no task states")


async def memory(executions: int | None) -> Figures:
    """``loop1000.json`` on :class:`~statemachine.runtime.local.LocalRunner`: transitions/s.

    One warm-up run, then ``REPEATS`` timed runs (or ``executions``); the median is kept.
    """
    from statemachine.language.model import compile_machine
    from statemachine.runtime.local import LocalRunner

    work = load_workload("loop1000")
    machine = compile_machine(work["definition"])
    rates: list[float] = []
    durations: list[float] = []
    transitions = 0
    for attempt in range(1 + (executions or REPEATS)):
        runner = LocalRunner(machine, _no_tasks, virtual_time=True)
        began = time.perf_counter()
        result = await runner.run(work["input"])
        elapsed = time.perf_counter() - began
        if attempt:
            transitions = result.transitions
            durations.append(elapsed * 1000)
            rates.append(result.transitions / elapsed)
    return Figures("memory", executions=len(rates), transitions=transitions,
                   transitions_per_s=round(median(rates), 1),
                   p50_ms=percentile(durations, 50), p99_ms=percentile(durations, 99),
                   extra={"status": result.execution["status"]})


async def validate(executions: int | None) -> Figures:
    """``cli.py validate``'s per-file work over the real-world corpus, after one warm-up pass.

    ``p50_ms``/``p99_ms`` are per definition (load + validate); ``steps_per_s`` is
    definitions per second; ``ms_per_definition`` the mean, ``ms_per_valid_definition`` the
    mean over the valid ones (an invalid one is explained by the reference JSON Schema
    validator, far slower); ``cold_ms_per_definition`` the first pass's mean (it includes
    building the validators once).
    """
    from statemachine.cli.validate import check_file

    files = sorted(str(p) for p in CORPUS.glob("*.json") if p.name != "INDEX.json")
    if not files:
        return Figures("validate", extra={"error": f"no corpus at {CORPUS}"})
    began = time.perf_counter()
    invalid = {path for path in files if check_file(path, {})}
    cold = (time.perf_counter() - began) * 1000 / len(files)
    each: list[float] = []
    valid: list[float] = []
    for _ in range(executions or 3):
        for path in files:
            t = time.perf_counter()
            check_file(path, {})
            each.append((time.perf_counter() - t) * 1000)
            if path not in invalid:
                valid.append(each[-1])
    total_s = sum(each) / 1000
    return Figures("validate", executions=len(files),
                   steps_per_s=rate(len(each), total_s),
                   p50_ms=percentile(each, 50), p99_ms=percentile(each, 99),
                   extra={"ms_per_definition": round(sum(each) / len(each), 4),
                          "ms_per_valid_definition": round(sum(valid) / max(1, len(valid)), 4),
                          "cold_ms_per_definition": round(cold, 4), "invalid": len(invalid)})
