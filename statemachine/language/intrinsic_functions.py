"""What each ``States.*`` intrinsic function does, and how many arguments it takes.

:mod:`statemachine.language.intrinsics` parses a call and checks it against
:data:`FUNCTIONS`; evaluating the call runs the function's ``run`` on the argument
values.  Behaviour follows what AWS Step Functions was recorded doing
(tests/conformance/cases/intrinsic_functions), including its quirks:

- ``States.MathAdd`` rounds each argument like Java's ``Math.round``
  (half up: ``1.5 -> 2``, ``-1.5 -> -1``) before adding;
- ``States.StringToJson('')`` and ``('  ')`` give ``null``;
- ``States.Format`` prints objects and arrays the Java way (``{a=1, b=[]}``);
- ``States.StringSplit`` splits on every character of the delimiter and drops
  empty pieces.

``States.UUID`` and ``States.MathRandom`` draw from ``scope.rng()`` so replays
give the same values.  Every failure is ``States.IntrinsicFailure``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Callable
from typing import Any, NamedTuple

from statemachine.language.java_json import compact_json, java_string, json_equal
from statemachine.language.scope import Entropy, Scope, StatesError

__all__ = ["FAILURE", "FUNCTIONS", "Function", "Run", "compile_format"]

FAILURE = "States.IntrinsicFailure"
_MAX_STRING = 10_000  # AWS's limit for Base64Encode/Decode and Hash input
_MAX_RANGE = 1000  # AWS's limit for ArrayRange results

#: A function's body: the scope and the evaluated argument values in, the result out.
Run = Callable[[Scope, list[Any]], Any]


class Function(NamedTuple):
    """An intrinsic: its number of arguments (``max_args`` ``None``: unbounded) and body."""

    min_args: int
    max_args: int | None
    run: Run


# --------------------------------------------------------------------------- helpers


def _fail(cause: str) -> StatesError:
    return StatesError(FAILURE, cause)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _want(value: Any, kind: type, what: str, function: str) -> Any:
    """``value`` if it is a ``kind`` (str, list or dict), else an IntrinsicFailure."""
    if not isinstance(value, kind):
        raise _fail(f"{function}: expected {what} but got {compact_json(value)}")
    return value


def _integer(value: Any, function: str) -> int:
    """An integral number argument (``3`` or ``3.0``)."""
    if not _is_number(value) or (isinstance(value, float) and not value.is_integer()):
        raise _fail(f"{function}: expected an integer but got {compact_json(value)}")
    return int(value)


def _java_round(value: Any, function: str) -> int:
    """Java's ``Math.round``: the nearest integer, halves rounded up."""
    if not _is_number(value):
        raise _fail(f"{function}: expected a number but got {compact_json(value)}")
    if isinstance(value, int):
        return value
    return math.floor(float(value) + 0.5)


def _short_string(value: Any, function: str) -> str:
    _want(value, str, "a string", function)
    if len(value) > _MAX_STRING:
        raise _fail(f"{function}: the input string is longer than {_MAX_STRING} characters")
    return str(value)


# --------------------------------------------------------------------------- functions


def compile_format(template: str | None) -> Run:
    """``States.Format``: ``{}`` placeholders, ``\\{``/``\\}`` literal braces.

    ``template`` is the first argument's text as written (escapes kept) when it is a
    literal, split once here; ``None`` when it is computed, split on every call.
    """
    pieces = None if template is None else _format_pieces(template)

    def run(scope: Scope, values: list[Any]) -> str:
        parts = pieces
        if parts is None:
            parts = _format_pieces(_want(values[0], str, "a string template", "States.Format"))
        holes = len(parts) - 1
        if holes != len(values) - 1:
            raise _fail(
                f"States.Format: the template has {holes} placeholder(s) "
                f"but {len(values) - 1} argument(s) were given"
            )
        out = [parts[0]]
        for value, text in zip(values[1:], parts[1:], strict=True):
            out.append(java_string(value))
            out.append(text)
        return "".join(out)

    return run


def _format_pieces(raw: str) -> list[str]:
    """Split a Format template at its ``{}`` placeholders, resolving escapes."""
    pieces: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            current.append(raw[i + 1])
            i += 2
        elif raw.startswith("{}", i):
            pieces.append("".join(current))
            current = []
            i += 2
        else:
            current.append(ch)
            i += 1
    pieces.append("".join(current))
    return pieces


def _string_to_json(scope: Scope, values: list[Any]) -> Any:
    text = _want(values[0], str, "a string", "States.StringToJson")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise _fail(f"States.StringToJson: the string is not valid JSON: {text}") from None
    except RecursionError:  # nested past what the parser can follow (the limit comes later)
        raise _fail("States.StringToJson: the string holds JSON nested too deeply to be "
                    "parsed") from None


def _array_partition(scope: Scope, values: list[Any]) -> Any:
    array = _want(values[0], list, "an array", "States.ArrayPartition")
    size = _integer(values[1], "States.ArrayPartition")
    if size <= 0:
        raise _fail("States.ArrayPartition: the chunk size must be greater than 0")
    return [array[i : i + size] for i in range(0, len(array), size)]


