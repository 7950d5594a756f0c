"""Intrinsic function calls (``States.Format(...)`` and friends) in JSONPath states.

:func:`parse_intrinsic` turns the text of a call into a tree of argument
evaluators once, checking the function name and the number of arguments against
:data:`~statemachine.language.intrinsic_functions.FUNCTIONS`, where what each
function does lives; :meth:`Intrinsic.evaluate` runs the tree against a
:class:`Scope`.  Errors are ``States.IntrinsicFailure``; a path argument that
matches nothing raises :class:`~statemachine.language.paths.PathNotFound`
(``States.Runtime``), which payload templates re-word for their field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from statemachine.language.intrinsic_functions import FUNCTIONS, compile_format
from statemachine.language.path_syntax import PathSyntaxError
from statemachine.language.paths import Path, compile_path
from statemachine.language.scope import Scope

__all__ = [
    "KNOWN_FUNCTIONS",
    "Intrinsic",
    "IntrinsicSyntaxError",
    "is_intrinsic",
    "parse_intrinsic",
]

#: Each intrinsic's (minimum, maximum) number of arguments; ``None``: unbounded.
KNOWN_FUNCTIONS: dict[str, tuple[int, int | None]] = {
    name: (function.min_args, function.max_args) for name, function in FUNCTIONS.items()
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
        self._run = FUNCTIONS[name].run
        template = args[0] if name == "States.Format" else None
        if isinstance(template, _Literal) and template.raw is not None:
            self._run = compile_format(template.raw)
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
