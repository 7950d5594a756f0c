"""One action per state type: what a state does once entered (or re-tried).

An action returns ``(next_state, input)`` when the state completed at once, or
``None`` when the execution now waits (task, timer, children) or has finished.
Raising :class:`StatesError` sends the state through retry → catch → fail.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from statemachine.interpreter import failures as F
from statemachine.interpreter.commands import CancelTimer, InvokeTask, StartChildren
from statemachine.interpreter.records import Status
from statemachine.language import paths as _paths
from statemachine.language.model import IDENTITY, JSONATA, State
from statemachine.language.scope import StatesError
from statemachine.language.values import json_type_name

if TYPE_CHECKING:
    from statemachine.interpreter.step import Go, _Step


def _dumps(value: Any) -> str:
    from statemachine.interpreter.step import dumps

    return dumps(value)


def _derive(*parts: Any) -> str:
    from statemachine.interpreter.step import derive

    return derive(*parts)


# -- Task ---------------------------------------------------------------------------------


def resource_details(state: State) -> dict[str, Any]:
    """``resourceType``/``resource`` as AWS splits a Resource in task history events."""
    resource = state.resource or ""
    if resource.startswith("arn:aws:states:::"):
        service, _, action = resource[len("arn:aws:states:::") :].partition(":")
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
        return resource_details(state)["resourceType"]
    return resource


def task_event(state: State, suffix: str) -> str:
    """Direct Lambda ARNs get LambdaFunction* events, everything else Task*."""
    if (state.resource or "").startswith("arn:aws:lambda:"):
        return "LambdaFunction" + suffix
    return "Task" + suffix


def task_token(execution_id: str, secret: str) -> str:
    """``<base64url(execution id)>.<secret>``: routable to its execution, unguessable."""
    head = base64.urlsafe_b64encode(execution_id.encode()).decode().rstrip("=")
    return f"{head}.{secret}"


def token_execution(token: str) -> str | None:
    """The execution id a task token belongs to, or None if it is malformed."""
    head, sep, secret = token.partition(".")
    if not sep or not secret:
        return None
    try:
        return base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _positive_int(value: Any, state: State, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise StatesError(F.RUNTIME, f"The {field} value must be a positive integer: {value!r}")
    return float(value)


def task(step: _Step, state: State, value: Any) -> Go:
    ex = step.ex
    token = task_token(ex["id"], _derive(ex["salt"], "token", ex["seq"]))
    context = step.context(state, task_token=token)
    if state.language == JSONATA:
        scope = step.scope(state, value, context=context)
        params = state.arguments.evaluate(scope, "Arguments") if state.arguments is not None else value
    else:
        effective = step.select(state.input_path, state, value, "InputPath")
        if state.parameters is not None:
            params = state.parameters.render(step.scope(state, effective, context=context))
        else:
            params = effective
    timeout = heartbeat = None
    if state.timeout is not None:
        timeout = _positive_int(step.number(state.timeout, state, value, "TimeoutSeconds"), state, "TimeoutSeconds")
    if state.heartbeat is not None:
        heartbeat = _positive_int(
            step.number(state.heartbeat, state, value, "HeartbeatSeconds"), state, "HeartbeatSeconds"
        )
    credentials = None
    if state.credentials is not None:
        scope = step.scope(state, value)
        credentials = (
            state.credentials.evaluate(scope, "Credentials")
            if state.language == JSONATA
            else state.credentials.render(scope)
        )
    details = resource_details(state)
    scheduled: dict[str, Any] = {**details, "region": "local", "parameters": _dumps(params)}
    if timeout is not None:
        scheduled["timeoutInSeconds"] = int(timeout)
    if heartbeat is not None:
        scheduled["heartbeatInSeconds"] = int(heartbeat)
    step.emit(task_event(state, "Scheduled"), scheduled)
    step.emit(task_event(state, "Started"), details)
    ex["waiting"] = 'task'
    ex["token"] = token
    ex["timeout_s"] = timeout
    ex["heartbeat_s"] = heartbeat
    step.commands.append(
        InvokeTask(
            token=token,
            resource=state.resource or "",
            input=params,
            state=state.name,
            entered=ex["entered"],
            idempotency_key=_derive(ex["salt"], "idempotency", ex["id"], ex["entered"]),
            attempt=sum(ex["retry"].values()) if ex["retry"] else 0,
            timeout_s=timeout,
            heartbeat_s=heartbeat,
            credentials=credentials,
            execution=ex["id"],
        )
    )
    for kind, seconds in (("timeout", timeout), ("heartbeat", heartbeat)):
        if seconds is not None:
            step.timer(f"{ex['id']}:{kind}:{token}", step.now + int(seconds * 1000))
    return None


def cancel_task_timers(step: _Step) -> None:
    ex = step.ex
    token = ex["token"]
    if ex.get("timeout_s"):
        step.commands.append(CancelTimer(f"{ex['id']}:timeout:{token}"))
    if ex.get("heartbeat_s"):
        step.commands.append(CancelTimer(f"{ex['id']}:heartbeat:{token}"))
    ex["timeout_s"] = ex["heartbeat_s"] = None


# -- Pass, Succeed, Fail -------------------------------------------------------------------


def pass_(step: _Step, state: State, value: Any) -> Go:
    if state.language == JSONATA:
        return step.complete(state, value, value)
    effective = step.select(state.input_path, state, value, "InputPath")
    if state.result is not None:
        result = state.result[0]
    elif state.parameters is not None:
        result = state.parameters.render(step.scope(state, effective))
    else:
        result = effective
    return step.complete(state, value, result)


def _passthrough_output(step: _Step, state: State, value: Any) -> Any:
    """Output of Succeed/Wait/Choice: InputPath then OutputPath, or JSONata Output."""
    if state.language == JSONATA:
        scope = step.scope(state, value)
        new_vars = state.assign.evaluate(scope, "Assign") if state.assign is not None else None
        output = state.output.evaluate(scope, "Output") if state.output is not None else value
        if new_vars:
            step.assign(new_vars)
        return output
    effective = step.select(state.input_path, state, value, "InputPath")
    new_vars = state.assign.render(step.scope(state, effective)) if state.assign is not None else None
    output = step.select(state.output_path, state, effective, "OutputPath")
    if new_vars:
        step.assign(new_vars)
    return output


def succeed(step: _Step, state: State, value: Any) -> Go:
    return step.leave(state, _passthrough_output(step, state, value))


def _fail_field(step: _Step, state: State, spec: Any, value: Any, field: str) -> Any:
    if spec is None:
        return None
    kind, x = spec
    if kind == "const":
        return x
    if kind == "expr":
        return x.evaluate(step.scope(state, value), field)
    if kind == "intrinsic":
        return x.render(step.scope(state, value))["v"]
    try:
        return x.get(step.scope(state, value))
    except _paths.PathNotFound:
        raise StatesError(
            F.RUNTIME,
            f"The JSONPath '{x.text}' specified for the field '{field}Path' could not be found "
            f"in the input '{_dumps(value)}'",
        ) from None


def fail(step: _Step, state: State, value: Any) -> Go:
    error = _fail_field(step, state, state.error, value, "Error")
    cause = _fail_field(step, state, state.cause, value, "Cause")
    step.finish(Status.FAILED, error=error, cause=cause)
    return None


# -- Choice ----------------------------------------------------------------------------------


def choice(step: _Step, state: State, value: Any) -> Go:
    if state.language == JSONATA:
        scope = step.scope(state, value)
        for rule in state.choices:
            if rule.rule.test(scope):
                return _choice_exit(step, state, value, rule.next, rule.assign, rule.output)
        if state.default is None:
            raise StatesError(F.NO_CHOICE, "No Matches!", prefixed=False)
        return _choice_exit(step, state, value, state.default, state.assign, state.output)
    effective = step.select(state.input_path, state, value, "InputPath")
    scope = step.scope(state, effective)
    for rule in state.choices:
        if rule.rule.test(scope):
            return _choice_exit(step, state, effective, rule.next, rule.assign, None)
    if state.default is None:
        raise StatesError(F.NO_CHOICE, "No Matches!", prefixed=False)
    return _choice_exit(step, state, effective, state.default, state.assign, None)


def _choice_exit(step: _Step, state: State, value: Any, next_: str, assign: Any, output: Any) -> Go:
    scope = step.scope(state, value)
    if state.language == JSONATA:
        new_vars = assign.evaluate(scope, "Assign") if assign is not None else None
        out = output.evaluate(scope, "Output") if output is not None else value
        if new_vars:
            step.assign(new_vars)
    else:
        new_vars = assign.render(scope) if assign is not None else None
        out = step.select(state.output_path, state, value, "OutputPath")
        if new_vars:
            step.assign(new_vars)
    step.emit("ChoiceStateExited", {"name": state.name, "output": _dumps(out), "outputDetails": {"truncated": False}})
    return next_, out


# -- Wait --------------------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


def parse_timestamp(text: Any) -> int | None:
    """An ISO-8601 extended offset date-time as ms since the epoch, or None if invalid."""
    if not isinstance(text, str):
        return None
    m = _TIMESTAMP.match(text)
    if m is None:
        return None
    frac = m.group(7) or ""
    base = text[: m.start(7)] if frac else text[: m.start(8)]
    zone = m.group(8)
    try:
        dt = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    ms = int(dt.timestamp()) * 1000
    if frac:
        ms += int((frac[1:] + "000")[:3])
    return ms


def wait(step: _Step, state: State, value: Any) -> Go:
    kind, x = state.wait
    scope_input = value
    if state.language != JSONATA:
        scope_input = step.select(state.input_path, state, value, "InputPath")
    now = step.now
    if kind == "seconds":
        due = now + int(x * 1000)
    elif kind == "seconds_path":
        seconds = _paths.select(x, step.scope(state, scope_input), "SecondsPath")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or (
            isinstance(seconds, float) and not seconds.is_integer()
        ):
            raise StatesError(
                F.RUNTIME,
                f"The SecondsPath parameter cannot be parsed as a long value: {x.text} == {_num(seconds)}",
            )
        if seconds < 0:
            raise StatesError(
                F.RUNTIME, f"The SecondsPath parameter references a negative value: {x.text} == {_num(seconds)}"
            )
        due = now + int(seconds) * 1000
    elif kind == "seconds_expr":
        seconds = x.evaluate(step.scope(state, value), "Seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise StatesError(
                F.QUERY_EVALUATION, f"The Seconds field must be a non-negative integer, but was: {_dumps(seconds)}"
            )
        due = now + int(seconds * 1000)
    elif kind == "timestamp":
        due = parse_timestamp(x) or now
    elif kind == "timestamp_path":
        text = _paths.select(x, step.scope(state, scope_input), "TimestampPath")
        parsed = parse_timestamp(text)
        if parsed is None:
            raise StatesError(
                F.RUNTIME,
                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
                f"date-time format string: {x.text} == {text if isinstance(text, str) else _dumps(text)}",
            )
        due = parsed
    else:  # timestamp_expr
        text = x.evaluate(step.scope(state, value), "Timestamp")
        parsed = parse_timestamp(text)
        if parsed is None:
            raise StatesError(
                F.QUERY_EVALUATION,
                "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
                f"format string: {text if isinstance(text, str) else _dumps(text)}",
            )
        due = parsed
    if due <= now:
        return wait_done(step, state)
    step.start_timer("wait", due)
    return None


def _num(value: Any) -> str:
    return _dumps(value) if not isinstance(value, str) else value


def wait_done(step: _Step, state: State) -> Go:
    value = step.ex["state_input"]
    try:
        output = _passthrough_output(step, state, value)
    except StatesError as err:
        return step.fail_state(state, err.error, step.cause_of(err))
    return step.leave(state, output)


# -- Parallel and Map ------------------------------------------------------------------------


def _effective_parameters(step: _Step, state: State, value: Any) -> Any:
    if state.language == JSONATA:
        if state.arguments is not None:
            return state.arguments.evaluate(step.scope(state, value), "Arguments")
        return value
    effective = step.select(state.input_path, state, value, "InputPath")
    if state.parameters is not None:
        return state.parameters.render(step.scope(state, effective))
    return effective


def parallel(step: _Step, state: State, value: Any) -> Go:
    ex = step.ex
    branch_input = _effective_parameters(step, state, value)
    group = str(step.emit("ParallelStateStarted"))
    base = list(ex["path"]) + ["States", state.name, "Branches"]
    n = len(state.branches)
    ex["waiting"] = 'children'
    ex["group"] = group
    step.commands.append(
        StartChildren(
            group=group,
            kind="parallel",
            paths=[base + [i] for i in range(n)],
            inputs=[branch_input] * n,
            items=None,
            max_concurrency=0,
            tolerated_count=None,
            tolerated_percentage=None,
            vars=ex["vars"],
            execution_input=any(b.reads_execution_input for b in state.branches),
        )
    )
    return None


def _map_items(step: _Step, state: State, value: Any) -> tuple[Any, list[Any]]:
    if state.language == JSONATA:
        if state.items is not None:
            items = state.items.evaluate(step.scope(state, value), "Items")
            if not isinstance(items, list):
                text = state.raw["Items"]
                expr = text[2:-2].strip() if isinstance(text, str) else _dumps(text)
                raise StatesError(
                    F.QUERY_EVALUATION,
                    f"The JSONata expression '{expr}' specified for the field 'Items' returned an "
                    f"unexpected result type. Expected 'array', but was '{json_type_name(items)}' for value: "
                    f"{_dumps(items)}",
                )
            return value, items
        if not isinstance(value, list):
            raise StatesError(F.QUERY_EVALUATION, f"Map state input must be an array but was: {_dumps(value)}")
        return value, value
    effective = step.select(state.input_path, state, value, "InputPath")
    items = effective if state.items_path is IDENTITY else step.select(state.items_path, state, effective, "ItemsPath")
    if not isinstance(items, list):
        raise StatesError(F.RUNTIME, f"Map state input must be an array but was: {_dumps(items)}")
    return effective, items


def _map_limit(step: _Step, state: State, spec: Any, value: Any, field: str, kind: type) -> Any:
    if spec is None:
        return None
    raw = step.number(spec, state, value, field)
    path_text = state.raw.get(field + "Path")
    if isinstance(raw, str) and spec[0] == "path":
        try:
            raw = kind(raw)
        except ValueError:
            pass
    ok = not isinstance(raw, bool) and isinstance(raw, (int, float))
    if kind is int and ok and isinstance(raw, float) and not raw.is_integer():
        ok = False
    if not ok:
        shown = raw if isinstance(raw, str) else _dumps(raw)
        what = "integer" if kind is int else "float"
        raise StatesError(
            F.RUNTIME, f'The {field}Path field refers to value "{shown}" which is not a valid {what}: {path_text}'
        )
    return kind(raw)


def map_(step: _Step, state: State, value: Any) -> Go:
    ex = step.ex
    effective, items = _map_items(step, state, value)
    max_concurrency = _map_limit(step, state, state.max_concurrency, effective, "MaxConcurrency", int) or 0
    count = _map_limit(step, state, state.tolerated_count, effective, "ToleratedFailureCount", int)
    pct = _map_limit(step, state, state.tolerated_percentage, effective, "ToleratedFailurePercentage", float)
    if count is not None and count < 0:
        raise StatesError(F.RUNTIME, "ToleratedFailureCount cannot be negative.")
    if pct is not None and not 0 <= pct <= 100:
        raise StatesError(F.RUNTIME, "ToleratedFailurePercentage must be between 0 and 100.")
    if state.item_selector is not None:
        inputs = []
        base_context = step.context(state)
        for index, item in enumerate(items):
            context = dict(base_context)
            context["Map"] = {"Item": {"Index": index, "Value": item}}
            scope = step.scope(state, effective, context=context)
            if state.language == JSONATA:
                inputs.append(state.item_selector.evaluate(scope, "ItemSelector"))
            else:
                inputs.append(state.item_selector.render(scope))
    else:
        inputs = items
    group = str(step.emit("MapStateStarted", {"length": len(items)}))
    if not items:
        step.emit("MapStateSucceeded")
        return step.complete(state, value, [])
    ex["waiting"] = 'children'
    ex["group"] = group
    step.commands.append(
        StartChildren(
            group=group,
            kind="map",
            paths=[list(ex["path"]) + ["States", state.name, "ItemProcessor"]],
            inputs=inputs,
            items=items,
            max_concurrency=max_concurrency,
            tolerated_count=count,
            tolerated_percentage=pct,
            vars=ex["vars"],
            execution_input=state.processor is not None and state.processor.reads_execution_input,
        )
    )
    return None


def children_done(step: _Step, state: State, event: dict[str, Any]) -> Go:
    value = step.ex["state_input"]
    prefix = "Map" if state.type == "Map" else "Parallel"
    failed = event.get("failed")
    if failed is not None:
        step.emit(prefix + "StateFailed")
        if failed.get("threshold"):
            return step.fail_state(
                state, F.TOLERATED, "The specified tolerated failure threshold was exceeded"
            )
        return step.fail_state(state, failed.get("error") or F.BRANCH_FAILED, failed.get("cause"))
    outcomes = event.get("outcomes") or []
    results = [
        o.get("output") if o.get("status") == "SUCCEEDED" else _failed_item(o) for o in outcomes
    ]
    step.emit(prefix + "StateSucceeded")
    return step.complete(state, value, results)


def _failed_item(outcome: dict[str, Any]) -> dict[str, Any]:
    item = {"Error": outcome.get("error")}
    if outcome.get("cause") is not None:
        item["Cause"] = outcome["cause"]
    return item


ACTIONS = {
    "Task": task,
    "Pass": pass_,
    "Choice": choice,
    "Wait": wait,
    "Succeed": succeed,
    "Fail": fail,
    "Parallel": parallel,
    "Map": map_,
}
