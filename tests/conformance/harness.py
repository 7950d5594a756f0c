"""Run a conformance case in this process through the real engine (``advance()`` + LocalRunner).

Shared by the pytest suite and by ``python -m tests.conformance.harness`` (a quick report).
Timers run on virtual time, so a case with an 8 s retry takes milliseconds; task
calls are real HTTP requests to the local Lambda stand-in (tests/lambda_service.py).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"

_spec = importlib.util.spec_from_file_location("conformance_check", HERE / "check.py")
assert _spec and _spec.loader
check = importlib.util.module_from_spec(_spec)
sys.modules["conformance_check"] = check
_spec.loader.exec_module(check)


def case_files(group: str | None = None) -> list[Path]:
    pattern = f"{group}/*.json" if group else "*/*.json"
    return sorted(CASES.glob(pattern))


async def run_case(case: dict[str, Any], invoke: Any) -> dict[str, Any]:
    from statemachine.language.model import compile_machine
    from statemachine.runtime.local import LocalRunner

    machine = compile_machine(case["definition"])
    runner = LocalRunner(machine, invoke, name="conformance", virtual_time=True,
                         express=case.get("state_machine_type") == "EXPRESS")
    result = await runner.run(case["input"], execution_name=case["name"])
    ex = result.execution
    return {
        "status": ex["status"],
        "output": ex["output"],
        "error": ex["error"],
        "cause": ex["cause"],
        "history_types": [h["type"] for h in result.history],
    }


def verdict(case: dict[str, Any], result: dict[str, Any]) -> str | None:
    return check.check_result(case, result, check_history=False)


async def _report(groups: list[str]) -> int:
    from statemachine.runtime.invokers import Invokers, InvokerSettings

    invokers = Invokers(InvokerSettings.from_env())
    failed = passed = 0
    try:
        for path in case_files():
            if groups and path.parent.name not in groups:
                continue
            case = json.loads(path.read_text())
            try:
                result = await asyncio.wait_for(run_case(case, invokers.invoke), 30)
                problem = verdict(case, result)
            except Exception as exc:  # noqa: BLE001 -- a crashing case is reported, the run goes on
                problem = f"crash: {type(exc).__name__}: {exc}"
            if problem:
                failed += 1
                print(f"FAIL {path.parent.name}/{path.stem}: {problem[:400]}")
            else:
                passed += 1
    finally:
        await invokers.close()
    print(f"conformance: {passed} passed, {failed} failed")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_report(sys.argv[1:])))
