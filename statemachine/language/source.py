"""Load a state-machine definition from JSON or YAML text, keeping line numbers.

What this module guarantees, and why:

- **YAML 1.2 scalars.**  PyYAML speaks YAML 1.1, where ``Yes``, ``No``, ``on`` and
  ``off`` are booleans, ``12:30`` is a sexagesimal integer and ``2024-01-01`` a date.
  A Choice state named ``Yes`` or a Wait ``Timestamp`` must stay a string, so the
  loader uses the YAML 1.2 core schema: only ``true``/``false`` are booleans, numbers
  are decimal (or ``0x``/``0o``), and there are no implicit timestamps.
- **Duplicate keys are errors** in both formats (JSON and YAML parsers silently keep
  the last one, which hides typos such as two states with the same name).
- **Line numbers per JSON pointer** (``/States/Charge/Retry/0``), so a validation
  message can name the line a person has to fix.
- **``${Name}`` substitution** (like SAM's ``DefinitionSubstitutions``): replaced
  inside every string, keys included, after parsing, so a value can never break the
  JSON or YAML syntax.  Unknown placeholders are left as written.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from statemachine.errors import DefinitionError, Diagnostic
from statemachine.language.values import MAX_NESTING, may_nest_deeper_than, nested_deeper_than

__all__ = ["UNFILLED_PLACEHOLDER", "Source", "load_definition", "load_file", "pointer_join",
           "unfilled_placeholders"]

_PLACEHOLDER = re.compile(r"\$\{([^{}]*)\}")
UNFILLED_PLACEHOLDER = "UNFILLED_PLACEHOLDER"


@dataclass(frozen=True)
class Source:
    """A loaded definition and where each part of it came from.

    For JSON the pointer-to-line map is built on the first :meth:`line_of` call, from
    ``text``: a valid definition never needs it, so loading stays cheap.
    """

    definition: dict[str, Any]
    filename: str | None = None
    lines: Mapping[str, int] | None = field(default=None, repr=False)
    text: str | None = field(default=None, repr=False)

    def line_of(self, pointer: str) -> int | None:
        """The 1-based line of ``pointer``, or of its nearest known ancestor."""
        lines = self.lines
        if lines is None:
            lines = _json_lines(self.text, self.filename) if self.text is not None else {}
            object.__setattr__(self, "lines", lines)
        while True:
            line = lines.get(pointer)
            if line is not None or not pointer:
                return line
            pointer = pointer.rsplit("/", 1)[0]


def pointer_join(pointer: str, token: str | int) -> str:
    """Append one reference token to a JSON pointer, escaping ``~`` and ``/`` (RFC 6901)."""
    text = str(token)
    if "~" in text or "/" in text:
        text = text.replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{text}"


def load_file(path: str | Path, *, substitutions: Mapping[str, str] | None = None) -> Source:
    """Read and load one definition file; the format follows the content, not the suffix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DefinitionError(
            [Diagnostic("", "FILE_UNREADABLE", f"cannot read file: {reason}", None, str(path))]
        ) from exc
    return load_definition(text, filename=str(path), substitutions=substitutions)


def load_definition(
    text: str,
    *,
    filename: str | None = None,
    substitutions: Mapping[str, str] | None = None,
) -> Source:
    """Parse JSON or YAML ``text`` into a :class:`Source`.

    JSON is tried when the first non-blank character is ``{`` or ``[``; otherwise (and
    when that text is not JSON after all, e.g. YAML flow style) it is read as YAML.
    Raises :class:`DefinitionError` naming the file and line of the first problem.
    """
    too_deep = f"the definition nests deeper than {MAX_NESTING} levels"
    try:
        data, lines = _parse(text, filename)
    except RecursionError:
        _fail(filename, "", None, "INVALID_DEFINITION", too_deep)
    # JSON nests only with brackets, so few of them rule it out; YAML nests by indentation too
    if (lines is not None or may_nest_deeper_than(text)) and nested_deeper_than(data):
        _fail(filename, "", None, "INVALID_DEFINITION", too_deep)
    if not isinstance(data, dict):
        kind = "an empty document" if data is None else _article(_json_type(data))
        _fail(filename, "", 1, "INVALID_DEFINITION", f"a definition must be an object, not {kind}")
    if substitutions:
        data = _substitute(data, substitutions)
    return Source(definition=data, filename=filename, lines=lines,
                  text=text if lines is None else None)


