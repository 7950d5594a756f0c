"""Run the service-integration corpus (tests/conformance/services) through a live service.

Every case is prepared as ``check_services.py`` prepares it: its resource names get a
fresh suffix, and its ``setup`` is replayed with botocore — S3, SNS, SQS and DynamoDB calls
against moto's server, ``stepfunctions`` calls (the child machines of nested executions)
against the service's own AWS API, as the checker's ``--sfn-endpoint`` does.  Values a step
returns (a queue URL, a machine ARN) replace the recorded ones throughout the case.  The
prepared cases then run together through :class:`tests.conformance.aws_run.Runner`
(CreateStateMachine, StartExecution, DescribeExecution until done) and the checker's own
``check_result`` judges each: placeholders are wildcards, volatile subtrees are checked
for presence only.
"""

from __future__ import annotations

import importlib.util
import json
import secrets
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conformance import aws_run

HERE = Path(__file__).resolve().parent / "services"
CASES = HERE / "cases"

_spec = importlib.util.spec_from_file_location("conformance_check_services",
                                               HERE / "check_services.py")
assert _spec and _spec.loader
check: Any = importlib.util.module_from_spec(_spec)
sys.modules["conformance_check_services"] = check
_spec.loader.exec_module(check)


def case_files() -> list[Path]:
    return sorted(CASES.glob("*/*.json"))


def key_of(path: Path) -> str:
    """``group/name``, the case's id in tests and in the known-failures table."""
    return f"{path.parent.name}/{path.stem}"


@dataclass(frozen=True)
class Prepared:
    """A case ready to run (names made unique, setup replayed), or why it is not."""

    case: aws_run.Case
    problem: str | None = None


def prepare(path: Path, moto: str, sfn_endpoint: str, key: tuple[str, str]) -> Prepared:
    """Make ``path``'s names unique and replay its setup: AWS services on ``moto``, Step
    Functions calls on ``sfn_endpoint`` signed with ``key`` (id, secret)."""
    check.SFN_ENDPOINT, check.SFN_KEY = sfn_endpoint, key
    data = check.uniquify(json.loads(path.read_text()), secrets.token_hex(3))
    data, problem = check.run_setup(data, moto)
    return Prepared(aws_run.Case(key_of(path), data, {}), problem)


def prepare_all(paths: list[Path], moto: str, sfn_endpoint: str,
                key: tuple[str, str]) -> list[Prepared]:
    """Every case prepared, the setups replayed side by side (each in its own order)."""
    with ThreadPoolExecutor(aws_run.THREADS) as pool:
        return list(pool.map(lambda p: prepare(p, moto, sfn_endpoint, key), paths))


def run(prepared: list[Prepared], runner: aws_run.Runner) -> dict[str, str | None]:
    """Run every prepared case together; each case's verdict (None: it passed)."""
    ready = [p.case for p in prepared if p.problem is None]
    outcomes = runner.run(ready)
    verdicts: dict[str, str | None] = {}
    for p in prepared:
        verdicts[p.case.key] = (f"setup: {p.problem}" if p.problem is not None
                                else verdict(p.case, outcomes.get(p.case.key)))
    return verdicts


def verdict(case: aws_run.Case, outcome: aws_run.Outcome | None) -> str | None:
    """The services checker's verdict on ``case``'s outcome (None: it passed)."""
    if outcome is None:
        return "no outcome recorded"
    if outcome.result is None:
        return outcome.problem
    problem: str | None = check.check_result(case.data, outcome.result)
    return problem


def summary(verdicts: dict[str, str | None]) -> str:
    """``N of M passed`` with the count per group, as the checker prints it."""
    groups: dict[str, list[int]] = {}
    for key, problem in sorted(verdicts.items()):
        counts = groups.setdefault(key.split("/", 1)[0], [0, 0])
        counts[0] += problem is None
        counts[1] += 1
    passed = sum(problem is None for problem in verdicts.values())
    per_group = ", ".join(f"{g} {p}/{t}" for g, (p, t) in groups.items())
    return f"{passed} of {len(verdicts)} passed ({per_group})"


def known_failures(path: Path) -> dict[str, str]:
    """The known-failures table: ``{"group/name": "why it fails"}``."""
    table: Any = json.loads(path.read_text())
    assert isinstance(table, dict) and all(isinstance(v, str) and v for v in table.values())
    return {str(k): str(v) for k, v in table.items()}
