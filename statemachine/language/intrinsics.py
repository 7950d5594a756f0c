"""Intrinsic functions (``States.Format(...)`` and friends) for JSONPath states.

:func:`parse_intrinsic` turns the text of a call into a tree of argument
evaluators once, checking the function name and the number of arguments;
:meth:`Intrinsic.evaluate` runs it against a :class:`Scope`.  Behaviour follows
what AWS Step Functions was recorded doing (tests/conformance/cases/
intrinsic_functions), including its quirks:

- ``States.MathAdd`` rounds each argument like Java's ``Math.round``
  (half up: ``1.5 -> 2``, ``-1.5 -> -1``) before adding;
- ``States.StringToJson('')`` and ``('  ')`` give ``null``;
- ``States.Format`` prints objects and arrays the Java way (``{a=1, b=[]}``);
- ``States.StringSplit`` splits on every character of the delimiter and drops
  empty pieces.

``States.UUID`` and ``States.MathRandom`` draw from ``scope.rng()`` so replays
give the same values.  Errors are ``States.IntrinsicFailure``; a path argument
that matches nothing raises :class:`~statemachine.language.paths.PathNotFound`
(``States.Runtime``), which payload templates re-word for their field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Callable
from typing import Any

from statemachine.language.paths import (
    Path,
    PathSyntaxError,
    compact_json,
    compile_path,
    java_string,
    json_equal,
)
from statemachine.language.scope import Entropy, Scope, StatesError

__all__ = [
    "KNOWN_FUNCTIONS",
    "Intrinsic",
    "IntrinsicSyntaxError",
    "is_intrinsic",
    "parse_intrinsic",
]

FAILURE = "States.IntrinsicFailure"
_MAX_STRING = 10_000  # AWS's limit for Base64Encode/Decode and Hash input
_MAX_RANGE = 1000  # AWS's limit for ArrayRange results

#: Each intrinsic's (minimum, maximum) number of arguments; ``None``: unbounded.
KNOWN_FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "States.Format": (1, None),
    "States.StringToJson": (1, 1),
    "States.JsonToString": (1, 1),
    "States.Array": (0, None),
    "States.ArrayPartition": (2, 2),
    "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.MathRandom": (2, 3),
    "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2),
    "States.UUID": (0, 0),
}


class IntrinsicSyntaxError(ValueError):
    """An intrinsic call that cannot be parsed, names an unknown function or has
    the wrong number of arguments."""


Argument = Callable[[Scope], Any]


class _Literal:
    """A constant argument.  ``raw`` keeps a string's text as written, with its
    ``\\{``/``\\}`` escapes, for ``States.Format``."""

    __slots__ = ("raw", "value")

    def __init__(self, value: Any, raw: str | None = None) -> None:
        self.value = value
        self.raw = raw

    def __call__(self, scope: Scope) -> Any:
        return self.value


class _PathArgument:
    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, scope: Scope) -> Any:
        return self.path.get(scope)


class Intrinsic:
    """A parsed call: ``name``, ``args`` (evaluators) and the source ``text``."""

    __slots__ = ("_run", "args", "name", "text")

    def __init__(self, name: str, args: list[Argument], text: str) -> None:
        self.name = name
        self.args = args
        self.text = text
        self._run = _FUNCTIONS[name]
        if name == "States.Format":
            self._run = _compile_format(args)
        elif name == "States.JsonMerge":
            deep = args[2]
            if isinstance(deep, _Literal) and deep.value is not False:
                raise IntrinsicSyntaxError(
                    f"{text}: States.JsonMerge supports only shallow merging (false)"
                )

    def __repr__(self) -> str:
        return f"Intrinsic({self.text!r})"

    def __call__(self, scope: Scope) -> Any:
        return self.evaluate(scope)

    def evaluate(self, scope: Scope) -> Any:
        """Evaluate the arguments left to right, then the function."""
        return self._run(scope, [arg(scope) for arg in self.args])


# --------------------------------------------------------------------------- parsing


def is_intrinsic(text: Any) -> bool:
    """Whether a ``.$`` value is an intrinsic call rather than a path."""
    return isinstance(text, str) and text.lstrip().startswith("States.")


def parse_intrinsic(text: str) -> Intrinsic:
    """Parse ``States.Name(arg, ...)``; raises :class:`IntrinsicSyntaxError`."""
    parser = _Parser(text)
    call = parser.call()
    parser.skip_space()
    if parser.pos != len(text):
        raise parser.fail("unexpected text after the call")
    return call


class _Parser:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(
            f"invalid intrinsic function '{self.text}': {message} at position {self.pos}"
        )

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self) -> Intrinsic:
        self.skip_space()
        start = self.pos
        open_at = self.text.find("(", self.pos)
        if open_at < 0:
            raise self.fail("expected '('")
        name = self.text[self.pos : open_at].strip()
        if name not in KNOWN_FUNCTIONS:
            raise self.fail(f"unknown function '{name}'")
        self.pos = open_at + 1
        args: list[Argument] = []
        self.skip_space()
        if self.text.startswith(")", self.pos):
            self.pos += 1
        else:
            while True:
                args.append(self.argument())
                self.skip_space()
                ch = self.text[self.pos : self.pos + 1]
                self.pos += 1
                if ch == ")":
                    break
                if ch != ",":
                    self.pos -= 1
                    raise self.fail("expected ',' or ')'")
        low, high = KNOWN_FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            wanted = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
            raise self.fail(f"{name} takes {wanted} argument(s), got {len(args)}")
        return Intrinsic(name, args, self.text[start : self.pos])

    def argument(self) -> Argument:
        self.skip_space()
        rest = self.text[self.pos :]
        if rest.startswith("'"):
            return self.string()
        if rest.startswith("$"):
            return self.path()
        if rest.startswith("States."):
            return self.call()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if rest.startswith(word):
                self.pos += len(word)
                return _Literal(value)
        return self.number()

    def string(self) -> _Literal:
        """A '...' literal: ``\\'``, ``\\\\``, ``\\{`` and ``\\}`` are escapes."""
        i = self.pos + 1
        out: list[str] = []
        while i < len(self.text):
            ch = self.text[i]
            if ch == "\\" and i + 1 < len(self.text):
                out.append(self.text[i + 1])
                i += 2
                continue
            if ch == "'":
                raw = self.text[self.pos + 1 : i]
                self.pos = i + 1
                return _Literal("".join(out), raw)
            out.append(ch)
            i += 1
        raise self.fail("unterminated string")

    def path(self) -> _PathArgument:
        """A path runs to the next ',' or ')' outside brackets and quotes."""
        start = self.pos
        depth, quote, i = 0, "", self.pos
        while i < len(self.text):
            ch = self.text[i]
            if quote:
                if ch == "\\":
                    i += 1
                elif ch == quote:
                    quote = ""
            elif ch in ("'", '"'):
                quote = ch
            elif ch in "[(":
                depth += 1
            elif ch in "])":
                if depth == 0:
                    break
                depth -= 1
            elif ch == "," and depth == 0:
                break
            i += 1
        self.pos = i
        try:
            return _PathArgument(compile_path(self.text[start:i].strip()))
        except PathSyntaxError as exc:
            raise IntrinsicSyntaxError(f"invalid intrinsic function '{self.text}': {exc}") from None

    def number(self) -> _Literal:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",) \t\n":
            self.pos += 1
        token = self.text[start : self.pos]
        try:
            value = json.loads(token)
        except ValueError:
            value = None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.pos = start
            raise self.fail(f"unexpected argument '{token}'")
        return _Literal(value)


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


