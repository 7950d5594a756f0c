"""Every real-world definition whose resources we perform, started once against moto.

The definitions (tests/corpus/real-world) that ``cli.py validate --resources`` finds
performable are registered with a durable ``cli.py serve`` (its AWS integrations pointed at
moto's server, Lambda at an echo stand-in, every other outside address denied by the
egress policy so no sample calls the internet) and started together, each with an input
generated from the paths its top-level states read.  Each execution is followed until it
ends, its first task has an outcome, or a short while has passed; then the running ones
are stopped.  The check: no execution meets an "unsupported resource" error — what
``kind()`` promises, the invokers perform.  Other failures (moto has no such table, the
generated input lacks a field a Lambda stand-in would need) are expected and reported.

A resource's deployment placeholders in its ARN fields (``arn:${AWS::Partition}:...``)
are read as the defaults, as the classifier reads them; :data:`CANNOT_START` names the
definitions that cannot even be registered, with the reason.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from statemachine.cli.resources import fill_arn_fields, of_file
from tests.aws.conftest import REGION, REPORT, AwsService, start_service, stop_service
from tests.conftest import FAKE_AWS_ENV, ROOT, app_in_thread

CORPUS = ROOT / "tests" / "corpus" / "real-world"
PATHS = sorted(p for p in CORPUS.glob("*.json") if p.name != "INDEX.json")
PERFORMABLE = [Path(r.path) for r in (of_file(str(p), {}) for p in PATHS) if r.performable]
ROLE_ARN = "arn:aws:iam::123456789012:role/smoke"
UNSUPPORTED = "is not supported by this runtime"
"""What the invokers' unsupported-resource failure says (``Invokers.invoke``)."""
FOLLOW_SECONDS = 20.0
POLL_SECONDS = 0.5
TASK_OUTCOMES = {"TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskSubmitted",
                 "TaskSubmitFailed", "TaskStartFailed"}

#: Definitions that cannot be registered, each with the reason; strict (a listed one that
#: starts fails the test).
CANNOT_START: dict[str, str] = {
    "shared-fallback-state-jsonata__statemachine.json":
        "invalid: QueryLanguage written inside States (tests/test_corpus.py REJECTED_REAL_WORLD)",
}

#: Definitions whose resources the classifier cannot tell from performable ones without
#: botocore's models (``kind()`` reads none), each with the reason; strict.
UNSUPPORTED_AT_RUN: dict[str, str] = {
    "lookout-for-vision-inference-sam__statemachine.json":
        "aws-sdk:lookoutvision: the service is gone from botocore (AWS retired Lookout for Vision)",
}


@dataclass
class Followed:
    """How far one definition's execution got."""

    problem: str | None = None  # could not register or start it
    status: str = "RUNNING"
    history: list[dict[str, Any]] | None = None

    @property
    def reached_task(self) -> bool:
        return any(e["type"] in TASK_OUTCOMES for e in self.history or [])

    def unsupported(self) -> list[str]:
        """Every error text of the history that names an unsupported resource."""
        texts = []
        for event in self.history or []:
            for details in event.values():
                if isinstance(details, dict) and UNSUPPORTED in str(details.get("cause", "")):
                    texts.append(f"{event['type']}: {details['cause'][:300]}")
        return texts


def deployable(definition: Any) -> Any:
    """``definition`` with each ``Resource``'s ARN-field placeholders read as defaults."""
    if isinstance(definition, dict):
        return {k: fill_arn_fields(v) if k == "Resource" and isinstance(v, str)
                else deployable(v) for k, v in definition.items()}
    if isinstance(definition, list):
        return [deployable(v) for v in definition]
    return definition


_JSONPATH_READ = re.compile(r"(?<![\w$])\$((?:\.[A-Za-z_]\w*)+)")
_JSONATA_READ = re.compile(r"\$states\.input((?:\.[A-Za-z_]\w*)+)")


