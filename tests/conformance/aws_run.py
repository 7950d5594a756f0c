"""Run the conformance corpus through boto3 against a live, durable service.

Each case becomes a state machine and one execution: STANDARD cases are started with
StartExecution and polled with DescribeExecution until they finish; EXPRESS cases (the
recorded run was a StartSyncExecution) are run with StartSyncExecution.  The durable
service runs on real time, so a whole round of executions is started at once and the
round is awaited together.

Rounds exist for the lambda group: its function names repeat across cases with different
behaviours (``lambda_func`` is an identity in one case and raises in another), and a serve
process has one Lambda endpoint.  :func:`rounds` splits the corpus so that, within a
round, every function name means one behaviour; the Lambda stand-in
(tests/lambda_service.py) is switched to that round's table before the round starts.  The
definitions and inputs stay exactly as recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conformance.harness import case_files, check

EXPRESS = "EXPRESS"
STANDARD = "STANDARD"
ROLE_ARN = "arn:aws:iam::123456789012:role/conformance"
POLL_SECONDS = 0.25
THREADS = 12


@dataclass(frozen=True)
class Case:
    """One case file: its key (``group/name``), its contents and the Lambda functions it
    needs (``{function name: behaviour}``, empty outside the lambda group)."""

    key: str
    data: dict[str, Any]
    functions: dict[str, str]

    @property
    def type(self) -> str:
        return str(self.data.get("state_machine_type") or STANDARD)

    @property
    def machine_name(self) -> str:
        """Unique per case, within AWS's 80 characters of ``[A-Za-z0-9_-]``."""
        return self.key.replace("/", "-")[-80:]


def load(paths: Iterable[Path] | None = None,
         behaviours: Callable[[str], str] | None = None) -> list[Case]:
    """The cases, with each lambda case's functions resolved to behaviours."""
    cases = []
    for path in paths if paths is not None else case_files():
        data = json.loads(path.read_text())
        functions = {}
        if behaviours is not None:
            functions = {arn.rsplit(":", 1)[-1]: behaviours(text)
                         for arn, text in data.get("lambda_functions", {}).items()}
        cases.append(Case(f"{path.parent.name}/{path.stem}", data, functions))
    return cases


def rounds(cases: list[Case], fixed: dict[str, str]) -> list[tuple[dict[str, str], list[Case]]]:
    """Split ``cases`` into rounds in which each function name means one behaviour.

    ``fixed`` holds the names that mean the same in every case; each round's table is that
    plus the round's own choices.  Greedy: a case joins the first round it agrees with.
    """
    made: list[tuple[dict[str, str], list[Case]]] = []
    for case in cases:
        for table, members in made:
            if all(table.get(name, behaviour) == behaviour
                   for name, behaviour in case.functions.items()):
                table.update(case.functions)
                members.append(case)
                break
        else:
            made.append(({**fixed, **case.functions}, [case]))
    return made


@dataclass
class Outcome:
    """What the service reported for one case (the checker's result shape), or why not."""

    result: dict[str, Any] | None = None
    problem: str | None = None
    seconds: float = 0.0


@dataclass
class Runner:
    """Drives one service: ``sfn`` is a boto3 Step Functions client; ``define`` registers a
    state machine (name, definition text, type) and returns its ARN."""

    sfn: Any
    define: Callable[[str, str, str], str]
    timeout: float = 120.0
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def run(self, cases: list[Case]) -> dict[str, Outcome]:
        """Define, start and await every case of ``cases`` together."""
        with ThreadPoolExecutor(THREADS) as pool:
            machines = {c.key: arn for c, arn in zip(cases, pool.map(self._define, cases),
                                                      strict=True) if arn}
            began = time.monotonic()
            standard = [c for c in cases if c.type == STANDARD and c.key in machines]
            express = [c for c in cases if c.type == EXPRESS and c.key in machines]
            sync = [pool.submit(self._run_sync, c, machines[c.key], began) for c in express]
            arns = dict(zip([c.key for c in standard],
                            pool.map(lambda c: self._start(c, machines[c.key]), standard),
                            strict=True))
            self._await(pool, {k: a for k, a in arns.items() if a}, began)
            for future in sync:
                future.result()
        return self.outcomes

    def _define(self, case: Case) -> str | None:
        try:
            return self.define(case.machine_name, json.dumps(case.data["definition"]),
                               case.type)
        except Exception as exc:  # noqa: BLE001 -- reported as this case's failure
            self.outcomes[case.key] = Outcome(problem=f"defining the machine: {exc}")
            return None

    def _start(self, case: Case, machine: str) -> str | None:
        try:
            started = self.sfn.start_execution(stateMachineArn=machine, name="run",
                                               input=json.dumps(case.data["input"]))
        except Exception as exc:  # noqa: BLE001 -- reported as this case's failure
            self.outcomes[case.key] = Outcome(problem=f"StartExecution: {exc}")
            return None
        return str(started["executionArn"])

    def _run_sync(self, case: Case, machine: str, began: float) -> None:
        try:
            answer = self.sfn.start_sync_execution(stateMachineArn=machine, name="run",
                                                   input=json.dumps(case.data["input"]))
        except Exception as exc:  # noqa: BLE001 -- reported as this case's failure
            self.outcomes[case.key] = Outcome(problem=f"StartSyncExecution: {exc}")
            return
        self.outcomes[case.key] = Outcome(result_of(answer), seconds=time.monotonic() - began)

    def _await(self, pool: ThreadPoolExecutor, arns: dict[str, str], began: float) -> None:
        """Poll DescribeExecution for every running one until all have finished."""
        running = dict(arns)
        while running:
            time.sleep(POLL_SECONDS)
            keys = list(running)
            for key, described in zip(keys, pool.map(self._describe, [running[k] for k in keys]),
                                        strict=True):
                if isinstance(described, Exception):
                    self.outcomes[key] = Outcome(problem=f"DescribeExecution: {described}")
                elif described["status"] != "RUNNING":
                    self.outcomes[key] = Outcome(result_of(described),
                                                 seconds=time.monotonic() - began)
                else:
                    continue
                del running[key]
            if time.monotonic() - began > self.timeout:
                for key in running:
                    self.outcomes[key] = Outcome(problem=f"still RUNNING after {self.timeout} s")
                return

    def _describe(self, arn: str) -> dict[str, Any] | Exception:
        try:
            described: dict[str, Any] = self.sfn.describe_execution(executionArn=arn)
        except Exception as exc:  # noqa: BLE001 -- reported as this case's failure
            return exc
        return described


def result_of(answer: dict[str, Any]) -> dict[str, Any]:
    """A DescribeExecution or StartSyncExecution answer in the checker's result shape."""
    result: dict[str, Any] = {"status": answer["status"], "error": answer.get("error"),
                              "cause": answer.get("cause")}
    if "output" in answer:
        result["output"] = json.loads(answer["output"])
    return result


def verdict(case: Case, outcome: Outcome | None) -> str | None:
    """The checker's verdict on the case (None: it passed)."""
    if outcome is None:
        return "no outcome recorded"
    if outcome.result is None:
        return outcome.problem
    problem: str | None = check.check_result(case.data, outcome.result, check_history=False)
    return problem


def boto3_define(sfn: Any) -> Callable[[str, str, str], str]:
    """Register a definition with CreateStateMachine."""
    def define(name: str, definition: str, machine_type: str) -> str:
        created = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE_ARN,
                                           type=machine_type)
        return str(created["stateMachineArn"])
    return define
