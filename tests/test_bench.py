"""Smoke tests of ``cli.py bench``: the JSON lines it prints, with tiny sizes.

They check the shape and the counts (which are deterministic), never a time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from statemachine.bench.harness import STANDARD_KEYS

ROOT = Path(__file__).resolve().parent.parent


def bench(*args: str, timeout: float = 120) -> list[dict[str, Any]]:
    """Run ``cli.py bench --json ARGS``; the parsed lines, by workload."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "bench", "--json", *args],
        cwd=ROOT, capture_output=True, timeout=timeout, check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    lines = [orjson.loads(line) for line in done.stdout.splitlines() if line.strip()]
    for line in lines:
        assert set(STANDARD_KEYS) <= set(line), line
    return lines


def positive(line: dict[str, Any], *keys: str) -> None:
    for key in keys:
        value = line[key]
        assert isinstance(value, (int, float)) and value > 0, (key, line)


def test_memory_and_validate_without_redis() -> None:
    memory, validate = bench("--workload", "memory", "--workload", "validate", "--executions", "1")
    assert memory["workload"] == "memory" and validate["workload"] == "validate"
    assert memory["transitions"] == 2003  # loop1000.json: 2,003 state transitions
    assert memory["status"] == "SUCCEEDED"
    positive(memory, "transitions_per_s", "p50_ms")
    assert memory["redis_rtt_per_s"] is None and memory["peak_rss_mb"] is None
    assert validate["executions"] > 200  # the real-world corpus
    positive(validate, "steps_per_s", "p50_ms", "p99_ms", "ms_per_definition")


def test_loop_through_redis_and_a_worker_process() -> None:
    (loop,) = bench("--workload", "loop", "--executions", "2", "--workers", "1", "--timeout", "60")
    assert loop["workload"] == "loop"
    assert loop["executions"] == 2
    assert loop["transitions"] == 2 * 2003
    assert "failed" not in loop and "timed_out" not in loop
    positive(loop, "transitions_per_s", "p50_ms", "p99_ms", "start_p50_ms", "start_p99_ms",
             "peak_rss_mb", "redis_bytes_per_execution", "redis_rtt_per_s")
    assert loop["steps_per_s"] is None


def test_express_start_sync_over_the_aws_api() -> None:
    (express,) = bench("--workload", "express", "--executions", "500", "--workers", "1",
                       "--timeout", "60")
    assert express["workload"] == "express" and express["states"] == 5
    assert express["path"].startswith("AWS JSON 1.0")
    assert express["rate_requested"] == 500
    assert express["executions"] == 500 and express["errors"] == 0  # every call SUCCEEDED
    positive(express, "p50_ms", "p99_ms", "steps_per_s", "api_cpu_us_per_call")


def test_costs_prints_one_row_per_scenario_with_its_redis_commands() -> None:
    from statemachine.bench.costs import FIGURES, SCENARIOS

    rows = bench("--workload", "costs", "--executions", "5", "--workers", "1", "--timeout", "60")
    assert [r["workload"] for r in rows] == [f"costs:{s.name}" for s in SCENARIOS]
    for row, scenario in zip(rows, SCENARIOS, strict=True):
        assert "timed_out" not in row, row
        assert row["executions"] == 5 and row["units"] == scenario.units
        # Every execution starts with a script (start.lua) and commits at least once
        # (commit.lua); the idle share subtracted (timer polls) makes the counts approximate.
        assert row["scripts"] > 1 and row["cmd_evalsha"] > 1, row
        positive(row, "transitions", "redis_calls", "net_in_bytes", "record_bytes",
                 "history_bytes", "events", "history_bytes_per_event")
        for key in FIGURES:
            assert isinstance(row[key], (int, float)), (key, row)
        assert ("op_scripts" in row) == (scenario.name not in ("start", "succeed")), row
    by_name = {r["workload"]: r for r in rows}
    assert by_name["costs:pass"]["transitions"] == 5 * 11  # 10 Pass states and the Succeed
    assert abs(by_name["costs:pass"]["op_scripts"]) < 0.5  # Pass states run through in one commit
    assert by_name["costs:http"]["op_scripts"] > 0.5  # the invoker's result script


def test_dmap_reads_writes_and_counts_each_item_once() -> None:
    """The Distributed Map workload, 300 CSV lines per case (its own moto S3): every item
    reached the task once, the execution succeeded, the memory figures are there."""
    rows = bench("--workload", "dmap", "--executions", "300", "--workers", "1", timeout=240)
    assert [r["workload"] for r in rows] == ["dmap:300", "dmap:300"]
    for row in rows:
        assert row["status"] == "SUCCEEDED" and row["items_once"] is True, row
        assert row["items"] == 300 and row["task_requests"] == 3
        positive(row, "items_per_s", "peak_rss_mb")
        assert row["redis_bytes_per_item"] >= 0
