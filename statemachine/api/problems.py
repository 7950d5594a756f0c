"""Errors as JSON, and the checks that turn a bad request into one before anything is written.

Every error the API returns has the body ``{"error": <code>, "message": <text>}`` (plus
``diagnostics`` for an invalid definition, or the ``details`` an :class:`InputError`
carries) and a 4xx or 5xx status:

- :class:`~statemachine.errors.InputError` and its subclasses map to their own status
  (400, 404 ``NotFound``, 409 ``Conflict``, 400 ``InvalidToken``/``TaskTimedOut``);
- :class:`~statemachine.errors.DefinitionError` is 400 ``InvalidDefinition`` with the
  diagnostics (JSON pointer, code, message, line);
- aiohttp's own HTTP errors (unknown route, wrong method, body too large) keep their
  status and get the same JSON shape;
- the store being unreachable (Redis down, :class:`~statemachine.errors.StoreError`) is
  503 ``Unavailable``: the client may retry;
- anything else is a bug: 500 ``InternalError`` with a generic message, the traceback
  goes to the log and never to the client.

The body readers and field checkers below are what the route handlers call first, so a
request is rejected as a whole (and nothing is written) when any field is wrong.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, NoReturn

import orjson
from aiohttp import web

from statemachine.errors import DefinitionError, InputError
from statemachine.language.values import (
    MAX_NESTING,
    json_type_name,
    may_nest_deeper_than,
    nested_deeper_than,
)
from statemachine.runtime.store import UNAVAILABLE

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEFINITION_BYTES",
    "MAX_NAME_LENGTH",
    "MAX_PAYLOAD_BYTES",
    "STORE_UNAVAILABLE",
    "Body",
    "check_name",
    "check_payload_size",
    "error_middleware",
    "error_response",
    "json_response",
    "query_float",
    "query_int",
    "query_str",
    "read_body",
    "store_trouble",
]

log = logging.getLogger("statemachine.api")

STORE_UNAVAILABLE = UNAVAILABLE
"""What the store raises when it cannot be reached: an outage to wait out, not a bug (503);
defined by the gateway, which alone knows its client's exceptions."""

MAX_PAYLOAD_BYTES = 256 * 1024
"""Largest execution input, task output or activity result (UTF-8 JSON), as in Step Functions."""

MAX_BODY_BYTES = MAX_PAYLOAD_BYTES + 16 * 1024
"""Largest request body on routes that carry a payload: the payload plus a small envelope."""

MAX_DEFINITION_BYTES = 1024 * 1024 + 16 * 1024
"""Largest body of ``POST /v1/state-machines`` (Step Functions allows 1 MiB definitions)."""

MAX_NAME_LENGTH = 80
MAX_TOKEN_LENGTH = 2048
MAX_ERROR_LENGTH = 256
MAX_CAUSE_LENGTH = 32768
MAX_ID_LENGTH = 512
MAX_QUERY_LENGTH = 1024
MAX_VERSION = 2**31 - 1
"""Largest state machine version a request may name (a 32-bit signed integer)."""

