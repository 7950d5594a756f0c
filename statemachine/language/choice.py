"""Choice rules: ``{"Variable": "$.x", "NumericEquals": 1}``, ``And``/``Or``/``Not``,
and JSONata ``Condition``.

:func:`compile_rule` builds a :class:`Rule` once per definition; ``Rule.test``
evaluates it.  AWS behaviour pinned by tests/conformance/cases/choice_operators:

- a comparison never fails on a type mismatch, it is just false
  (``NumericEquals`` with a string, ``StringEquals`` with a number, ...);
  ``NumericEquals`` treats ``0`` and ``0.0`` as equal; booleans are not numbers;
- ``IsPresent`` is true for ``null``; ``IsNumeric`` is false for ``true``;
- a missing ``Variable`` (or ``...Path`` operand) fails every operator but
  ``IsPresent`` with ``States.Runtime``: ``Invalid path '$.x': The choice
  state's condition path references an invalid value.``;
- timestamps are RFC 3339 with an offset (``Z`` or ``+01:00``), compared as
  instants with nanosecond precision.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from statemachine.language.paths import Path, compile_path
from statemachine.language.scope import MISSING, Scope, StatesError

__all__ = ["OPERATORS", "ChoiceRuleError", "Rule", "compile_rule", "parse_timestamp"]


class ChoiceRuleError(ValueError):
    """A Choice rule that is malformed: not an object, no operator, a bad operand."""


class Rule(Protocol):
    """Anything with ``test(scope) -> bool`` (a compiled rule or a JSONata condition)."""

    def test(self, scope: Scope) -> bool: ...


Compare = Callable[[Any, Any], bool]


# --------------------------------------------------------------------------- value tests


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _java_order(text: str) -> str | bytes:
    """A key that orders strings like Java's ``compareTo`` (UTF-16 code units)."""
    return text if text.isascii() else text.encode("utf-16-be")


_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})"
)


def parse_timestamp(value: Any) -> tuple[int, int] | None:
    """An RFC 3339 timestamp as (epoch seconds, nanoseconds), or None if it is not one."""
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = "+00:00" if zone == "Z" else zone
    try:
        moment = datetime.fromisoformat(f"{year}-{month}-{day}T{hour}:{minute}:{second}{offset}")
    except ValueError:
        return None
    nanos = int((fraction or "0").ljust(9, "0"))
    return int(moment.timestamp()), nanos


def _strings(test: Callable[[Any, Any], bool]) -> Compare:
    def compare(a: Any, b: Any) -> bool:
        return isinstance(a, str) and isinstance(b, str) and test(_java_order(a), _java_order(b))

    return compare


def _numbers(test: Callable[[Any, Any], bool]) -> Compare:
    def compare(a: Any, b: Any) -> bool:
        return _is_number(a) and _is_number(b) and test(a, b)

    return compare


def _timestamps(test: Callable[[Any, Any], bool]) -> Compare:
    def compare(a: Any, b: Any) -> bool:
        left, right = parse_timestamp(a), parse_timestamp(b)
        return left is not None and right is not None and test(left, right)

    return compare


def _booleans(a: Any, b: Any) -> bool:
    return isinstance(a, bool) and isinstance(b, bool) and a == b


