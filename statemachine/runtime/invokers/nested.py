"""Nested executions: ``arn:aws:states:::states:startExecution`` in its four forms.

The task's parameters are StartExecution's, as AWS's optimized integration takes them:
``StateMachineArn`` (required), ``Input`` (any JSON value, or JSON text; absent or null: ``{}``)
and ``Name`` (absent: one derived from the task's idempotency key and attempt, so a dispatch
delivered again after a crash starts no second child).  A :class:`Starter` — the runtime's,
which alone knows the machines and the store — starts the child as a real execution that
records its parent (``started_by``).  Then, by the resource's suffix:

* none: the task's result is ``{ExecutionArn, StartDate, SdkHttpMetadata,
  SdkResponseMetadata}`` at once;
* ``.sync`` / ``.sync:2``: the task waits, its history noting ``TaskSubmitted`` (the
  start's response, as above) once the child is started (:meth:`Starter.submitted`; a
  dispatch delivered again finds its child and notes nothing twice); the child's end reaches it through the store
  (:func:`child_report`, sent by the child's final commit) as the child's DescribeExecution,
  ``Input``/``Output`` as JSON text (``.sync``) or as JSON (``.sync:2``); a child that failed,
  timed out or was aborted fails the task with ``States.TaskFailed``, that description (JSON
  text) as its cause;
* ``.waitForTaskToken``: the task waits for SendTaskSuccess/Failure, like any callback (the
  child gets the token through ``$$.Task.Token`` in its input).

A refused start fails the task as AWS names it: ``StepFunctions.<Code>Exception`` (e.g.
``StepFunctions.StateMachineDoesNotExistException``) with the SDK's cause text.  Without a
starter (``cli.py run`` has no machine registry) the task fails with ``States.Runtime``.
Dates are milliseconds since the epoch, as the Java SDK writes them in AWS's results.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from email.utils import formatdate
from enum import StrEnum
from typing import Any, Protocol

import orjson

from statemachine.interpreter.commands import InvokeTask
from statemachine.interpreter.formats import place_of
from statemachine.interpreter.records import Execution, Status
from statemachine.runtime.invokers.base import (
    Resource,
    TaskResult,
    attempt_traceparent,
    failed,
    sdk_metadata,
    succeeded,
)
from statemachine.runtime.tracing.sampling import DEFAULT_SAMPLER, Sampler

__all__ = ["NestedStart", "NestedStarted", "Pattern", "StartExecutionInvoker", "StartRefused",
           "Starter", "child_report", "pattern_of"]

NEEDS_SERVICE = ("Nested executions (arn:aws:states:::states:startExecution) need the service "
                 "(cli.py serve), which holds the state machines they start; an in-memory run "
                 "has none.")


class Pattern(StrEnum):
    """How the parent's task waits for the child."""

    REQUEST = "request"
    SYNC = "sync"
    SYNC2 = "sync2"
    TOKEN = "token"


def pattern_of(resource: str) -> Pattern:
    if resource.endswith(".waitForTaskToken"):
        return Pattern.TOKEN
    if resource.endswith(".sync:2"):
        return Pattern.SYNC2
    return Pattern.SYNC if resource.endswith(".sync") else Pattern.REQUEST


@dataclass(frozen=True, slots=True)
class NestedStart:
    """One child to start: ``input`` is its parsed input; ``parent``/``token``: the task's."""

    machine_arn: str
    input: Any
    name: str
    parent: str
    token: str
    pattern: Pattern
    seed: str
    """stable across deliveries of one dispatch (an alias's version is picked by it)"""
    trace: str | None = None
    """the ``traceparent`` of the task attempt starting it: the child's spans continue it"""


@dataclass(frozen=True, slots=True)
class NestedStarted:
    execution_arn: str
    start_ms: int
    created: bool = True
    """False when the child existed already (this dispatch delivered again)."""


