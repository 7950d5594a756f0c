"""JSONPath as Step Functions reads it: compiled once, evaluated cheaply.

AWS evaluates JSONPath with Jayway JsonPath (Java).  This module reproduces the
parts a state machine can observe:

- roots: ``$`` (the state input), ``$$`` (the context object) and ``$name``
  (a workflow variable, ASL 2024);
- selectors: ``.name``, ``['name']`` (also ``["name"]`` and unions
  ``['a','b']``), ``[0]``, ``[-1]``, unions ``[0,2]``, ``*``/``[*]``, slices
  ``[1:3]``/``[::2]``, deep scan ``..name`` and filters ``[?(@.x > 1)]``;
- results: a path made only of names and indexes (a *definite* path) gives one
  value or fails; any other path gives a list of everything it matched, possibly
  empty, and never fails (AWS: ``$.items[*]`` over ``{}`` is ``[]``);
- failure text: Jayway's, e.g. ``No results for path: $['a']`` when the last
  step is missing and ``Missing property in path $['a']`` when an earlier one is.

Every path is parsed by :func:`compile_path` into a tuple of steps; evaluation
walks the steps without re-parsing.  JSON values are treated as immutable:
:func:`apply_result_path` copies the spine it writes to and never the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from statemachine.language.scope import MISSING, Scope, StatesError

__all__ = [
    "Path",
    "PathNotFound",
    "PathSyntaxError",
    "apply_result_path",
    "compact_json",
    "compile_path",
    "java_string",
    "json_equal",
    "select",
]

# Step kinds.  A step is ``(kind, argument)``.
KEY = 0  # argument: the property name
INDEX = 1  # argument: an int (negative counts from the end)
WILDCARD = 2  # argument: None
SLICE = 3  # argument: (start, stop, step), each int or None
KEYS = 4  # argument: tuple of names (a union)
INDEXES = 5  # argument: tuple of ints (a union)
SCAN = 6  # argument: the step applied at every depth (deep scan ``..``)
FILTER = 7  # argument: a predicate ``(node, root) -> bool``

Step = tuple[int, Any]

ROOT_INPUT = "input"
ROOT_CONTEXT = "context"
ROOT_VARIABLE = "variable"

_JAVA_PROVIDER = "com.jayway.jsonpath.spi.json.JsonSmartJsonProvider"
_NAME_STOP = frozenset(".[")
_FILTER_NAME_STOP = frozenset(".[ \t\n)=!<>&|,")
_BRACKET_ONLY = frozenset(" \t\n]()'\"")


class PathSyntaxError(ValueError):
    """A path that cannot be parsed; the message says what is wrong and where."""


class PathNotFound(StatesError):
    """A definite path matched nothing.

    It is a ``States.Runtime`` error with AWS's ``Invalid path`` cause, so an
    uncaught one already fails the state the way AWS does; callers that report
    the failure in other words (payload templates, Fail's ``ErrorPath``) catch
    it and use ``path`` (the path as written) and ``detail`` (Jayway's text).
    ``normalised`` is the bracket form of the whole path, e.g. ``$['a'][0]``.
    """

    def __init__(self, path: str, detail: str, normalised: str) -> None:
        super().__init__("States.Runtime", f"Invalid path '{path}' : {detail}")
        self.path = path
        self.detail = detail
        self.normalised = normalised


# --------------------------------------------------------------------------- values


def compact_json(value: Any) -> str:
    """JSON text without spaces, keys in their stored order (what AWS prints)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: ``1 == 1.0`` but ``true != 1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def java_string(value: Any) -> str:
    """A value the way Java's ``toString`` prints it (``{a=1, b=[x, y]}``).

    AWS builds ``States.Format`` results and some error texts this way.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_string(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(java_string(v) for v in value) + "]"
    return compact_json(value)


def _java_class(value: Any) -> str:
    """The Java class name Jayway's messages show for a value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list):
        return "net.minidev.json.JSONArray"
    return "net.minidev.json.JSONObject"


# --------------------------------------------------------------------------- Path


class Path:
    """A compiled JSONPath.

    ``text`` is the path as written; ``root`` is ``"input"``, ``"context"`` or
    ``"variable"`` (then ``variable`` names it); ``steps`` the compiled selectors.
    ``is_reference`` is true when the path names one value (names and indexes
    only), which is what ``ResultPath``, ``ItemsPath`` and Choice ``Variable``
    need.
    """

    __slots__ = ("_normal", "is_reference", "root", "steps", "text", "variable")

    def __init__(self, text: str, root: str, variable: str | None, steps: tuple[Step, ...]) -> None:
        self.text = text
        self.root = root
        self.variable = variable
        self.steps = steps
        self.is_reference = all(kind in (KEY, INDEX) for kind, _ in steps)
        self._normal = tuple(_normal_step(step) for step in steps)

    def __repr__(self) -> str:
        return f"Path({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Path) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    @property
    def normalised(self) -> str:
        """The bracket form Jayway prints, e.g. ``$['a'][0]``."""
        return "$" + "".join(self._normal)

    def _root_value(self, scope: Scope) -> Any:
        if self.root == ROOT_INPUT:
            return scope.input
        if self.root == ROOT_CONTEXT:
            return scope.context
        return scope.variables.get(self.variable or "", MISSING)

    def get(self, scope: Scope) -> Any:
        """The value the path selects in ``scope``; raises :class:`PathNotFound`.

        A definite path returns the value itself; any other path a new list of
        the matches.
        """
        root = self._root_value(scope)
        if root is MISSING:
            raise PathNotFound(
                self.text, f"No results for path: {self.normalised}", self.normalised
            )
        if self.is_reference:
            return self._walk(root)
        return list(_evaluate(self.steps, 0, root, root))

    def find(self, scope: Scope) -> Any:
        """Like :meth:`get` but returns ``MISSING`` instead of raising."""
        try:
            return self.get(scope)
        except PathNotFound:
            return MISSING

    def _walk(self, node: Any) -> Any:
        """Follow a definite path, failing with Jayway's words."""
        steps = self.steps
        last = len(steps) - 1
        for i, (kind, arg) in enumerate(steps):
            if kind == KEY:
                if isinstance(node, dict):
                    node = node.get(arg, MISSING)
                    if node is MISSING:
                        self._missing_key(i, last)
                    continue
                self._not_object(i, node)
            if isinstance(node, list):
                index = arg + len(node) if arg < 0 else arg
                if 0 <= index < len(node):
                    node = node[index]
                    continue
                raise PathNotFound(
                    self.text, f"No results for path: {self.normalised}", self.normalised
                )
            self._not_array(i, node)
        return node

    def _prefix(self, end: int) -> str:
        return "$" + "".join(self._normal[:end])

    def _missing_key(self, i: int, last: int) -> None:
        if i == last:
            detail = f"No results for path: {self.normalised}"
        else:
            detail = f"Missing property in path {self._prefix(i + 1)}"
        raise PathNotFound(self.text, detail, self.normalised)

    def _not_object(self, i: int, node: Any) -> None:
        detail = (
            f"Expected to find an object with property {self._normal[i]} in path "
            f"{self._prefix(i)} but found '{_java_class(node)}'. This is not a json object "
            f"according to the JsonProvider: '{_JAVA_PROVIDER}'."
        )
        raise PathNotFound(self.text, detail, self.normalised)

    def _not_array(self, i: int, node: Any) -> None:
        if node is None:
            detail = f"The path {self._prefix(i)} is null"
        else:
            detail = (
                f"Filter: {self._normal[i]} can only be applied to arrays. "
                f"Current context is: {java_string(node)}"
            )
        raise PathNotFound(self.text, detail, self.normalised)


def _normal_step(step: Step) -> str:
    kind, arg = step
    if kind == KEY:
        return f"['{arg}']"
    if kind == INDEX:
        return f"[{arg}]"
    if kind == KEYS:
        return "[" + ",".join("'" + k + "'" for k in arg) + "]"
    if kind == INDEXES:
        return "[" + ",".join(str(i) for i in arg) + "]"
    if kind == SLICE:
        start, stop, stride = arg
        text = f"{'' if start is None else start}:{'' if stop is None else stop}"
        return f"[{text}{'' if stride is None else ':' + str(stride)}]"
    if kind == SCAN:
        return ".." + _normal_step(arg)
    if kind == FILTER:
        return "[?]"
    return "[*]"


# --------------------------------------------------------------------------- evaluation


def _evaluate(steps: tuple[Step, ...], i: int, node: Any, root: Any) -> Iterator[Any]:
    """Every value the steps from ``i`` on select under ``node`` (never raises)."""
    if i == len(steps):
        yield node
        return
    for child in _apply(steps[i], node, root):
        yield from _evaluate(steps, i + 1, child, root)


def _apply(step: Step, node: Any, root: Any) -> Iterator[Any]:
    """The children one step selects; nothing when it does not fit the node."""
    kind, arg = step
    if kind == KEY:
        if isinstance(node, dict) and arg in node:
            yield node[arg]
    elif kind in (INDEX, INDEXES):
        if isinstance(node, list):
            for index in (arg,) if kind == INDEX else arg:
                if -len(node) <= index < len(node):
                    yield node[index]
    elif kind == WILDCARD:
        if isinstance(node, dict):
            yield from node.values()
        elif isinstance(node, list):
            yield from node
    elif kind == KEYS:
        if isinstance(node, dict):
            yield from (node[k] for k in arg if k in node)
    elif kind == SLICE:
        if isinstance(node, list):
            yield from node[slice(*arg)]
    elif kind == FILTER:
        if isinstance(node, list):
            yield from (item for item in node if arg(item, root))
        elif isinstance(node, dict) and arg(node, root):
            yield node
    else:
        for descendant in _descendants(node):
            yield from _apply(arg, descendant, root)


def _descendants(node: Any) -> Iterator[Any]:
    """``node`` and everything below it, depth first (the deep-scan order)."""
    yield node
    if isinstance(node, dict):
        for child in node.values():
            yield from _descendants(child)
    elif isinstance(node, list):
        for child in node:
            yield from _descendants(child)


# --------------------------------------------------------------------------- parsing


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


def compile_path(text: str) -> Path:
    """Parse a JSONPath once; raises :class:`PathSyntaxError` when it is malformed."""
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
    return Path(text, root, variable, steps)


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

Predicate = Callable[[Any, Any], bool]
Operand = Callable[[Any, Any], Any]


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
            return lambda node, root: _is_empty(left(node, root)) == want
        if op == "=~":
            regex = self._regex()
            return lambda node, root: _matches(left(node, root), regex)
        right, _ = self._operand()
        compare = _COMPARATORS[op]
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
            return _path_operand(steps, relative, definite), True
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
        for word, value in (("true", True), ("false", False), ("null", None)):
            if reader.text.startswith(word, reader.pos):
                reader.pos += len(word)
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
        while reader.peek() in ("i", "m", "s", "x") and reader.peek():
            flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}[reader.peek()]
            reader.pos += 1
        try:
            return re.compile(source, flags)
        except re.error as exc:
            raise reader.fail(f"bad regex: {exc}") from None


def _path_operand(steps: tuple[Step, ...], relative: bool, definite: bool) -> Operand:
    def operand(node: Any, root: Any) -> Any:
        start = node if relative else root
        if definite:
            for value in _evaluate(steps, 0, start, root):
                return value
            return MISSING
        return list(_evaluate(steps, 0, start, root))

    return operand


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if _is_number(a) and _is_number(b):
            return test(a, b)
        if isinstance(a, str) and isinstance(b, str):
            return test(a, b)
        return False

    return compare


def _contains(a: Any, b: Any) -> bool:
    return isinstance(b, list) and any(json_equal(a, item) for item in b)


def _size(a: Any, b: Any) -> bool:
    return isinstance(a, (str, list, dict)) and _is_number(b) and len(a) == b


def _is_empty(value: Any) -> bool | None:
    if isinstance(value, (str, list, dict)):
        return len(value) == 0
    return None


def _matches(value: Any, regex: re.Pattern[str]) -> bool:
    return isinstance(value, str) and regex.fullmatch(value) is not None


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a is not MISSING and b is not MISSING and json_equal(a, b),
    "!=": lambda a, b: a is not MISSING and b is not MISSING and not json_equal(a, b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "in": _contains,
    "nin": lambda a, b: a is not MISSING and isinstance(b, list) and not _contains(a, b),
    "size": _size,
}


# --------------------------------------------------------------------------- state fields

# Fields whose failure AWS reports as "The JSONPath ... could not be found in the input".
_QUOTING_FIELDS = frozenset({"ErrorPath", "CausePath"})


def select(path: Path | None, scope: Scope, field: str) -> Any:
    """Apply ``InputPath``, ``OutputPath``, ``ItemsPath``, ``SecondsPath``... to ``scope``.

    A ``null`` path (``path is None``) selects ``{}`` (ASL: "InputPath": null
    discards the input).  A missing value fails with ``States.Runtime``: AWS's
    ``Invalid path '$.x' : No results for path: $['x']`` for most fields, and
    ``The JSONPath '$.x' specified for the field 'ErrorPath' could not be found
    in the input '...'`` for a Fail state's ``ErrorPath``/``CausePath``.
    """
    if path is None:
        return {}
    try:
        return path.get(scope)
    except PathNotFound as missing:
        if field in _QUOTING_FIELDS:
            raise not_found_in_input(missing.path, field, scope.input) from None
        raise


def not_found_in_input(path_text: str, field: str, state_input: Any) -> StatesError:
    """AWS's error for a path in a template or Fail field that matched nothing."""
    return StatesError(
        "States.Runtime",
        f"The JSONPath '{path_text}' specified for the field '{field}' "
        f"could not be found in the input '{compact_json(state_input)}'",
    )


def apply_result_path(path: Path | None, state_input: Any, result: Any) -> Any:
    """Place ``result`` into ``state_input`` as ``ResultPath`` says.

    ``None`` (JSON null) keeps the input and discards the result; ``$`` gives the
    result; ``$.a.b`` returns a copy of the input with ``a`` created if missing
    and ``b`` set.  Only the objects on the path are copied; the input is never
    modified.  Writing into something that is not an object (or an index that
    is not in its array) fails with ``States.ResultPathMatchFailure``.
    """
    if path is None:
        return state_input
    if not path.steps:
        return result
    if path.root != ROOT_INPUT or not path.is_reference:
        raise PathSyntaxError(f"ResultPath '{path.text}' must be a reference path on '$'")
    return _put(path, state_input, 0, result, state_input)


def _put(path: Path, node: Any, i: int, value: Any, state_input: Any) -> Any:
    kind, arg = path.steps[i]
    last = i == len(path.steps) - 1
    if kind == KEY:
        if node is MISSING:
            container: dict[str, Any] = {}
        elif isinstance(node, dict):
            container = dict(node)
        else:
            raise _match_failure(path, state_input)
        container[arg] = (
            value if last else _put(path, container.get(arg, MISSING), i + 1, value, state_input)
        )
        return container
    if not isinstance(node, list) or not -len(node) <= arg < len(node):
        raise _match_failure(path, state_input)
    items = list(node)
    items[arg] = value if last else _put(path, items[arg], i + 1, value, state_input)
    return items


def _match_failure(path: Path, state_input: Any) -> StatesError:
    return StatesError(
        "States.ResultPathMatchFailure",
        f"Unable to apply ReferencePath {path.text} to input {compact_json(state_input)}",
    )
