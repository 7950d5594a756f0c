"""Check a definition against ``schemas/asl.schema.json`` and explain what is wrong.

The schema is read and compiled once per process.  Two validators come out of it:

- a *fast check*: the schema's keywords compiled into plain Python closures.  It only
  answers "valid or not" and takes a few microseconds per state, which is what keeps
  validating a typical definition well under a millisecond (jsonschema's generic
  ``Draft202012Validator`` needs several milliseconds for the same answer);
- jsonschema's ``Draft202012Validator``, the reference implementation, run only when
  the fast check fails, to find *which* fields are wrong.  Its errors are turned into
  short messages ("unknown field 'Foo' (did you mean 'Font'?)") with a JSON pointer.

The fast check understands exactly the keywords the schema uses and refuses to compile
any other, so the schema cannot grow a keyword that it would silently ignore; a test
runs both validators over the corpora and checks that they agree.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from statemachine.errors import Diagnostic

if TYPE_CHECKING:  # jsonschema is imported only to word errors (~0.3 s of start-up saved)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
from statemachine.language.source import pointer_join

__all__ = ["SCHEMA_PATH", "is_valid", "load_schema", "schema_diagnostics"]

def _schema_path() -> Path:
    """``schemas/asl.schema.json`` of the source tree, or a copy installed in the package."""
    here = Path(__file__).resolve()
    candidates = [here.parents[2] / "schemas" / "asl.schema.json",
                  here.parents[1] / "schemas" / "asl.schema.json"]
    return next((path for path in candidates if path.exists()), candidates[0])


SCHEMA_PATH = _schema_path()
CODE = "SCHEMA_VALIDATION_FAILED"

Check = Callable[[Any], bool]


@functools.cache
def load_schema() -> dict[str, Any]:
    """The ASL schema as a dict (read once)."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@functools.cache
def _reference_validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@functools.cache
def _fast_check() -> Check:
    return _Compiler(load_schema()).compile(load_schema())


def is_valid(definition: Any) -> bool:
    """True when ``definition`` matches the schema (the fast check only)."""
    return _fast_check()(definition)


def schema_diagnostics(definition: Any) -> list[Diagnostic]:
    """Every schema problem in ``definition`` as diagnostics; empty when it matches."""
    if _fast_check()(definition):
        return []
    diagnostics: list[Diagnostic] = []
    seen: set[tuple[str, str]] = set()
    for error in _reference_validator().iter_errors(definition):
        for diagnostic in _explain(error):
            key = (diagnostic.pointer, diagnostic.message)
            if key not in seen:
                seen.add(key)
                diagnostics.append(diagnostic)
    return diagnostics


# --- the fast check -------------------------------------------------------------------


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_TYPE_CHECKS: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": _is_integer,
}