class StartRefused(Exception):
    """StartExecution refused: ``code`` is AWS's error code (``StateMachineDoesNotExist``...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Starter(Protocol):
    async def start_child(self, start: NestedStart) -> NestedStarted: ...

    async def submitted(self, start: NestedStart, output: dict[str, Any]) -> None:
        """Tell the waiting parent task its child started (``TaskSubmitted``)."""

    def close(self) -> None: ...


def _uuid(seed: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(seed.encode()).digest()[:16], version=4))


class StartExecutionInvoker:
    def __init__(self, starter: Starter | None, trace_parent: str | None = None,
                 trace_sampler: Sampler = DEFAULT_SAMPLER) -> None:
        """``trace_parent``, ``trace_sampler``: the configured ``TRACEPARENT`` and
        ``OTEL_TRACES_SAMPLER`` (see :func:`.base.traceparent`)."""
        self._starter = starter
        self._trace_parent = trace_parent
        self._trace_sampler = trace_sampler

    async def invoke(self, command: InvokeTask, resource: Resource) -> TaskResult:
        if self._starter is None:
            return failed(command, "States.Runtime", NEEDS_SERVICE)
        params = command.input
        arn = params.get("StateMachineArn") if isinstance(params, dict) else None
        if not isinstance(arn, str):
            return failed(command, "States.Runtime", "The states:startExecution task needs "
                          "Parameters with a StateMachineArn string (and optionally Input, Name).")
        seed = f"{command.idempotency_key}:{command.attempt}"
        request_id = _uuid(f"request:{seed}")
        name = params.get("Name")
        if name is None:
            name = _uuid(f"name:{seed}")
        child_input = params.get("Input")
        try:
            if not isinstance(name, str):
                raise StartRefused("InvalidName", f"Invalid Name: '{name}'")
            if isinstance(child_input, str):
                try:
                    child_input = orjson.loads(child_input)
                except orjson.JSONDecodeError:
                    raise StartRefused("InvalidExecutionInput",
                                       f"Invalid State Machine Execution Input: '{child_input[:64]}'"
                                       ) from None
            pattern = pattern_of(resource.target)
            start = NestedStart(arn, {} if child_input is None else child_input, name,
                                command.execution, str(command.token), pattern, seed,
                                attempt_traceparent(command, self._trace_parent,
                                                    self._trace_sampler))
            started = await self._starter.start_child(start)
        except StartRefused as refused:
            return failed(command, f"StepFunctions.{refused.code}Exception",
                          f"{refused.message} (Service: AWSStepFunctions; Status Code: 400; "
                          f"Error Code: {refused.code}; Request ID: {request_id}; Proxy: null)")
        response = _response(started, request_id)
        if pattern in (Pattern.SYNC, Pattern.SYNC2) and started.created:
            await self._starter.submitted(start, response)
        if pattern != Pattern.REQUEST:
            return None  # the result comes later: the child's end, or a callback
        return succeeded(command, response)


def _response(started: NestedStarted, request_id: str) -> dict[str, Any]:
    """StartExecution's result with the SDK's metadata, as AWS's request-response gives it."""
    body = orjson.dumps({"executionArn": started.execution_arn,
                         "startDate": started.start_ms / 1000})
    date = formatdate(started.start_ms / 1000, usegmt=True)
    headers = {"x-amzn-RequestId": request_id, "connection": "keep-alive",
               "Content-Length": str(len(body)), "Date": date,
               "Content-Type": "application/x-amz-json-1.0"}
    return {
        "ExecutionArn": started.execution_arn,
        **sdk_metadata({name: [value] for name, value in headers.items()}, 200, request_id),
        "StartDate": started.start_ms,
    }


def describe_child(ex: Execution, parsed: bool) -> dict[str, Any]:
    """The ended child's DescribeExecution as a ``.sync`` task sees it; ``parsed``: with
    ``Input``/``Output`` as JSON (``.sync:2``) instead of JSON text."""
    place = place_of(ex.get("place"))
    express_id = ex["id"] if ex.get("express") else None

    def data(value: Any) -> Any:
        return value if parsed else orjson.dumps(value).decode()

    described: dict[str, Any] = {
        "ExecutionArn": place.execution(ex["machine"], ex["name"], express_id=express_id),
        "Input": data(ex["input"]), "InputDetails": {"Included": True},
        "Name": ex["name"],
        "StartDate": ex["start"],
        "StateMachineArn": place.machine(ex["machine"]),
        "Status": str(ex["status"]),
        "StopDate": ex["stop"],
    }
    if ex["status"] == Status.SUCCEEDED:
        described["Output"] = data(ex["output"])
        described["OutputDetails"] = {"Included": True}
    if ex["error"] is not None:
        described["Error"] = ex["error"]
    if ex["cause"] is not None:
        described["Cause"] = ex["cause"]
    return described


def child_report(ex: Execution) -> dict[str, Any] | None:
    """The task result a ``.sync``/``.sync:2`` parent gets when nested execution ``ex``
    ends (None: no parent waits for its end)."""
    link = ex.get("started_by")
    if link is None or link["pattern"] not in (Pattern.SYNC, Pattern.SYNC2):
        return None
    described = describe_child(ex, link["pattern"] == Pattern.SYNC2)
    # the start's response, in case this end overtakes the task's TaskSubmitted
    submitted = _response(NestedStarted(described["ExecutionArn"], ex["start"]),
                          _uuid(f"request:{ex['id']}"))
    if ex["status"] == Status.SUCCEEDED:
        return {"type": "TaskSucceeded", "token": link["token"], "output": described,
                "submitted": submitted}
    cause = orjson.dumps(describe_child(ex, False), option=orjson.OPT_SORT_KEYS).decode()
    return {"type": "TaskFailed", "token": link["token"], "error": "States.TaskFailed",
            "cause": cause, "submitted": submitted}
