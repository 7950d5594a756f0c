"""AWS's own JSONata functions, and the deterministic versions of the clock and dice.

Step Functions binds ``$partition``, ``$range``, ``$hash``, ``$parse`` (and unbinds
``$eval``) in every JSONata evaluation; ``$number`` is replaced to follow jsonata-js.
``$now()``, ``$millis()``, ``$random()``, ``$uuid()`` and ``$shuffle()`` read no clock
and no global randomness: the time is the state's entered time from the context object
and randomness comes from ``Scope.rng()``, so a replayed execution gets the same values.
Each function takes the evaluated argument list and fails with jsonata-js's signature
error (T0410) or a :class:`FunctionError` whose message becomes part of AWS's cause.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, Final

# jsonata-python ships no type information ("unused-ignore": under
# --ignore-missing-imports mypy needs none of these ignores).
from jsonata import jexception as _jexception  # type: ignore[import-untyped, unused-ignore]
from jsonata import jsonata as _jsonata  # type: ignore[import-untyped, unused-ignore]
from jsonata.functions import (  # type: ignore[import-untyped, unused-ignore]
    Functions as _Functions,
)
from jsonata.utils import Utils as _Utils  # type: ignore[import-untyped, unused-ignore]

from statemachine.language.scope import Scope

__all__ = ["SCOPED_FUNCTIONS", "STATIC_FUNCTIONS", "FunctionError", "scoped_functions"]

_NULL: Final = _Utils.NULL_VALUE


class FunctionError(Exception):
    """Raised by the AWS-specific functions; the message becomes part of the cause."""


class _Native(_jsonata.Jsonata.JFunctionCallable):  # type: ignore[misc]  # an untyped base
    """Adapts a Python callable taking the evaluated argument list to a JSONata function."""

    __slots__ = ("_impl",)

    def __init__(self, impl: Callable[[list[Any]], Any]) -> None:
        self._impl = impl

    def call(self, input: Any, args: Sequence[Any] | None) -> Any:
        return self._impl(list(args) if args is not None else [])


def _function(impl: Callable[[list[Any]], Any], signature: str | None = None) -> Any:
    """A JSONata function value; without a signature ``impl`` checks its arguments."""
    return _jsonata.Jsonata.JFunction(_Native(impl), signature)


def _signature_error(name: str, index: int) -> _jexception.JException:
    """jsonata-js's error for an argument that does not fit the function's signature."""
    return _jexception.JException("T0410", -1, index, name)


def _arity(name: str, args: list[Any], low: int, high: int) -> None:
    if len(args) > high:
        raise _signature_error(name, high + 1)
    if len(args) < low:
        raise _signature_error(name, len(args) + 1)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer_argument(name: str, args: list[Any], index: int) -> int:
    """Argument ``index`` (0-based) as an int; AWS truncates fractional numbers."""
    value = args[index]
    if not _is_number(value) or not math.isfinite(value):
        raise _signature_error(name, index + 1)
    return int(value)


def _partition(args: list[Any]) -> Any:
    """``$partition(array, size)``: chunks of ``size``; without a size, one chunk.

    Like JSONata's own functions, an undefined first argument gives undefined.
    """
    _arity("partition", args, 1, 2)
    items = args[0]
    if items is None:
        return None
    if not isinstance(items, list):
        raise _signature_error("partition", 1)
    if len(args) < 2 or args[1] is None:
        return [list(items)] if items else []
    size = _integer_argument("partition", args, 1)
    if size <= 0:
        raise FunctionError("The chunk size argument of $partition must be a positive integer")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _range(args: list[Any]) -> Any:
    """``$range(start, end, step)``: inclusive of ``end`` when a step lands on it.

    Returned as a JSONata sequence, so a single value collapses to that value as AWS
    shows (``$range(1, 9, 9)`` is ``1``).
    """
    _arity("range", args, 3, 3)
    start, end, step = (_integer_argument("range", args, i) for i in range(3))
    if step == 0:
        raise FunctionError("The step argument of $range must not be zero")
    stop = end + (1 if step > 0 else -1)
    values = list(range(start, stop, step))
    if not values:
        return []
    return _Utils.create_sequence_from_iter(values)


_HASHES: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(args: list[Any]) -> Any:
    """``$hash(string, algorithm)``: hex digest of the UTF-8 bytes."""
    _arity("hash", args, 2, 2)
    data, algorithm = args
    if data is None:
        return None
    if not isinstance(data, str):
        raise _signature_error("hash", 1)
    if not isinstance(algorithm, str):
        raise _signature_error("hash", 2)
    name = _HASHES.get(algorithm)
    if name is None:
        raise FunctionError(
            f"The hashing algorithm '{algorithm}' is not supported; use one of "
            + ", ".join(_HASHES)
        )
    return hashlib.new(name, data.encode()).hexdigest()


def _reject_constant(token: str) -> Any:
    raise ValueError(f"invalid JSON value {token}")


def _parse(args: list[Any]) -> Any:
    """``$parse(jsonString)``: the JSON value the string holds (``$eval`` is not on AWS)."""
    _arity("parse", args, 1, 1)
    text = args[0]
    if text is None:
        return None
    if not isinstance(text, str):
        raise _signature_error("parse", 1)
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:
        raise FunctionError(f"Unable to parse the argument of $parse as JSON: {err}") from None
    except RecursionError:
        raise FunctionError("Unable to parse the argument of $parse as JSON: nested too "
                            "deeply") from None
    return _NULL if value is None else value


_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?")
_RADIX = re.compile(r"0([xX][0-9A-Fa-f]+|[oO][0-7]+|[bB][01]+)")
_RADIX_BASES: Final = {"x": 16, "o": 8, "b": 2}


def _number(args: list[Any]) -> Any:
    """``$number(arg)`` with jsonata-js rules (jsonata-python lets ``float()`` decide).

    Decimal strings in JSON number syntax and ``0x``/``0o``/``0b`` literals convert; any
    other string fails with D3030 instead of a Python ``ValueError``.
    """
    value = args[0] if args else None
    if value is _NULL:
        raise _signature_error("number", 1)
    if value is None or isinstance(value, bool) or _is_number(value):
        return None if value is None else (int(value) if isinstance(value, bool) else value)
    if isinstance(value, str):
        if _DECIMAL.fullmatch(value):
            number = float(value)
            if math.isfinite(number):
                return number
        elif _RADIX.fullmatch(value):
            return int(value[2:], _RADIX_BASES[value[1].lower()])
    raise _jexception.JException("D3030", -1, value)


def _seeded_random(seed: int) -> float:
    """A float in [0, 1) that depends only on ``seed``."""
    digest = hashlib.sha256(f"jsonata-random:{seed}".encode()).digest()
    return int.from_bytes(digest[:7], "big") / float(1 << 56)


def _entered_millis(scope: Scope) -> int:
    """The state's entered time (else the execution's start time) in epoch milliseconds."""
    context = scope.context or {}
    for section, key in (("State", "EnteredTime"), ("Execution", "StartTime")):
        stamp = (context.get(section) or {}).get(key)
        if isinstance(stamp, str):
            try:
                return round(datetime.fromisoformat(stamp).timestamp() * 1000)
            except ValueError:
                continue
    return 0


def _random(scope: Scope, args: list[Any]) -> Any:
    """``$random()`` from the scope's entropy; ``$random(seed)`` from the seed alone."""
    _arity("random", args, 0, 1)
    if not args or args[0] is None:
        return scope.rng().random()
    return _seeded_random(_integer_argument("random", args, 0))