def _array_range(scope: Scope, values: list[Any]) -> Any:
    start, end, step = (_integer(v, "States.ArrayRange") for v in values)
    if step == 0:
        raise _fail("States.ArrayRange: the step must not be 0")
    result = list(range(start, end + (1 if step > 0 else -1), step))
    if len(result) > _MAX_RANGE:
        raise _fail(f"States.ArrayRange: the result has more than {_MAX_RANGE} items")
    return result


def _array_get_item(scope: Scope, values: list[Any]) -> Any:
    array = _want(values[0], list, "an array", "States.ArrayGetItem")
    index = _integer(values[1], "States.ArrayGetItem")
    if not 0 <= index < len(array):
        raise _fail(
            f"States.ArrayGetItem: index {index} is out of bounds for an array of {len(array)}"
        )
    return array[index]


def _array_unique(scope: Scope, values: list[Any]) -> Any:
    unique: list[Any] = []
    for item in _want(values[0], list, "an array", "States.ArrayUnique"):
        if not any(json_equal(item, seen) for seen in unique):
            unique.append(item)
    return unique


def _base64_decode(scope: Scope, values: list[Any]) -> Any:
    text = _short_string(values[0], "States.Base64Decode")
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _fail(f"States.Base64Decode: the string is not valid base64: {text}") from None


_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(scope: Scope, values: list[Any]) -> Any:
    data = _short_string(values[0], "States.Hash")
    algorithm = _want(values[1], str, "an algorithm name", "States.Hash")
    if algorithm not in _HASHES:
        raise _fail(
            f"States.Hash: unsupported algorithm '{algorithm}'; use one of {', '.join(_HASHES)}"
        )
    return hashlib.new(_HASHES[algorithm], data.encode("utf-8")).hexdigest()


def _json_merge(scope: Scope, values: list[Any]) -> Any:
    first = _want(values[0], dict, "an object", "States.JsonMerge")
    second = _want(values[1], dict, "an object", "States.JsonMerge")
    if values[2] is not False:
        raise _fail("States.JsonMerge: only shallow merging (false) is supported")
    return {**first, **second}


def _math_random(scope: Scope, values: list[Any]) -> Any:
    start = _java_round(values[0], "States.MathRandom")
    end = _java_round(values[1], "States.MathRandom")
    if start >= end:
        raise _fail("States.MathRandom: the start must be less than the end")
    rng = (
        scope.rng()
        if len(values) < 3
        else Entropy(f"seed:{_integer(values[2], 'States.MathRandom')}")
    )
    return rng.randint(start, end - 1)


def _string_split(scope: Scope, values: list[Any]) -> Any:
    text = _want(values[0], str, "a string", "States.StringSplit")
    delimiters = _want(values[1], str, "a string of delimiters", "States.StringSplit")
    pieces = [text]
    for delimiter in delimiters:
        pieces = [part for piece in pieces for part in piece.split(delimiter)]
    return [piece for piece in pieces if piece]


def _json_to_string(scope: Scope, values: list[Any]) -> Any:
    return compact_json(values[0])


def _array(scope: Scope, values: list[Any]) -> Any:
    return values


def _array_contains(scope: Scope, values: list[Any]) -> Any:
    array = _want(values[0], list, "an array", "States.ArrayContains")
    return any(json_equal(item, values[1]) for item in array)


def _array_length(scope: Scope, values: list[Any]) -> Any:
    return len(_want(values[0], list, "an array", "States.ArrayLength"))


def _base64_encode(scope: Scope, values: list[Any]) -> Any:
    text = _short_string(values[0], "States.Base64Encode")
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _math_add(scope: Scope, values: list[Any]) -> Any:
    return _java_round(values[0], "States.MathAdd") + _java_round(values[1], "States.MathAdd")


def _uuid(scope: Scope, values: list[Any]) -> Any:
    return scope.rng().uuid4()


#: Every intrinsic AWS offers, by name.  A ``States.Format`` call whose template is
#: a literal gets its own body, split once (:func:`compile_format`); this one splits
#: a computed template on every call.
FUNCTIONS: dict[str, Function] = {
    "States.Format": Function(1, None, compile_format(None)),
    "States.StringToJson": Function(1, 1, _string_to_json),
    "States.JsonToString": Function(1, 1, _json_to_string),
    "States.Array": Function(0, None, _array),
    "States.ArrayPartition": Function(2, 2, _array_partition),
    "States.ArrayContains": Function(2, 2, _array_contains),
    "States.ArrayRange": Function(3, 3, _array_range),
    "States.ArrayGetItem": Function(2, 2, _array_get_item),
    "States.ArrayLength": Function(1, 1, _array_length),
    "States.ArrayUnique": Function(1, 1, _array_unique),
    "States.Base64Encode": Function(1, 1, _base64_encode),
    "States.Base64Decode": Function(1, 1, _base64_decode),
    "States.Hash": Function(2, 2, _hash),
    "States.JsonMerge": Function(3, 3, _json_merge),
    "States.MathRandom": Function(2, 3, _math_random),
    "States.MathAdd": Function(2, 2, _math_add),
    "States.StringSplit": Function(2, 2, _string_split),
    "States.UUID": Function(0, 0, _uuid),
}