def _compile_format(args: list[Argument]) -> Callable[[Scope, list[Any]], Any]:
    """``States.Format``: ``{}`` placeholders, ``\\{``/``\\}`` literal braces."""
    template = args[0]
    pieces = (
        _format_pieces(template.raw)
        if isinstance(template, _Literal) and template.raw is not None
        else None
    )

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


_FUNCTIONS: dict[str, Callable[[Scope, list[Any]], Any]] = {
    "States.Format": lambda scope, values: None,  # replaced per call by _compile_format
    "States.StringToJson": _string_to_json,
    "States.JsonToString": lambda scope, values: compact_json(values[0]),
    "States.Array": lambda scope, values: values,
    "States.ArrayPartition": _array_partition,
    "States.ArrayContains": lambda scope, values: any(
        json_equal(item, values[1])
        for item in _want(values[0], list, "an array", "States.ArrayContains")
    ),
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": lambda scope, values: len(
        _want(values[0], list, "an array", "States.ArrayLength")
    ),
    "States.ArrayUnique": _array_unique,
    "States.Base64Encode": lambda scope, values: base64.b64encode(
        _short_string(values[0], "States.Base64Encode").encode("utf-8")
    ).decode("ascii"),
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": lambda scope, values: (
        _java_round(values[0], "States.MathAdd") + _java_round(values[1], "States.MathAdd")
    ),
    "States.StringSplit": _string_split,
    "States.UUID": lambda scope, values: scope.rng().uuid4(),
}