# Step Functions' naming rule: no whitespace, brackets, wildcards, special characters
# or control characters.  It also keeps names safe inside Redis keys and ARNs.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(body: Any, status: int = 200) -> web.Response:
    """A JSON response serialised with orjson (datetimes and non-str keys included)."""
    return web.Response(
        body=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


def error_response(status: int, code: str, message: str, **extra: Any) -> web.Response:
    """The one error shape: ``{"error": code, "message": message, ...extra}``."""
    return json_response({"error": code, "message": message, **extra}, status=status)


def bad_request(message: str, code: str = "InvalidRequest", status: int = 400) -> NoReturn:
    """Reject the request with a 4xx: raised as an :class:`InputError` for the middleware."""
    raise InputError(message, code, status)


_HTTP_CODES: dict[int, str] = {
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every exception into the JSON error shape with the right status."""
    try:
        return await handler(request)
    except DefinitionError as exc:
        return error_response(
            400, "InvalidDefinition", str(exc),
            diagnostics=[d.to_json() for d in exc.diagnostics],
        )
    except InputError as exc:
        return error_response(exc.status, exc.code, exc.message, **exc.details)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _from_http_exception(exc)
    except STORE_UNAVAILABLE as exc:
        log.warning("store unavailable in %s %s: %s", request.method, request.path, exc)
        return error_response(503, "Unavailable", store_trouble(exc))
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(500, "InternalError", "internal server error; see the server log")


def store_trouble(exc: BaseException) -> str:
    """What an API caller is told of the store failing: the error's own words when they are
    for a caller (``StoreError.public``), else that Redis is unavailable."""
    if getattr(exc, "public", False):
        return str(exc)
    return "the store (Redis) is unavailable; try again"


def _from_http_exception(exc: web.HTTPException) -> web.Response:
    code = _HTTP_CODES.get(exc.status, exc.reason.replace(" ", "") or "HTTPError")
    message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
    if exc.status == 413:
        message = "request body too large"
    elif exc.status == 404:
        message = "no such route"
    elif isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        message = f"method {exc.method} not allowed here; allowed: {allowed}"
    response = error_response(exc.status, code, message)
    if "Allow" in exc.headers:
        response.headers["Allow"] = exc.headers["Allow"]
    return response


async def read_body(
    request: web.Request,
    *,
    max_bytes: int = MAX_BODY_BYTES,
    optional: bool = False,
) -> Body:
    """Read the request body as one JSON object, refusing anything else with a clear 4xx.

    ``optional`` allows an empty body (read as ``{}``), for routes whose fields are all
    optional.  Bodies over ``max_bytes`` get 413 before they are parsed.
    """
    if request.content_length is not None and request.content_length > max_bytes:
        bad_request(f"request body is larger than {max_bytes} bytes", "PayloadTooLarge", 413)
    raw = await _read_limited(request, max_bytes)
    if not raw.strip():
        if optional:
            return Body({})
        bad_request("request body is empty; expected a JSON object", "MalformedJSON")
    if request.content_type != JSON_MEDIA_TYPE:
        # A page of another site can send text/plain, form or multipart bodies without a
        # preflight, never application/json: refusing the others closes that door.
        given = request.headers.get("Content-Type") or "no Content-Type"
        bad_request(f"request body must be sent as {JSON_MEDIA_TYPE}, not {given}",
                    "UnsupportedMediaType", 415)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        bad_request(f"request body is not valid JSON: {exc}", "MalformedJSON")
    _refuse_duplicate_keys(raw)
    if may_nest_deeper_than(raw) and nested_deeper_than(data):
        bad_request(f"request body nests arrays/objects deeper than {MAX_NESTING} levels",
                    "MalformedJSON")
    if not isinstance(data, dict):
        bad_request(f"request body must be a JSON object, not {_json_type(data)}")
    return Body(data)


JSON_MEDIA_TYPE = "application/json"


def _unique_keys(pairs: list[tuple[str, Any]]) -> None:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            bad_request(f"request body has the key {key!r} twice in one object", "MalformedJSON")
        seen.add(key)


def _refuse_duplicate_keys(raw: bytes) -> None:
    """A 400 when an object of the (valid) JSON ``raw`` repeats a key: orjson keeps the last
    one silently, so two readers of the same body could see different values."""
    if raw.count(b'"') < 4:  # fewer than two strings: no object with two keys
        return
    try:
        json.loads(raw, object_pairs_hook=_unique_keys)
    except RecursionError:
        bad_request("request body is nested too deeply", "MalformedJSON")


async def _read_limited(request: web.Request, max_bytes: int) -> bytes:
    """The body, at most ``max_bytes``: read at once when its length is announced (and allowed)."""
    length = request.content_length
    if length == 0:
        return b""
    if length is not None:
        try:
            return await request.content.readexactly(length)
        except asyncio.IncompleteReadError:
            bad_request("request body ended before its Content-Length", "MalformedJSON")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            bad_request(f"request body is larger than {max_bytes} bytes", "PayloadTooLarge", 413)
        chunks.append(chunk)
    return b"".join(chunks)


class Body:
    """A parsed JSON object body with typed accessors that name the field when they refuse."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def only(self, allowed: Iterable[str]) -> Body:
        """Refuse fields outside ``allowed`` (a typo like ``inptu`` should not pass silently)."""
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            names = ", ".join(repr(k) for k in unknown)
            expected = ", ".join(repr(k) for k in allowed)
            bad_request(f"unknown field(s) {names}; expected only {expected}", "UnknownField")
        return self

    def has(self, key: str) -> bool:
        return key in self.data

    def value(self, key: str, default: Any = None) -> Any:
        """A field of any JSON type (payloads)."""
        return self.data.get(key, default)

    def string(self, key: str, *, required: bool = False, max_length: int | None = None) -> str | None:
        """A string field; ``None`` when absent and not required (null is not a string)."""
        if key not in self.data:
            if required:
                bad_request(f"field {key!r} is required (a string)", "MissingField")
            return None
        value = self.data[key]
        if not isinstance(value, str):
            bad_request(f"field {key!r} must be a string, not {_json_type(value)}", "InvalidType")
        if required and not value:
            bad_request(f"field {key!r} must not be empty", "InvalidValue")
        if max_length is not None and len(value) > max_length:
            bad_request(
                f"field {key!r} is {len(value)} characters long; at most {max_length} allowed",
                "InvalidValue",
            )
        return value

    def required_str(self, key: str, *, max_length: int | None = None) -> str:
        value = self.string(key, required=True, max_length=max_length)
        assert value is not None
        return value

    def name(self, key: str, what: str, *, required: bool = True) -> str | None:
        """A name field: a string that passes :func:`check_name` (``None`` if optional and absent;
        null is not a name)."""
        if key not in self.data:
            if not required:
                return None
            bad_request(f"field {key!r} is required (a string)", "MissingField")
        value = self.data[key]
        if not isinstance(value, str):
            bad_request(f"field {key!r} must be a string, not {_json_type(value)}", "InvalidType")
        return check_name(value, f"{what} (field {key!r})")

    def str_map(self, key: str) -> dict[str, str] | None:
        """An object whose values are all strings (substitutions); ``None`` when absent."""
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, dict):
            bad_request(f"field {key!r} must be an object, not {_json_type(value)}", "InvalidType")
        for name, item in value.items():
            if not isinstance(item, str):
                bad_request(
                    f"field {key!r}: value of {name!r} must be a string, not {_json_type(item)}",
                    "InvalidType",
                )
        return dict(value)


def check_name(value: str, what: str) -> str:
    """Apply Step Functions' rule for names (1-80 characters, no special characters)."""
    if not value:
        bad_request(f"{what} must not be empty", "InvalidName")
    if len(value) > MAX_NAME_LENGTH:
        bad_request(
            f"{what} is {len(value)} characters long; at most {MAX_NAME_LENGTH} allowed",
            "InvalidName",
        )
    bad = _BAD_NAME.search(value)
    if bad:
        bad_request(
            f"{what} {value!r} contains {bad.group()!r}; names may not contain whitespace, "
            "brackets, wildcards, control characters or any of \"#%\\^|~`$&,;:/",
            "InvalidName",
        )
    return value


def check_id(value: str, what: str = "execution id") -> str:
    """Refuse path parameters too long to be ours before they reach the store."""
    if len(value) > MAX_ID_LENGTH:
        raise InputError(f"{what} is too long ({len(value)} characters)", "NotFound", 404)
    return value


def check_payload_size(value: Any, field: str) -> None:
    """Refuse a JSON payload over 256 KiB once serialised, as Step Functions does."""
    size = len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
    if size > MAX_PAYLOAD_BYTES:
        bad_request(
            f"field {field!r} is {size} bytes as JSON; at most {MAX_PAYLOAD_BYTES} allowed",
            "PayloadTooLarge",
            413,
        )


def query_str(query: Mapping[str, str], key: str, *,
              max_length: int = MAX_QUERY_LENGTH) -> str | None:
    """A query parameter's text, or ``None`` when it is left out (given empty, it is a 400)."""
    value = query.get(key)
    if value is None:
        return None
    _refuse_empty(key, value)
    if len(value) > max_length:
        bad_request(f"query parameter {key!r} is too long", "InvalidValue")
    return value


def query_int(query: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within ``[low, high]``."""
    return int(_query_number(query, key, default, low, high, int, "an integer"))


def query_float(query: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
    """A number query parameter within ``[low, high]``."""
    return _query_number(query, key, default, low, high, float, "a number")


def _query_number(query: Mapping[str, str], key: str, default: float, low: float, high: float,
                  parse: Callable[[str], float], what: str) -> float:
    text = query.get(key)
    if text is None:
        return default
    _refuse_empty(key, text)
    try:
        value = parse(text)
    except ValueError:
        bad_request(f"query parameter {key!r} must be {what}, not {text!r}", "InvalidType")
    if not low <= value <= high:
        shown = "{:g}" if parse is float else "{}"
        bad_request(f"query parameter {key!r} must be between {shown.format(low)} and {shown.format(high)}",
                    "InvalidValue")
    return value


def _refuse_empty(key: str, value: str) -> None:
    """``?name=`` with no value is a 400: it is not the same as leaving the parameter out,
    and taking it for that would let a client's empty filter list everything."""
    if not value:
        bad_request(f"query parameter {key!r} is empty; leave it out to use its default",
                    "InvalidValue")


def _json_type(value: Any) -> str:
    name = json_type_name(value)
    if value is None:
        return name
    return ("an " if name[0] in "ao" else "a ") + name