# Keywords checked together by one closure per object schema.
_OBJECT_KEYWORDS = frozenset({"properties", "additionalProperties", "required"})
# Keywords with no effect on validity.
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description"})


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` (unlike Python's ``==``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


class _Compiler:
    """Compile the subset of JSON Schema 2020-12 the ASL schema uses into closures."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        checks: list[Check] = []
        if _OBJECT_KEYWORDS.intersection(schema):
            checks.append(self._object(schema))
        checks += [self._keyword(name, value, schema) for name, value in schema.items()
                   if name not in _ANNOTATIONS and name not in _OBJECT_KEYWORDS
                   and name not in ("then", "else")]
        if len(checks) == 1:
            return checks[0]

        def check_all(v: Any) -> bool:
            for check in checks:
                if not check(v):
                    return False
            return True

        return check_all

    def _object(self, schema: dict[str, Any]) -> Check:
        """``properties``, ``additionalProperties`` and ``required`` in one loop per object."""
        props = {k: self.compile(s) for k, s in schema.get("properties", {}).items()}
        extra_schema = schema.get("additionalProperties", True)
        closed = extra_schema is False
        extra = None if extra_schema is True or closed else self.compile(extra_schema)
        required = tuple(schema.get("required", ()))

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for key in required:
                if key not in v:
                    return False
            for key, item in v.items():
                prop = props.get(key)
                if prop is not None:
                    if not prop(item):
                        return False
                elif closed or (extra is not None and not extra(item)):
                    return False
            return True

        return check

    def _ref(self, target: str) -> Check:
        if target not in self.refs:
            node: Any = self.root
            for token in target.removeprefix("#/").split("/"):
                node = node[token]
            self.refs[target] = lambda v: False  # placeholder while compiling recursion
            compiled: list[Check] = []
            self.refs[target] = lambda v: compiled[0](v)
            compiled.append(self.compile(node))
        return self.refs[target]

    def _keyword(self, name: str, value: Any, schema: dict[str, Any]) -> Check:
        handler = getattr(self, "_kw_" + name.lstrip("$"), None)
        if handler is None:
            raise ValueError(f"asl.schema.json uses keyword {name!r}, which the fast check lacks")
        result: Check = handler(value, schema)
        return result

    def _kw_ref(self, value: str, _: dict[str, Any]) -> Check:
        return self._ref(value)

    def _kw_type(self, value: str | list[str], _: dict[str, Any]) -> Check:
        checks = [_TYPE_CHECKS[t] for t in ([value] if isinstance(value, str) else value)]
        return lambda v: any(check(v) for check in checks)

    def _kw_enum(self, value: list[Any], _: dict[str, Any]) -> Check:
        if all(isinstance(option, str) for option in value):
            options = frozenset(value)
            return lambda v: isinstance(v, str) and v in options
        return lambda v: any(_json_equal(v, option) for option in value)

    def _kw_const(self, value: Any, _: dict[str, Any]) -> Check:
        return lambda v: _json_equal(v, value)

    def _kw_minProperties(self, value: int, _: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, dict) or len(v) >= value

    def _kw_maxProperties(self, value: int, _: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, dict) or len(v) <= value

    def _kw_propertyNames(self, value: Any, _: dict[str, Any]) -> Check:
        name = self.compile(value)
        return lambda v: not isinstance(v, dict) or all(name(key) for key in v)

    def _kw_items(self, value: Any, _: dict[str, Any]) -> Check:
        item = self.compile(value)
        return lambda v: not isinstance(v, list) or all(item(x) for x in v)

    def _kw_minItems(self, value: int, _: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, list) or len(v) >= value

    def _kw_minimum(self, value: float, _: dict[str, Any]) -> Check:
        return lambda v: not _TYPE_CHECKS["number"](v) or v >= value

    def _kw_maximum(self, value: float, _: dict[str, Any]) -> Check:
        return lambda v: not _TYPE_CHECKS["number"](v) or v <= value

    def _kw_minLength(self, value: int, _: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, str) or len(v) >= value

    def _kw_maxLength(self, value: int, _: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, str) or len(v) <= value

    def _kw_pattern(self, value: str, _: dict[str, Any]) -> Check:
        search = re.compile(value).search
        return lambda v: not isinstance(v, str) or search(v) is not None

    def _kw_anyOf(self, value: list[Any], _: dict[str, Any]) -> Check:
        options = [self.compile(s) for s in value]
        return lambda v: any(option(v) for option in options)

    def _kw_allOf(self, value: list[Any], _: dict[str, Any]) -> Check:
        dispatch = self._discriminator(value)
        if dispatch is not None:
            return dispatch
        parts = [self.compile(s) for s in value]
        return lambda v: all(part(v) for part in parts)

    def _discriminator(self, value: list[Any]) -> Check | None:
        """``allOf: [{if: {properties: {K: {const: X}}, required: [K]}, then: S}, ...]``
        (a tagged union such as the state ``Type``) becomes one dict lookup."""
        key: str | None = None
        cases: dict[str, Check] = {}
        for part in value:
            condition = part.get("if", {}) if isinstance(part, dict) else {}
            props = condition.get("properties", {})
            if set(part) != {"if", "then"} or set(condition) != {"properties", "required"} \
                    or len(props) != 1 or condition["required"] != list(props):
                return None
            (name, test), = props.items()
            if set(test) != {"const"} or not isinstance(test["const"], str) or key not in (None, name):
                return None
            key = name
            cases[test["const"]] = self.compile(part["then"])

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            tag = v.get(key)
            case = cases.get(tag) if isinstance(tag, str) else None
            return case is None or case(v)

        return check

    def _kw_if(self, value: Any, schema: dict[str, Any]) -> Check:
        condition = self.compile(value)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda v: then(v) if condition(v) else otherwise(v)


# --- explaining jsonschema's errors -------------------------------------------------


def _pointer(path: Iterable[str | int]) -> str:
    pointer = ""
    for token in path:
        pointer = pointer_join(pointer, token)
    return pointer


def _field(path: Any) -> str:
    """How a message names the value at ``path``: its key, or ``Key[3]`` for items."""
    tokens = list(path)
    if not tokens:
        return "the definition"
    if isinstance(tokens[-1], int):
        parent = next((t for t in reversed(tokens) if isinstance(t, str)), "")
        return f"'{parent}[{tokens[-1]}]'"
    return f"'{tokens[-1]}'"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _what(error: ValidationError) -> str:
    """The host of an unknown field, for messages: 'a Pass state', 'a retrier'..."""
    instance = error.instance
    if isinstance(instance, dict) and isinstance(instance.get("Type"), str):
        return f"a {instance['Type']} state"
    tokens = list(error.absolute_path)
    if not tokens:
        return "the state machine"
    key = next((t for t in reversed(tokens) if isinstance(t, str)), "")
    names = {"Retry": "a retrier", "Catch": "a catcher", "Choices": "a Choice rule",
             "And": "a Choice rule", "Or": "a Choice rule", "Not": "a Choice rule",
             "Branches": "a Parallel branch"}
    return names.get(key, f"'{key}'")


def _explain(error: ValidationError) -> list[Diagnostic]:
    path = list(error.absolute_path)
    pointer = _pointer(path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    keyword = error.validator
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        known = list(schema.get("properties", ()))
        result = []
        for key in error.instance:
            if key in known:
                continue
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            result.append(Diagnostic(pointer_join(pointer, key), CODE,
                                     f"unknown field '{key}' in {_what(error)}{suggestion}"))
        return result
    if keyword == "required":
        # the stubs allow "unset"; every error a validator raises has both set
        required, instance = cast(list[str], error.validator_value), cast(Any, error.instance)
        missing = [k for k in required if k not in instance]
        return [Diagnostic(pointer, CODE, f"missing required field '{k}' in {_what(error)}")
                for k in missing]
    return [Diagnostic(pointer, CODE, _value_message(error, path, schema))]


def _value_message(error: ValidationError, path: list[Any], schema: dict[str, Any]) -> str:
    field = _field(path)
    got = _short(error.instance)
    description = schema.get("description")
    keyword = error.validator
    value = cast(Any, error.validator_value)  # set on every error a validator raises
    if keyword == "minProperties" and path and path[-1] == "States":
        return "'States' must contain at least one state"
    if keyword == "minItems":
        return f"{field} must not be empty"
    if keyword == "maxLength":
        return f"{field} must be at most {value} characters long"
    if keyword == "minLength":
        return f"{field} must not be empty"
    if keyword == "const" and value is True:
        return f"{field} must be true when present (got {got})"
    if keyword in ("enum", "const"):
        options = value if keyword == "enum" else [value]
        return f"{field} must be one of {', '.join(map(str, options))} (got {got})"
    if description:
        return f"{field} must be {description} (got {got})"
    if keyword == "type":
        names = value if isinstance(value, list) else [value]
        return f"{field} must be of type {' or '.join(names)} (got {got})"
    if keyword == "minimum":
        return f"{field} must be at least {value} (got {got})"
    if keyword == "maximum":
        return f"{field} must be at most {value} (got {got})"
    return f"{field} is invalid: {error.message}"