def _parse(text: str, filename: str | None) -> tuple[Any, dict[str, int] | None]:
    """The value of JSON or YAML ``text``, and the lines of its pointers (YAML only)."""
    if text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text, object_pairs_hook=_unique_keys), None
        except json.JSONDecodeError as exc:
            return _load_yaml_or(text, filename, exc)
        except _DuplicateKey:
            _json_lines(text, filename)  # raises, naming the key and its line
            raise
    return _load_yaml(text, filename)


def _fail(filename: str | None, pointer: str, line: int | None, code: str, message: str) -> NoReturn:
    raise DefinitionError([Diagnostic(pointer, code, message, line, filename)])


def _article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


# --- substitution -------------------------------------------------------------------


def _substitute(value: Any, subs: Mapping[str, str]) -> Any:
    """Replace known ``${Name}`` placeholders in every string of ``value`` (keys too)."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        return _PLACEHOLDER.sub(lambda m: subs.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {_substitute(k, subs): _substitute(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(item, subs) for item in value]
    return value


def unfilled_placeholders(source: Source) -> list[Diagnostic]:
    """A diagnostic (code ``UNFILLED_PLACEHOLDER``) per string still holding a ``${Name}``
    after substitution: most likely a value its author forgot to give."""
    found: list[Diagnostic] = []

    def walk(value: Any, pointer: str) -> None:
        if isinstance(value, str):
            names = _PLACEHOLDER.findall(value) if "${" in value else []
            if names:
                listed = ", ".join("${" + name + "}" for name in dict.fromkeys(names))
                found.append(Diagnostic(pointer, UNFILLED_PLACEHOLDER,
                                        f"{listed} not filled (pass --sub NAME=VALUE or add "
                                        "it to substitutions.env)",
                                        source.line_of(pointer), source.filename))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key, pointer_join(pointer, key))
                walk(item, pointer_join(pointer, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, pointer_join(pointer, index))

    walk(source.definition, "")
    return found


# --- JSON ---------------------------------------------------------------------------

class _DuplicateKey(ValueError):
    """A JSON object repeats a key (found by ``json.loads``, located by ``_json_lines``)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKey()
    return result


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)


class _LineIndex:
    """Offsets to 1-based line numbers by bisecting the newline positions."""

    def __init__(self, text: str) -> None:
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self._newlines, offset) + 1


def _json_lines(text: str, filename: str | None) -> dict[str, int]:
    """Walk syntactically valid JSON once more to map each pointer to its line.

    ``json`` keeps no positions, so this small tokenizer follows the same structure;
    it also finds duplicate keys, which ``json.loads`` silently merges.
    """
    index = _LineIndex(text)
    lines: dict[str, int] = {}
    # Each frame: [pointer, is_object, next array index, keys seen, pending key]
    stack: list[list[Any]] = []
    pending_pointer = ""
    for match in _JSON_TOKEN.finditer(text):
        token = match.group(0)
        line = index.line(match.start())
        top = stack[-1] if stack else None
        if top is not None and top[1] and top[4] is None and token.startswith('"'):
            key = json.loads(token)
            if key in top[3]:
                where = top[0] or "/"
                _fail(filename, pointer_join(top[0], key), line, "DUPLICATE_KEY",
                      f"duplicate key {key!r} in object {where} (first on line {top[3][key]})")
            top[3][key] = line
            top[4] = key
            pending_pointer = pointer_join(top[0], key)
            lines[pending_pointer] = line
            continue
        if token in (":", ","):
            continue
        if token in ("}", "]"):
            stack.pop()
            continue
        if top is not None and not top[1]:
            pending_pointer = pointer_join(top[0], top[2])
            top[2] += 1
            lines[pending_pointer] = line
        elif top is not None:
            top[4] = None
        elif not stack:
            lines[""] = line
        if token in ("{", "["):
            stack.append([pending_pointer, token == "{", 0, {}, None])
    return lines