def _uuid(scope: Scope, args: list[Any]) -> Any:
    """``$uuid()``: a v4 UUID from the scope's entropy."""
    _arity("uuid", args, 0, 0)
    return scope.rng().uuid4()


def _now(scope: Scope, args: list[Any]) -> Any:
    """``$now(picture?, timezone?)``: the state's entered time, formatted like JSONata."""
    _arity("now", args, 0, 2)
    picture, zone = (list(args) + [None, None])[:2]
    return _Functions.datetime_from_millis(_entered_millis(scope), picture, zone)


def _millis(scope: Scope, args: list[Any]) -> Any:
    """``$millis()``: the state's entered time in epoch milliseconds."""
    _arity("millis", args, 0, 0)
    return _entered_millis(scope)


def _shuffle(scope: Scope, args: list[Any]) -> Any:
    """``$shuffle(array)``: a Fisher-Yates permutation drawn from the scope's entropy."""
    _arity("shuffle", args, 1, 1)
    items = args[0]
    if items is None:
        return None
    shuffled = list(items) if isinstance(items, list) else [items]
    rng = scope.rng()
    for i in range(len(shuffled) - 1, 0, -1):
        j = rng.randint(0, i)
        shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
    return shuffled


#: The functions that read the scope's clock or entropy, bound per evaluation.
SCOPED_FUNCTIONS: Final[dict[str, Callable[[Scope, list[Any]], Any]]] = {
    "random": _random,
    "uuid": _uuid,
    "now": _now,
    "millis": _millis,
    "shuffle": _shuffle,
}


def scoped_functions(scope: Scope, names: frozenset[str]) -> dict[str, Any]:
    """Function values bound to ``scope`` for the clock/entropy functions an expression uses."""
    return {name: _function(partial(SCOPED_FUNCTIONS[name], scope)) for name in names}


#: The function values bound in every evaluation (``None`` unbinds ``$eval``).
STATIC_FUNCTIONS: Final[dict[str, Any]] = {
    "partition": _function(_partition),
    "range": _function(_range),
    "hash": _function(_hash),
    "parse": _function(_parse),
    "number": _function(_number, "<(nsb)-:n>"),
    "eval": None,
}
