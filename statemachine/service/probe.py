"""TestState: one state run once with an input, its outcome and what happened inside it.

The state runs through the engine (:class:`~statemachine.runtime.local.LocalRunner`) as the
only state of a small machine (:mod:`statemachine.interpreter.one_state` says how, and
decides what its Retry and Catch make of a failure); a Task really calls its resource,
through the same invokers as EXPRESS executions (:mod:`.express`: connections and egress
policy as on a worker).  Wait states do not wait (the run is on virtual time, as TestState
answers at once); the whole test is bounded by five minutes (``States.Timeout``).

``inspectionLevel``: INFO gives the outcome; DEBUG adds each step of the state's input and
output processing; TRACE also the HTTP request and response of an HTTP task.  Headers that
carry credentials (:mod:`statemachine.runtime.redaction`) are masked in the request shown
unless ``revealSecrets`` — which only an admin may ask for.
"""

from __future__ import annotations

import asyncio
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from statemachine.errors import DefinitionError, InputError
from statemachine.interpreter import failures as F
from statemachine.interpreter import one_state
from statemachine.interpreter.commands import InvokeTask
from statemachine.interpreter.context import details_key
from statemachine.interpreter.formats import dumps
from statemachine.interpreter.one_state import Outcome, TestStatus, Unrunnable
from statemachine.interpreter.records import Status
from statemachine.language.model import compile_machine
from statemachine.language.scope import MISSING
from statemachine.language.validate import validate
from statemachine.language.values import MAX_NESTING, nested_deeper_than
from statemachine.runtime.clock import now_ms
from statemachine.runtime.invokers import Invokers, TaskResult
from statemachine.runtime.local import LocalResult, LocalRunner
from statemachine.runtime.redaction import MASK, Redactor
from statemachine.runtime.settings import Settings
from statemachine.security.roles import Role

__all__ = ["CALLER_ROLE", "HTTP_INVOKE", "InspectionLevel", "Mock", "run_test_state"]

CALLER_ROLE: ContextVar[Role | None] = ContextVar("statemachine_caller_role", default=None)
"""The role of whoever wrote the definition a task in this context runs (None: the
service's own machines, which only admins define).  TestState runs the caller's own
definition, so its ``aws-sdk:sfn`` calls to this service (:mod:`statemachine.api.aws.local`)
may do only what the caller's key may."""

HTTP_INVOKE = "arn:aws:states:::http:invoke"


@dataclass(frozen=True, slots=True)
class Mock:
    """TestState's ``mock``: the Task's result, or the error it fails with, instead of a call."""

    result: Any = MISSING
    error: str | None = None
    cause: str | None = None

    @classmethod
    def from_request(cls, given: Any) -> Mock:
        """AWS's ``{"result": JSON text} | {"errorOutput": {"error", "cause"}}``."""
        if not isinstance(given, dict):
            raise InputError("mock must be an object", "ValidationException")
        failure, result = given.get("errorOutput"), given.get("result")
        if (failure is None) == (result is None):
            raise InputError("mock needs exactly one of result and errorOutput",
                             "ValidationException")
        if failure is not None:
            if not isinstance(failure, dict):
                raise InputError("mock.errorOutput must be an object", "ValidationException")
            return cls(error=str(failure.get("error") or F.TASK_FAILED),
                       cause=None if failure.get("cause") is None else str(failure["cause"]))
        return cls(result=_json(result, "mock.result", "ValidationException"))

    async def invoke(self, command: InvokeTask) -> TaskResult:
        if self.error is not None:
            return {"type": "TaskFailed", "error": self.error, "cause": self.cause}
        return {"type": "TaskSucceeded", "output": self.result}


class InspectionLevel(StrEnum):
    INFO = "INFO"
    DEBUG = "DEBUG"
    TRACE = "TRACE"


def _json(text: Any, what: str, code: str) -> Any:
    """A JSON text (the AWS API's form) or a value (the REST API's) as a value, bounded in
    nesting as every input is."""
    value = text
    if isinstance(text, str):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{what} is not valid JSON: {exc}", code) from None
    if nested_deeper_than(value):
        raise InputError(f"{what} nests deeper than {MAX_NESTING} levels", code)
    return value