# --- YAML ---------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):  # type: ignore[misc,unused-ignore]  # untyped without stubs
    """SafeLoader with YAML 1.2 core-schema scalars (see the module docstring)."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                           "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    return int(text)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _load_yaml_or(
    text: str, filename: str | None, json_error: json.JSONDecodeError
) -> tuple[Any, dict[str, int]]:
    """Text that looks like JSON but is not: YAML flow style, or a JSON syntax error."""
    try:
        return _load_yaml(text, filename)
    except DefinitionError:
        _fail(filename, "", json_error.lineno, "INVALID_JSON",
              f"invalid JSON: {json_error.msg} (column {json_error.colno})")


def _load_yaml(text: str, filename: str | None) -> tuple[Any, dict[str, int]]:
    try:
        loader = _StrictLoader(text)  # its reader refuses control characters already
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        _fail(filename, "", line, "INVALID_YAML", f"invalid YAML: {exc.problem or exc}")
    except yaml.YAMLError as exc:
        _fail(filename, "", None, "INVALID_YAML", f"invalid YAML: {exc}")
    if node is None:
        return None, {}
    lines: dict[str, int] = {"": node.start_mark.line + 1}
    try:
        return _YamlBuilder(loader, filename, lines).build(node, "", ()), lines
    finally:
        loader.dispose()


class _YamlBuilder:
    """Turn a composed YAML node tree into plain JSON values, recording lines."""

    def __init__(self, loader: _StrictLoader, filename: str | None, lines: dict[str, int]) -> None:
        self.loader = loader
        self.filename = filename
        self.lines = lines

    def build(self, node: yaml.Node, pointer: str, active: tuple[int, ...]) -> Any:
        if id(node) in active:
            _fail(self.filename, pointer, node.start_mark.line + 1, "INVALID_YAML",
                  "invalid YAML: recursive alias")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, pointer, (*active, id(node)))
        if isinstance(node, yaml.SequenceNode):
            result = []
            for i, item in enumerate(node.value):
                child = pointer_join(pointer, i)
                self.lines.setdefault(child, item.start_mark.line + 1)
                result.append(self.build(item, child, (*active, id(node))))
            return result
        return self._scalar(node, pointer)

    def _scalar(self, node: yaml.Node, pointer: str) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            if node.tag and node.tag.startswith("!"):
                problem = f"unsupported YAML tag {node.tag} (CloudFormation intrinsics must be resolved first)"
            _fail(self.filename, pointer, node.start_mark.line + 1, "INVALID_YAML", f"invalid YAML: {problem}")
        if isinstance(value, (bytes, set)) or type(value).__name__ in ("date", "datetime"):
            _fail(self.filename, pointer, node.start_mark.line + 1, "INVALID_YAML",
                  f"invalid YAML: {node.tag} values have no JSON equivalent")
        return value

    def _mapping(self, node: yaml.MappingNode, pointer: str, active: tuple[int, ...]) -> dict[str, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self._key(key_node, pointer)
            line = key_node.start_mark.line + 1
            if key in seen:
                _fail(self.filename, pointer_join(pointer, key), line, "DUPLICATE_KEY",
                      f"duplicate key {key!r} in mapping {pointer or '/'} (first on line {seen[key]})")
            seen[key] = line
        self.loader.flatten_mapping(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, pointer)
            child = pointer_join(pointer, key)
            self.lines[child] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, child, active)
        return result

    def _key(self, node: yaml.Node, pointer: str) -> str:
        """Keys are strings in JSON: a scalar key is taken as written (``200:`` is ``"200"``)."""
        if isinstance(node, yaml.ScalarNode):
            return str(node.value)
        _fail(self.filename, pointer, node.start_mark.line + 1, "INVALID_YAML",
              "invalid YAML: mapping keys must be plain strings")
