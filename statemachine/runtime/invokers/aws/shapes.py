"""Parameters and results in Step Functions' shapes, guided by botocore's service models.

Requests: member names match case-insensitively, so ``StateMachineArn`` reaches SFN's
``stateMachineArn`` (Step Functions writes every member in PascalCase); ``null`` members are
left out, as the Java SDK leaves them unset; a string member given any other JSON value
gets its compact JSON text (``Input``, ``Message``, ``Detail``), a blob member gets a string's
UTF-8 bytes or any other value's JSON text (an S3 ``Body`` of ``false`` is ``false``);
maps keep their keys.  An unknown member is a :class:`ParameterError`.

Results: structure members in PascalCase (``executionArn`` is ``ExecutionArn``), map keys
as they are, timestamps as ISO 8601 in UTC (``2025-11-06T12:20:05.123Z``), blobs as UTF-8
text (an S3 object's ``Body``) or, when they are not text, base64.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from statemachine.runtime.invokers.base import sdk_metadata as _metadata

__all__ = ["ParameterError", "request", "result", "sdk_metadata", "timestamp"]


class ParameterError(ValueError):
    """A parameter the API does not have, or of the wrong kind; the message names it."""


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _at(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def request(shape: Any, value: Any, path: str = "") -> Any:
    """``value`` (a state's parameters) as botocore's arguments for ``shape``; ``path``
    names where ``value`` sits, for error messages."""
    if shape is None or shape.metadata.get("document"):
        return value
    match shape.type_name:
        case "structure":
            if not isinstance(value, dict):
                raise ParameterError(f"'{path or 'Parameters'}' must be an object, not {_json(value)}")
            members = shape.members
            lowered = {name.lower(): name for name in members}
            out: dict[str, Any] = {}
            for key, item in value.items():
                name = key if key in members else lowered.get(str(key).lower())
                if name is None:
                    known = ", ".join(_pascal(m) for m in members) or "none"
                    raise ParameterError(f"'{_at(path, key)}' is not a parameter here "
                                         f"(the parameters of {shape.name} are {known})")
                if item is not None:
                    out[name] = request(members[name], item, _at(path, key))
            return out
        case "list":
            if not isinstance(value, list):
                raise ParameterError(f"'{path}' must be an array, not {_json(value)}")
            return [request(shape.member, item, f"{path}[{i}]") for i, item in enumerate(value)]
        case "map":
            if not isinstance(value, dict):
                raise ParameterError(f"'{path}' must be an object, not {_json(value)}")
            return {key: request(shape.value, item, _at(path, key)) for key, item in value.items()}
        case "blob":
            return value.encode() if isinstance(value, str) else _json(value).encode()
        case "string":
            return value if isinstance(value, str) else _json(value)
        case _:
            return value


def result(shape: Any, value: Any) -> Any:
    """A botocore response (or part) as Step Functions returns it for ``shape``."""
    if shape is None or value is None or shape.metadata.get("document"):
        return value
    match shape.type_name:
        case "structure":
            if not isinstance(value, dict):
                return value
            return {_pascal(name): result(member, value[name])
                    for name, member in shape.members.items() if name in value}
        case "list":
            return [result(shape.member, item) for item in value]
        case "map":
            return {key: result(shape.value, item) for key, item in value.items()}
        case "blob":
            return _blob(value)
        case "timestamp":
            return timestamp(value) if isinstance(value, dt.datetime) else value
        case _:
            return value


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _blob(value: Any) -> Any:
    if not isinstance(value, (bytes, bytearray)):
        return value
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(value).decode("ascii")


def timestamp(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``; milliseconds only when the value has them."""
    utc = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond // 1000:03d}"
    return text + "Z"


_HEADER_CASE = {"content-length": "Content-Length", "content-type": "Content-Type",
                "date": "Date", "x-amzn-requestid": "x-amzn-RequestId", "server": "Server",
                "connection": "Connection"}


def sdk_metadata(response: dict[str, Any]) -> dict[str, Any]:
    """``SdkHttpMetadata`` and ``SdkResponseMetadata`` of a botocore response, which
    optimised integrations add to their results."""
    meta = response.get("ResponseMetadata", {})
    headers = {_HEADER_CASE.get(name, name): [value]
               for name, value in meta.get("HTTPHeaders", {}).items()}
    return _metadata(headers, meta.get("HTTPStatusCode", 200), meta.get("RequestId", ""))