async def run_test_state(settings: Settings, invokers: Invokers, definition: Any, *,
                     input: Any = None, state_name: str | None = None,
                     inspection_level: InspectionLevel = InspectionLevel.INFO,
                     variables: Any = None, reveal_secrets: bool = False, admin: bool = False,
                     retrier_retry_count: int = 0, mock: Mock | None = None) -> dict[str, Any]:
    """AWS's TestState answer: ``status``, ``output`` (JSON text), ``error``, ``cause``,
    ``nextState`` and, past INFO, ``inspectionData``.  ``definition`` is an object or its JSON
    text; ``input`` and ``variables`` are values (the AWS API parses its JSON text first).
    ``mock``: the Task's result (or error) without calling its resource."""
    if reveal_secrets and not admin:
        raise InputError("revealSecrets needs an admin key (states:RevealSecrets)",
                         "AccessDeniedException", 403)
    document = _json(definition, "definition", "InvalidDefinition")
    value = {} if input is None else input
    given = {} if variables is None else variables
    if not isinstance(given, dict):
        raise InputError("variables must be a JSON object", "ValidationException")
    try:
        plan = one_state.plan(document, state_name, mocked=mock is not None)
    except Unrunnable as exc:
        raise InputError(str(exc), "InvalidDefinition") from None
    problems = validate(plan.checked)
    if problems:
        raise DefinitionError(problems)
    checked, run = compile_machine(plan.checked), compile_machine(plan.run)
    runner = LocalRunner(run, invokers.invoke if mock is None else mock.invoke, name=plan.name,
                         virtual_time=True, place=settings.record_place)
    now, salt = now_ms(), secrets.token_hex(8)
    try:
        done: LocalResult | None = await asyncio.wait_for(
            runner.run(value, variables=given), one_state.LIMIT_S)
    except TimeoutError:
        done = None
    outcome = (Outcome(TestStatus.FAILED, error=F.TIMEOUT, cause=None) if done is None else
               _outcome(plan.name, checked, value, given, done, retrier_retry_count, now, salt))
    reply: dict[str, Any] = {
        "status": str(outcome.status),
        "output": None if outcome.output is MISSING else dumps(outcome.output),
        "error": outcome.error, "cause": outcome.cause, "nextState": outcome.next_state,
    }
    inspection: dict[str, Any] = {}
    if inspection_level != InspectionLevel.INFO:
        result = MISSING if done is None else _task_result(done)
        inspection = one_state.inspect(checked, plan.name, value, given, result, now=now, salt=salt)
        if inspection_level == InspectionLevel.TRACE and mock is None:
            inspection.update(_http_trace(checked.states[plan.name].resource, inspection,
                                          result, outcome, reveal_secrets))
    if outcome.error_details:
        inspection["errorDetails"] = outcome.error_details
    if inspection:
        reply["inspectionData"] = inspection
    return reply


def _outcome(name: str, checked: Any, value: Any, variables: dict[str, Any], done: LocalResult,
             retries: int, now: int, salt: str) -> Outcome:
    ex = done.execution
    match ex["status"]:
        case Status.SUCCEEDED:
            entered = [h[details_key(h["type"])]["name"] for h in done.history
                       if h["type"].endswith("StateEntered")]
            following = one_state.next_state(name, entered[1]) if len(entered) > 1 else None
            return Outcome(TestStatus.SUCCEEDED, output=ex["output"], next_state=following)
        case Status.TIMED_OUT:
            return Outcome(TestStatus.FAILED, error=ex["error"], cause=ex["cause"])
        case _:
            return one_state.handle_failure(checked, name, value, variables, ex["error"] or "",
                                            ex["cause"], retries=retries, now=now, salt=salt)


def _task_result(done: LocalResult) -> Any:
    """The task's result, from its success event (MISSING when the task did not succeed)."""
    for event in done.history:
        if event["type"] in ("TaskSucceeded", "LambdaFunctionSucceeded"):
            return orjson.loads(event[details_key(event["type"])]["output"])
    return MISSING


def _http_trace(resource: str | None, inspection: dict[str, Any], result: Any,
                outcome: Outcome, reveal: bool) -> dict[str, Any]:
    """``request`` and ``response`` of an HTTP task (AWS's TRACE level)."""
    if resource is None or not resource.startswith(HTTP_INVOKE):
        return {}
    params = orjson.loads(inspection.get("afterParameters") or inspection.get("afterArguments")
                          or "null")
    if not isinstance(params, dict):
        return {}
    endpoint = str(params.get("ApiEndpoint", ""))
    given = params.get("Headers")
    headers: dict[str, Any] = given if isinstance(given, dict) else {}
    if not reveal:
        hidden = Redactor.from_env().names
        headers = {k: MASK if k.lower() in hidden else v for k, v in headers.items()}
    query = params.get("QueryParameters")
    url = endpoint
    if isinstance(query, dict) and query:
        from urllib.parse import urlencode

        url = f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query, doseq=True)}"
    protocol = endpoint.partition(":")[0] or "https"
    body = params.get("RequestBody")
    trace: dict[str, Any] = {"request": {
        "protocol": protocol, "method": str(params.get("Method", "")), "url": url,
        "headers": dumps(headers), "body": "" if body is None else
        (body if isinstance(body, str) else dumps(body))}}
    answer = result
    if answer is MISSING and outcome.cause and outcome.error and \
            outcome.error.startswith("States.Http.StatusCode."):
        try:
            answer = orjson.loads(outcome.cause)
        except orjson.JSONDecodeError:
            answer = MISSING
    if isinstance(answer, dict) and "StatusCode" in answer:
        response_body = answer.get("ResponseBody")
        trace["response"] = {
            "protocol": protocol, "statusCode": str(answer.get("StatusCode")),
            "statusMessage": str(answer.get("StatusText", "")),
            "headers": dumps(answer.get("Headers") or {}),
            "body": response_body if isinstance(response_body, str) else dumps(response_body),
        }
    return trace
