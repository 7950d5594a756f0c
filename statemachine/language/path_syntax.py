"""JSONPath syntax: path text to compiled steps, filter expressions included.

The grammar is Jayway JsonPath's as Step Functions accepts it (see
:mod:`statemachine.language.paths` for the whole list).  Paths and filter
expressions are parsed together because they nest: a filter ``[?(@.a > $.b)]``
holds paths, and a path holds filters.  Parsing happens once per path, when a
definition is compiled; the result is a tuple of steps
(:mod:`statemachine.language.path_steps`) and, for filters, ready-built predicates.
Every failure is a :class:`PathSyntaxError` naming the path and the position.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from statemachine.language.path_steps import (
    COMPARATORS,
    FILTER,
    INDEX,
    INDEXES,
    KEY,
    KEYS,
    ROOT_CONTEXT,
    ROOT_INPUT,
    ROOT_VARIABLE,
    SCAN,
    SLICE,
    WILDCARD,
    Operand,
    Predicate,
    Step,
    is_empty,
    matches,
    path_operand,
)
from statemachine.language.scope import MISSING

__all__ = ["ParsedPath", "PathSyntaxError", "parse_path"]

_NAME_STOP = frozenset(".[")
_FILTER_NAME_STOP = frozenset(".[ \t\n)=!<>&|,")
_BRACKET_ONLY = frozenset(" \t\n]()'\"")


class PathSyntaxError(ValueError):
    """A path that cannot be parsed; the message says what is wrong and where."""


class ParsedPath(NamedTuple):
    """A path's text (stripped), its root, the variable it reads, and its steps."""

    text: str
    root: str
    variable: str | None
    steps: tuple[Step, ...]


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_INT = re.compile(r"\s*(-?\d+)\s*")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Reader:
    """A cursor over path text with helpers that fail with a clear message."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.pos = pos

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def fail(self, message: str) -> PathSyntaxError:
        return PathSyntaxError(f"invalid JSONPath '{self.text}': {message} at position {self.pos}")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def expect(self, token: str) -> None:
        self.skip_space()
        if not self.text.startswith(token, self.pos):
            raise self.fail(f"expected '{token}'")
        self.pos += len(token)

    def quoted(self) -> str:
        """A '...' or "..." string; only the quote character itself is escaped."""
        quote = self.text[self.pos]
        out: list[str] = []
        i = self.pos + 1
        while i < len(self.text):
            ch = self.text[i]
            if ch == "\\" and i + 1 < len(self.text) and self.text[i + 1] in (quote, "\\"):
                out.append(self.text[i + 1])
                i += 2
                continue
            if ch == quote:
                self.pos = i + 1
                return "".join(out)
            out.append(ch)
            i += 1
        raise self.fail("unterminated string")

    def name(self, stop: frozenset[str]) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in stop:
            self.pos += 1
        if self.pos == start:
            raise self.fail("expected a field name")
        return self.text[start : self.pos]


def parse_path(text: str) -> ParsedPath:
    """Parse a JSONPath; raises :class:`PathSyntaxError` when it is malformed."""
    if not isinstance(text, str):
        raise PathSyntaxError(f"a JSONPath must be a string, not {type(text).__name__}")
    text = text.strip()
    if not text.startswith("$"):
        raise PathSyntaxError(f"invalid JSONPath '{text}': a path must start with '$'")
    reader = _Reader(text, 1)
    root, variable = ROOT_INPUT, None
    if reader.peek() == "$":
        root, reader.pos = ROOT_CONTEXT, 2
    elif (match := _IDENT.match(text, 1)) is not None:
        root, variable, reader.pos = ROOT_VARIABLE, match.group(), match.end()
    steps = _parse_steps(reader, _NAME_STOP, in_filter=False)
    if not reader.at_end():
        raise reader.fail(f"unexpected '{reader.peek()}'")
    return ParsedPath(text, root, variable, steps)


_LENGTH_SCRIPT = re.compile(r"\(\s*@\.length\s*-\s*(\d+)\s*\)\s*\]")
_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


def _parse_steps(reader: _Reader, stop: frozenset[str], *, in_filter: bool) -> tuple[Step, ...]:
    """Selectors up to the end of the text (or, in a filter, up to an operator)."""
    steps: list[Step] = []
    while not reader.at_end():
        ch = reader.peek()
        if reader.peek(2) == "..":
            reader.pos += 2
            steps.append((SCAN, _parse_scanned(reader, stop)))
        elif ch == ".":
            reader.pos += 1
            if reader.peek() == "[":  # Jayway accepts "$.[0]" and "$.a.['b']" as "$[0]", "$.a['b']"
                steps.append(_parse_bracket(reader))
            else:
                steps.append(_parse_dotted(reader, stop))
        elif ch == "[":
            steps.append(_parse_bracket(reader))
        elif in_filter:
            break
        else:
            raise reader.fail(f"unexpected '{ch}'")
    return tuple(steps)


def _parse_dotted(reader: _Reader, stop: frozenset[str]) -> Step:
    if reader.at_end():
        raise reader.fail("a path must not end with '.'")
    if reader.peek() == "*":
        reader.pos += 1
        return (WILDCARD, None)
    name = reader.name(stop)
    if name.endswith("()"):
        raise reader.fail(f"path functions such as {name} are not supported")
    if any(ch in _BRACKET_ONLY for ch in name):
        raise reader.fail(f"use bracket notation ['...'] for the field name '{name}'")
    return (KEY, name)


def _parse_scanned(reader: _Reader, stop: frozenset[str]) -> Step:
    if reader.at_end():
        raise reader.fail("a path must not end with '..'")
    if reader.peek() == "[":
        return _parse_bracket(reader)
    return _parse_dotted(reader, stop)


def _parse_bracket(reader: _Reader) -> Step:
    reader.pos += 1
    reader.skip_space()
    ch = reader.peek()
    if ch in ("'", '"'):
        names = [reader.quoted()]
        while True:
            reader.skip_space()
            if reader.peek() != ",":
                break
            reader.pos += 1
            reader.skip_space()
            if reader.peek() not in ("'", '"'):
                raise reader.fail("expected a quoted name")
            names.append(reader.quoted())
        reader.expect("]")
        return (KEY, names[0]) if len(names) == 1 else (KEYS, tuple(names))
    if ch == "*":
        reader.pos += 1
        reader.expect("]")
        return (WILDCARD, None)
    if ch == "(":  # Jayway's one script index that AWS samples use: [(@.length-N)]
        match = _LENGTH_SCRIPT.match(reader.text, reader.pos)
        if match is None:
            raise reader.fail("only the script index (@.length-N) is supported")
        reader.pos = match.end()
        return (INDEX, -int(match.group(1)))
    if ch == "?":
        reader.pos += 1
        reader.expect("(")
        predicate = _FilterParser(reader).parse()
        reader.expect(")")
        reader.expect("]")
        return (FILTER, predicate)
    return _parse_index(reader)


def _parse_index(reader: _Reader) -> Step:
    end = reader.text.find("]", reader.pos)
    if end < 0:
        raise reader.fail("missing ']'")
    body = reader.text[reader.pos : end]
    reader.pos = end + 1
    if ":" in body:
        parts = body.split(":")
        if len(parts) > 3:
            raise reader.fail(f"bad slice [{body}]")
        bounds = [_int_or_none(reader, part) for part in parts] + [None] * (3 - len(parts))
        if bounds[2] == 0:
            raise reader.fail("slice step must not be 0")
        return (SLICE, tuple(bounds))
    indexes = tuple(_int_or_none(reader, part) for part in body.split(","))
    if any(index is None for index in indexes):
        raise reader.fail(f"bad array index [{body}]")
    return (INDEX, indexes[0]) if len(indexes) == 1 else (INDEXES, indexes)


def _int_or_none(reader: _Reader, part: str) -> int | None:
    if not part.strip():
        return None
    match = _INT.fullmatch(part)
    if match is None:
        raise reader.fail(f"'{part}' is not an integer")
    return int(match.group(1))


# --------------------------------------------------------------------------- filters

_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


class _FilterParser:
    """``[?( ... )]`` expressions: ``||``, ``&&``, ``!``, parentheses, comparisons
    (``== != < <= > >= =~ in nin size empty``) and bare ``@.x`` existence tests."""

    _OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "=~", " in ", " nin ", " size ", " empty ")

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader

    def parse(self) -> Predicate:
        return self._or()

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._take("||"):
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        return lambda node, root: any(p(node, root) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while self._take("&&"):
            parts.append(self._unary())
        if len(parts) == 1:
            return parts[0]
        return lambda node, root: all(p(node, root) for p in parts)

    def _unary(self) -> Predicate:
        if self._take("!"):
            inner = self._unary()
            return lambda node, root: not inner(node, root)
        if self._take("("):
            inner = self._or()
            self.reader.expect(")")
            return inner
        return self._comparison()

    def _take(self, token: str) -> bool:
        self.reader.skip_space()
        if self.reader.text.startswith(token, self.reader.pos):
            self.reader.pos += len(token)
            return True
        return False

    def _operator(self) -> str | None:
        reader = self.reader
        start = reader.pos
        reader.skip_space()
        for op in self._OPERATORS:
            word = op.strip()
            if reader.text.startswith(word, reader.pos):
                after = reader.pos + len(word)
                if op != word and (reader.pos == start or reader.text[after : after + 1].isalnum()):
                    continue
                reader.pos = after
                return word
        reader.pos = start
        return None

    def _comparison(self) -> Predicate:
        left, left_is_path = self._operand()
        op = self._operator()
        if op is None:
            if not left_is_path:
                raise self.reader.fail("a filter needs a comparison or an @ path")
            return lambda node, root: left(node, root) is not MISSING
        if op == "empty":
            want = self._literal_value()
            return lambda node, root: is_empty(left(node, root)) == want
        if op == "=~":
            regex = self._regex()
            return lambda node, root: matches(left(node, root), regex)
        right, _ = self._operand()
        compare = COMPARATORS[op]
        return lambda node, root: compare(left(node, root), right(node, root))

    def _operand(self) -> tuple[Operand, bool]:
        reader = self.reader
        reader.skip_space()
        ch = reader.peek()
        if ch in ("@", "$"):
            reader.pos += 1
            steps = _parse_steps(reader, _FILTER_NAME_STOP, in_filter=True)
            relative = ch == "@"
            definite = all(kind in (KEY, INDEX) for kind, _ in steps)
            return path_operand(steps, relative, definite), True
        value = self._literal_value()
        return (lambda node, root: value), False

    def _literal_value(self) -> Any:
        reader = self.reader
        reader.skip_space()
        ch = reader.peek()
        if ch in ("'", '"'):
            return reader.quoted()
        if ch == "[":
            reader.pos += 1
            items: list[Any] = []
            while not self._take("]"):
                if items:
                    reader.expect(",")
                items.append(self._literal_value())
            return items
        for keyword, value in (("true", True), ("false", False), ("null", None)):
            if reader.text.startswith(keyword, reader.pos):
                reader.pos += len(keyword)
                return value
        match = _NUMBER.match(reader.text, reader.pos)
        if match is None:
            word = _BARE_WORD.match(reader.text, reader.pos)
            if word is None:
                raise reader.fail("expected a value")
            reader.pos = word.end()  # Jayway reads an unquoted word as a string
            return word.group()
        reader.pos = match.end()
        number = match.group()
        return float(number) if any(c in number for c in ".eE") else int(number)

    def _regex(self) -> re.Pattern[str]:
        reader = self.reader
        reader.skip_space()
        if reader.peek() != "/":
            raise reader.fail("expected a /regex/ after =~")
        end = reader.pos + 1
        while end < len(reader.text) and reader.text[end] != "/":
            end += 2 if reader.text[end] == "\\" else 1
        if end >= len(reader.text):
            raise reader.fail("unterminated regex")
        source = reader.text[reader.pos + 1 : end]
        reader.pos = end + 1
        flags = 0
        while reader.peek() in _REGEX_FLAGS:
            flags |= _REGEX_FLAGS[reader.peek()]
            reader.pos += 1
        try:
            return re.compile(source, flags)
        except re.error as exc:
            raise reader.fail(f"bad regex: {exc}") from None
