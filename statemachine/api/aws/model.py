"""botocore's service model of Step Functions, read at run time: the one description of
every operation's input and output.

:func:`check_input` refuses a request body that does not fit the operation's input shape
(a required member missing, a wrong type, a length, range or enum broken) with AWS's
``ValidationException`` wording; :func:`render_output` keeps only the members the output
shape has, drops the ones that are None and writes timestamps as AWS JSON 1.0 does: epoch
seconds (a handler may give milliseconds since the epoch or an ISO 8601 text).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
import orjson

from statemachine.api.aws.call import AwsError, Call, Operation

__all__ = ["check_input", "operation_names", "render_output"]

MAX_ERRORS = 10


@cache
def _model() -> Any:
    return botocore.session.get_session().get_service_model("stepfunctions")


@cache
def operation_names() -> frozenset[str]:
    return frozenset(_model().operation_names)


def check_input(operation: str, body: dict[str, Any]) -> None:
    """Raise ``ValidationException`` listing what of ``body`` breaks the input shape."""
    shape = _model().operation_model(operation).input_shape
    problems: list[str] = []
    if shape is not None:
        _check(shape, body, "", problems)
    if problems:
        count = len(problems)
        raise AwsError("ValidationException",
                       f"{count} validation error{'s' if count > 1 else ''} detected: "
                       + "; ".join(problems[:MAX_ERRORS]))


def _violation(value: Any, where: str, constraint: str) -> str:
    shown = "null" if value is None else (value if isinstance(value, str | int) else "...")
    return f"Value '{shown}' at '{where}' failed to satisfy constraint: {constraint}"


def _check(shape: Any, value: Any, where: str, problems: list[str]) -> None:
    kind = shape.type_name
    metadata = shape.metadata
    match kind:
        case "structure":
            if not isinstance(value, dict):
                problems.append(_violation(value, where, "Member must be an object"))
                return
            for name in shape.required_members:
                if value.get(name) is None:
                    problems.append(_violation(None, _at(where, name), "Member must not be null"))
            for name, member in shape.members.items():
                if value.get(name) is not None:
                    _check(member, value[name], _at(where, name), problems)
        case "list":
            if not isinstance(value, list):
                problems.append(_violation(value, where, "Member must be a list"))
                return
            _check_size(len(value), metadata, value, where, problems)
            for index, item in enumerate(value):
                _check(shape.member, item, f"{where}.{index + 1}.member", problems)
        case "map":
            if not isinstance(value, dict):
                problems.append(_violation(value, where, "Member must be a map"))
                return
            for key, item in value.items():
                _check(shape.key, key, where, problems)
                _check(shape.value, item, where, problems)
        case "string":
            if not isinstance(value, str):
                problems.append(_violation(value, where, "Member must be a string"))
                return
            _check_size(len(value), metadata, value, where, problems)
            if shape.enum and value not in shape.enum:
                problems.append(_violation(value, where, "Member must satisfy enum value set: "
                                           f"[{', '.join(shape.enum)}]"))
        case "integer" | "long":
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(_violation(value, where, "Member must be an integer"))
                return
            if "min" in metadata and value < metadata["min"]:
                problems.append(_violation(value, where, "Member must have value greater than "
                                           f"or equal to {metadata['min']}"))
            if "max" in metadata and value > metadata["max"]:
                problems.append(_violation(value, where, "Member must have value less than or "
                                           f"equal to {metadata['max']}"))
        case "boolean":
            if not isinstance(value, bool):
                problems.append(_violation(value, where, "Member must be a boolean"))
        case "timestamp":
            if not isinstance(value, int | float) or isinstance(value, bool):
                problems.append(_violation(value, where, "Member must be a timestamp"))
        case _:
            pass


def _check_size(size: int, metadata: dict[str, Any], value: Any, where: str,
                problems: list[str]) -> None:
    if "min" in metadata and size < metadata["min"]:
        problems.append(_violation(value, where, "Member must have length greater than or "
                                   f"equal to {metadata['min']}"))
    if "max" in metadata and size > metadata["max"]:
        problems.append(_violation(value, where, "Member must have length less than or equal "
                                   f"to {metadata['max']}"))


def _at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def render_output(operation: str, result: dict[str, Any]) -> dict[str, Any]:
    """``result`` as the output shape has it (see the module's docstring)."""
    shape = _model().operation_model(operation).output_shape
    if shape is None:
        return {}
    rendered = _render(shape, result)
    return rendered if isinstance(rendered, dict) else {}


def _render(shape: Any, value: Any) -> Any:
    match shape.type_name:
        case "structure":
            if not isinstance(value, dict):
                return value
            return {name: _render(member, value[name]) for name, member in shape.members.items()
                    if value.get(name) is not None}
        case "list":
            return [_render(shape.member, item) for item in value]
        case "map":
            return {key: _render(shape.value, item) for key, item in value.items()}
        case "timestamp":
            return _epoch_seconds(value)
        case _:
            return value


def _epoch_seconds(value: Any) -> float:
    if isinstance(value, str):
        return datetime.fromisoformat(value).timestamp()
    if isinstance(value, datetime):
        return value.timestamp()
    return int(value) / 1000


async def perform(call: Call, operation: Operation, raw: bytes) -> dict[str, Any]:
    """``operation``'s answer to the JSON body ``raw`` (HTTP's or an in-process call's): the
    body parsed and checked against the input shape, the handler's result written through
    the output shape."""
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise AwsError("SerializationException", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise AwsError("SerializationException", "the request body must be a JSON object")
    check_input(call.operation, body)
    return render_output(call.operation, await operation.handler(call, body))