def generated_input(definition: dict[str, Any]) -> dict[str, Any]:
    """``{}`` with a value at every plain ``$.a.b`` (JSONPath, intrinsics included) or
    ``$states.input.a.b`` (JSONata) path the top-level states read — a Map's ``ItemsPath``
    gets an empty list — so that the first states find their fields."""
    made: dict[str, Any] = {}
    for state in definition.get("States", {}).values():
        if not isinstance(state, dict):
            continue
        for key, path in _reads(state):
            parts = path.lstrip(".").split(".")
            _put(made, parts, [] if key == "ItemsPath" else "smoke")
    return made


def _reads(state: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, path) for the paths a state reads from its input; not inside nested machines
    (their input is an item or a branch's copy)."""
    for key, value in state.items():
        if key in ("Branches", "ItemProcessor", "Iterator", "ItemReader", "ResultWriter",
                   "ResultPath"):
            continue
        if isinstance(value, str):
            if value.startswith("{%"):
                yield from ((key, path) for path in _JSONATA_READ.findall(value))
            elif key.endswith((".$", "Path")) or key == "Variable":
                yield from ((key, path) for path in _JSONPATH_READ.findall(value))
        elif isinstance(value, dict):
            yield from _reads(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    yield from _reads(item)


def _put(into: dict[str, Any], parts: list[str], leaf: Any) -> None:
    for part in parts[:-1]:
        if not isinstance(into.get(part), dict):
            into[part] = {}
        into = into[part]
    into.setdefault(parts[-1], leaf)


def _echo_lambda() -> web.Application:
    """Every function returns its event (the invoker POSTs to ``/<function name>``)."""
    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(body=body or b"{}", content_type="application/json")

    app = web.Application()
    app.router.add_post("/{name:.*}", echo)
    return app


def _name(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", path.stem)[-80:]


def _client(service: AwsService) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "stepfunctions", endpoint_url=service.endpoint, region_name=REGION,
        aws_access_key_id=service.key_id, aws_secret_access_key=service.secret,
        config=Config(retries={"max_attempts": 1}, read_timeout=30, max_pool_connections=4,
                      inject_host_prefix=False))


def _start(sfn: Any, path: Path) -> tuple[str | None, Followed]:
    definition = json.loads(path.read_text())
    try:
        machine = sfn.create_state_machine(
            name=_name(path), definition=json.dumps(deployable(definition)), roleArn=ROLE_ARN,
            type="STANDARD")["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine, name="smoke",
                                  input=json.dumps(generated_input(definition)))["executionArn"]
    except Exception as exc:  # noqa: BLE001 -- reported as this definition's problem
        return None, Followed(problem=str(exc)[:400])
    return str(arn), Followed()


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    for page in pages:
        events.extend(page["events"])
    return events


def _follow(sfn: Any, arns: dict[str, str], followed: dict[str, Followed]) -> None:
    """Poll until each execution has ended or reached a task outcome, or time is up; then
    stop the ones still running."""
    pending = dict(arns)
    deadline = time.monotonic() + FOLLOW_SECONDS
    while pending and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        for name, arn in list(pending.items()):
            entry = followed[name]
            entry.status = sfn.describe_execution(executionArn=arn)["status"]
            entry.history = _history(sfn, arn)
            if entry.status != "RUNNING" or entry.reached_task:
                del pending[name]
    for arn in arns.values():
        if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            sfn.stop_execution(executionArn=arn, error="smoke", cause="the smoke test is done")


@pytest.fixture(scope="module")
def followed(moto_url: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Followed]]:
    """Every performable definition started once; how far each got, by file name."""
    with app_in_thread(_echo_lambda(), "echo-lambda") as lambda_url:
        env = {**FAKE_AWS_ENV, "STATEMACHINE_AWS_ENDPOINT": moto_url,
               "STATEMACHINE_SQS_ENDPOINT": moto_url, "STATEMACHINE_LAMBDA_ENDPOINT": lambda_url,
               "STATEMACHINE_EGRESS_DENY": "*", "STATEMACHINE_EGRESS_ALLOW": "127.0.0.1"}
        service = start_service(tmp_path_factory.mktemp("smoke"), "--workers", "4", env=env)
        try:
            sfn = _client(service)
            results: dict[str, Followed] = {}
            arns: dict[str, str] = {}
            for path in PERFORMABLE:
                arn, results[path.name] = _start(sfn, path)
                if arn is not None:
                    arns[path.name] = arn
            _follow(sfn, arns, results)
        finally:
            stop_service(service)
    REPORT.append(f"real-world smoke: {_summary(results)}")
    yield results


def _summary(results: dict[str, Followed]) -> str:
    started = [f for f in results.values() if f.problem is None]
    outcomes = Counter("reached a task" if f.reached_task else
                       "still waiting" if f.status == "RUNNING" else f"{f.status} before any task"
                       for f in started)
    return (f"{len(started)} of {len(results)} performable definitions started; "
            + ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())))


