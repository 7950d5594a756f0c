"""The Task state: ask the runtime to perform the task (``InvokeTask``), with its timeout and
heartbeat timers, and the names AWS gives a task in history."""

from __future__ import annotations

import re
from typing import Any

from statemachine.interpreter import failures as F
from statemachine.interpreter.commands import CancelTimer, InvokeTask
from statemachine.interpreter.context import Go, Step
from statemachine.interpreter.dataflow import DataFlow
from statemachine.interpreter.formats import payload, place_of
from statemachine.interpreter.tokens import derive, task_token
from statemachine.language.model import State
from statemachine.language.scope import StatesError

_INTEGRATION = re.compile(r"^arn:aws:states:(?:[^:]*:[^:]*:(?=aws-sdk:)|::)(.+)$")


def resource_details(state: State) -> dict[str, Any]:
    """``resourceType``/``resource`` as AWS splits a Resource in task history events."""
    resource = state.resource or ""
    integration = _INTEGRATION.match(resource)
    if integration is not None:  # region and account only in aws-sdk ARNs
        service, _, action = integration.group(1).partition(":")
        return {"resourceType": service, "resource": action}
    if resource.startswith("arn:aws:lambda:"):
        return {"resourceType": "lambda", "resource": resource}
    if resource.startswith(("http://", "https://")):
        return {"resourceType": "http", "resource": resource}
    return {"resourceType": "activity" if ":activity:" in resource else "unknown", "resource": resource}


def task_label(state: State) -> str:
    """How AWS names a task in a DataLimitExceeded cause: the service for an integration
    (``lambda`` for ``arn:aws:states:::lambda:invoke``), the resource otherwise."""
    resource = state.resource or ""
    if resource.startswith("arn:aws:states:::"):
        return str(resource_details(state)["resourceType"])
    return resource


def task_event(state: State, suffix: str) -> str:
    """Direct Lambda ARNs get LambdaFunction* events, activities Activity*, everything else
    Task*."""
    if (state.resource or "").startswith("arn:aws:lambda:"):
        return "LambdaFunction" + suffix
    if resource_details(state)["resourceType"] == "activity":
        return "Activity" + suffix
    return "Task" + suffix


def _positive_int(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise StatesError(F.RUNTIME, f"The {field} value must be a positive integer: {value!r}")
    return float(value)


def task(step: Step, state: State, value: Any) -> Go:
    ex = step.ex
    token = task_token(ex["id"], derive(ex["salt"], "token", ex["seq"]))
    flow: DataFlow = state.flow
    params = flow.parameters(step, state, value, step.context(state, task_token=token))
    timeout = heartbeat = None
    if state.timeout is not None:
        timeout = _positive_int(step.number(state.timeout, state, value, "TimeoutSeconds"), "TimeoutSeconds")
    if state.heartbeat is not None:
        heartbeat = _positive_int(step.number(state.heartbeat, state, value, "HeartbeatSeconds"),
                                  "HeartbeatSeconds")
    credentials = None
    if state.credentials is not None:
        credentials = flow.value_of(state.credentials, step.scope(state, value), "Credentials")
    family = task_event(state, "")
    details: dict[str, Any] | None = resource_details(state)
    if family == "Task":
        scheduled: dict[str, Any] = {**resource_details(state),
                                     "region": place_of(ex.get("place")).region,
                                     "parameters": payload(params, state.name)}
    else:
        # AWS's LambdaFunctionScheduled/ActivityScheduled name the resource and its input;
        # LambdaFunctionStarted has nothing of it
        scheduled = {"resource": state.resource, "input": payload(params, state.name),
                     "inputDetails": {"truncated": False}}
        details = None
    if timeout is not None:
        scheduled["timeoutInSeconds"] = int(timeout)
    if heartbeat is not None and family != "LambdaFunction":
        scheduled["heartbeatInSeconds"] = int(heartbeat)
    step.emit(family + "Scheduled", scheduled)
    if family != "Activity":  # an activity's starts when a worker takes it (TaskTaken)
        step.emit(family + "Started", details)
    ex["waiting"] = "task"
    ex["token"] = token
    ex["scheduled_at"] = step.now
    ex["timeout_s"] = timeout
    ex["heartbeat_s"] = heartbeat
    step.commands.append(
        InvokeTask(
            token=token,
            resource=state.resource or "",
            input=params,
            state=state.name,
            entered=ex["entered"],
            idempotency_key=derive(ex["salt"], "idempotency", ex["id"], ex["entered"]),
            attempt=sum(ex["retry"].values()) if ex["retry"] else 0,
            timeout_s=timeout,
            heartbeat_s=heartbeat,
            credentials=credentials,
            execution=ex["id"],
            queue=state.queue,
            trace=ex.get("trace"),
        )
    )
    for kind, seconds in (("timeout", timeout), ("heartbeat", heartbeat)):
        if seconds is not None:
            step.timer(f"{ex['id']}:{kind}:{token}", step.now + int(seconds * 1000))
    return None


def cancel_task_timers(step: Step) -> None:
    """The task waited for is over: its timeout and heartbeat timers go."""
    ex = step.ex
    token = ex["token"]
    if ex.get("timeout_s"):
        step.commands.append(CancelTimer(f"{ex['id']}:timeout:{token}"))
    if ex.get("heartbeat_s"):
        step.commands.append(CancelTimer(f"{ex['id']}:heartbeat:{token}"))
    ex["timeout_s"] = ex["heartbeat_s"] = None