def _wildcard(pattern: Any) -> re.Pattern[str]:
    """``StringMatches``: ``*`` matches anything; ``\\*`` and ``\\\\`` are literal."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "*" else re.escape(ch))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def _string_matches(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and _wildcard(b).fullmatch(a) is not None


#: Comparison operators (without the ``Path`` suffix) and how they compare.
OPERATORS: dict[str, Compare] = {
    "StringEquals": _strings(lambda a, b: a == b),
    "StringLessThan": _strings(lambda a, b: a < b),
    "StringGreaterThan": _strings(lambda a, b: a > b),
    "StringLessThanEquals": _strings(lambda a, b: a <= b),
    "StringGreaterThanEquals": _strings(lambda a, b: a >= b),
    "StringMatches": _string_matches,
    "NumericEquals": _numbers(lambda a, b: a == b),
    "NumericLessThan": _numbers(lambda a, b: a < b),
    "NumericGreaterThan": _numbers(lambda a, b: a > b),
    "NumericLessThanEquals": _numbers(lambda a, b: a <= b),
    "NumericGreaterThanEquals": _numbers(lambda a, b: a >= b),
    "BooleanEquals": _booleans,
    "TimestampEquals": _timestamps(lambda a, b: a == b),
    "TimestampLessThan": _timestamps(lambda a, b: a < b),
    "TimestampGreaterThan": _timestamps(lambda a, b: a > b),
    "TimestampLessThanEquals": _timestamps(lambda a, b: a <= b),
    "TimestampGreaterThanEquals": _timestamps(lambda a, b: a >= b),
}

#: Type tests: the value of ``IsX: true`` is whether the variable has the type.
TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda value: value is None,
    "IsNumeric": _is_number,
    "IsString": lambda value: isinstance(value, str),
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsTimestamp": lambda value: parse_timestamp(value) is not None,
}

_STRUCTURE_KEYS = frozenset({"Next", "Assign", "Output", "Comment", "Variable"})


# --------------------------------------------------------------------------- rules


def _invalid_path(path: Path) -> StatesError:
    return StatesError(
        "States.Runtime",
        f"Invalid path '{path.text}': "
        "The choice state's condition path references an invalid value.",
    )


def _read(path: Path, scope: Scope) -> Any:
    value = path.find(scope)
    if value is MISSING:
        raise _invalid_path(path)
    return value


class Comparison:
    """``Variable`` compared with a constant, or with another path (``...Path``)."""

    __slots__ = ("compare", "other", "value", "variable")

    def __init__(self, variable: Path, compare: Compare, value: Any, other: Path | None) -> None:
        self.variable = variable
        self.compare = compare
        self.value = value
        self.other = other

    def test(self, scope: Scope) -> bool:
        left = _read(self.variable, scope)
        right = self.value if self.other is None else _read(self.other, scope)
        return self.compare(left, right)


class StringMatch:
    """``StringMatches`` with its pattern compiled once."""

    __slots__ = ("pattern", "variable")

    def __init__(self, variable: Path, pattern: str) -> None:
        self.variable = variable
        self.pattern = _wildcard(pattern)

    def test(self, scope: Scope) -> bool:
        value = _read(self.variable, scope)
        return isinstance(value, str) and self.pattern.fullmatch(value) is not None


class TypeTest:
    """``IsNull``/``IsNumeric``/``IsString``/``IsBoolean``/``IsTimestamp``."""

    __slots__ = ("check", "expected", "variable")

    def __init__(self, variable: Path, check: Callable[[Any], bool], expected: bool) -> None:
        self.variable = variable
        self.check = check
        self.expected = expected

    def test(self, scope: Scope) -> bool:
        return self.check(_read(self.variable, scope)) == self.expected


class Presence:
    """``IsPresent``: whether the path matches anything (``null`` counts)."""

    __slots__ = ("expected", "variable")

    def __init__(self, variable: Path, expected: bool) -> None:
        self.variable = variable
        self.expected = expected

    def test(self, scope: Scope) -> bool:
        return (self.variable.find(scope) is not MISSING) == self.expected


class AllOf:
    __slots__ = ("rules",)

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules

    def test(self, scope: Scope) -> bool:
        return all(rule.test(scope) for rule in self.rules)


class AnyOf:
    __slots__ = ("rules",)

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules

    def test(self, scope: Scope) -> bool:
        return any(rule.test(scope) for rule in self.rules)


class Negation:
    __slots__ = ("rule",)

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def test(self, scope: Scope) -> bool:
        return not self.rule.test(scope)


def compile_rule(rule: dict[str, Any], query_language: str = "JSONPath") -> Rule:
    """Compile one Choices entry (its ``Next``/``Assign``/``Output`` are ignored)
    or a nested rule; raises :class:`ChoiceRuleError` (or ``PathSyntaxError``,
    ``JsonataSyntaxError``: every one a ``ValueError``) when malformed."""
    if not isinstance(rule, dict):
        raise ChoiceRuleError("a choice rule must be an object")
    if "Condition" in rule:
        from statemachine.language.jsonata import compile_condition

        condition: Rule = compile_condition(rule["Condition"])
        return condition
    if query_language == "JSONata":
        raise ChoiceRuleError("a JSONata choice rule needs a 'Condition'")
    if "And" in rule:
        return AllOf([compile_rule(r, query_language) for r in _rule_list(rule, "And")])
    if "Or" in rule:
        return AnyOf([compile_rule(r, query_language) for r in _rule_list(rule, "Or")])
    if "Not" in rule:
        return Negation(compile_rule(rule["Not"], query_language))
    return _compile_comparison(rule)


def _rule_list(rule: dict[str, Any], key: str) -> list[dict[str, Any]]:
    rules = rule[key]
    if not isinstance(rules, list) or not rules:
        raise ChoiceRuleError(f"'{key}' must be a non-empty array of choice rules")
    return rules


def _compile_comparison(rule: dict[str, Any]) -> Rule:
    if "Variable" not in rule:
        raise ChoiceRuleError("a choice rule needs 'Variable' (or And, Or, Not, Condition)")
    variable = compile_path(rule["Variable"])
    operators = [key for key in rule if key not in _STRUCTURE_KEYS]
    if len(operators) != 1:
        raise ChoiceRuleError(
            f"a choice rule needs exactly one comparison operator, found {operators or 'none'}"
        )
    name = operators[0]
    operand = rule[name]
    if name == "IsPresent":
        return Presence(variable, _flag(name, operand))
    if name in TYPE_TESTS:
        return TypeTest(variable, TYPE_TESTS[name], _flag(name, operand))
    if name.endswith("Path") and name[:-4] in OPERATORS:
        if not isinstance(operand, str):
            raise ChoiceRuleError(f"'{name}' must be a path string")
        return Comparison(variable, OPERATORS[name[:-4]], None, compile_path(operand))
    if name == "StringMatches":
        if not isinstance(operand, str):
            raise ChoiceRuleError("'StringMatches' must be a string")
        return StringMatch(variable, operand)
    if name in OPERATORS:
        return Comparison(variable, OPERATORS[name], operand, None)
    raise ChoiceRuleError(f"unknown choice operator '{name}'")


def _flag(name: str, operand: Any) -> bool:
    if not isinstance(operand, bool):
        raise ChoiceRuleError(f"'{name}' must be true or false")
    return operand