@pytest.mark.parametrize("name", [p.name for p in PERFORMABLE])
def test_no_unsupported_resource(name: str, followed: dict[str, Followed]) -> None:
    entry = followed[name]
    if name in CANNOT_START:
        assert entry.problem is not None, f"{name} starts now: remove it from CANNOT_START"
        pytest.xfail(f"{CANNOT_START[name]} ({entry.problem})")
    assert entry.problem is None, entry.problem
    if name in UNSUPPORTED_AT_RUN:
        assert entry.unsupported(), f"{name} runs now: remove it from UNSUPPORTED_AT_RUN"
        pytest.xfail(UNSUPPORTED_AT_RUN[name])
    assert entry.unsupported() == []


def test_generated_input() -> None:
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "x", "InputPath": "$.order",
              "Parameters": {"id.$": "$.order.id", "when.$": "$$.Execution.StartTime",
                             "n": {"deep.$": "$.detail.count"},
                             "text.$": "States.Format('{} {}', $.name, $$.Execution.Id)"},
              "ResultPath": "$.result", "Next": "B"},
        "B": {"Type": "Choice", "Choices": [{"Variable": "$.status", "StringEquals": "ok",
                                            "Next": "C"}]},
        "E": {"Type": "Pass", "QueryLanguage": "JSONata", "End": True,
              "Output": {"x": "{% $states.input.user.id & $states.context.Execution.Id %}"}},
        "C": {"Type": "Map", "ItemsPath": "$.items", "End": True, "ItemProcessor": {
            "StartAt": "D", "States": {"D": {"Type": "Pass", "InputPath": "$.inner",
                                             "End": True}}}}}}
    assert generated_input(definition) == {
        "order": {"id": "smoke"}, "detail": {"count": "smoke"}, "name": "smoke",
        "status": "smoke", "user": {"id": "smoke"}, "items": []}


async def test_the_unsupported_resource_failure_is_recognised() -> None:
    """UNSUPPORTED is what the invokers really say for a resource no plug-in performs."""
    from statemachine.interpreter.commands import InvokeTask
    from statemachine.runtime.invokers import Invokers, InvokerSettings

    command = InvokeTask(token="t", resource="arn:aws:states:::no-such:thing", input={},
                         state="A", entered=2, idempotency_key="k", attempt=0, timeout_s=None,
                         heartbeat_s=None, credentials=None, execution="x")
    async with Invokers(InvokerSettings()) as invokers:
        event = await invokers.invoke(command)
    assert event is not None and event["type"] == "TaskFailed"
    history = [{"type": "TaskFailed", "taskFailedEventDetails": {
        "error": event["error"], "cause": event["cause"]}}]
    assert Followed(history=history).unsupported() == [f"TaskFailed: {event['cause'][:300]}"]
