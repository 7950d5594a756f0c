"""JSONata expressions (``QueryLanguage: JSONata``) as AWS Step Functions evaluates them.

A field value such as ``"{% $states.input.total * 2 %}"`` is parsed once, when the
definition is compiled, and evaluated many times against a :class:`Scope`:

- ``$states`` is ``{"input", "context"}`` plus ``"result"`` / ``"errorOutput"`` when the
  scope has them; every workflow variable is ``$name``.
- AWS's own functions are bound in every evaluation: ``$partition``, ``$range``,
  ``$hash``, ``$random`` (optionally seeded), ``$uuid``, ``$parse``.  ``$eval`` is not
  available on AWS, so it is unbound here too (calling it fails with T1006).
- ``$now()``, ``$millis()``, ``$random()``, ``$uuid()`` and ``$shuffle()`` are
  deterministic: the time is the state's entered time from the context object and
  randomness comes from ``Scope.rng()``, so replaying an execution gives the same values.
- ``$number`` follows jsonata-js (jsonata-python lets Python's ``float()`` decide).
- The result is plain JSON.  Undefined results, functions as results and evaluation
  errors raise :class:`StatesError` ``States.QueryEvaluationError`` with AWS's wording.

The evaluator is the ``jsonata-python`` package (a port of jsonata-java).  A parsed
``Jsonata`` object keeps no per-evaluation state that matters (each ``evaluate`` call
builds a fresh frame for its bindings; the working fields it touches live on a
thread-local copy and are saved/restored around every nested evaluation), so one parsed
object per distinct expression text is shared by every definition and evaluation.

AWS's functions live in :mod:`~statemachine.language.jsonata_functions`; turning
results into JSON and failures into AWS's wording in
:mod:`~statemachine.language.jsonata_results`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any, Final

# jsonata-python ships no type information ("unused-ignore": under
# --ignore-missing-imports mypy needs none of these ignores).
from jsonata import jexception as _jexception  # type: ignore[import-untyped, unused-ignore]
from jsonata import jsonata as _jsonata  # type: ignore[import-untyped, unused-ignore]
from jsonata import parser as _parser  # type: ignore[import-untyped, unused-ignore]
from jsonata.utils import Utils as _Utils  # type: ignore[import-untyped, unused-ignore]

from statemachine.language.jsonata_functions import (
    SCOPED_FUNCTIONS,
    STATIC_FUNCTIONS,
    FunctionError,
    scoped_functions,
)
from statemachine.language.jsonata_results import (
    UnsupportedResult,
    evaluation_failed,
    jsonata_message,
    to_json,
    undefined_result,
    unexpected_type,
    unsupported_result,
)
from statemachine.language.scope import MISSING, Scope
from statemachine.language.values import json_type_name

__all__ = [
    "Condition",
    "Expression",
    "JsonataSyntaxError",
    "Template",
    "compile_condition",
    "compile_expression",
    "compile_value",
    "expression_body",
    "is_expression",
]

_Jsonata = _jsonata.Jsonata
_NULL: Final = _Utils.NULL_VALUE
MAX_EVALUATION_STEPS = 1_000_000  # evaluator nodes per evaluation (a few seconds at most)


class JsonataSyntaxError(ValueError):
    """A ``{% ... %}`` field whose JSONata text does not parse."""


class _StepBudget:
    """Counts evaluation steps and stops a runaway expression without reading a clock.

    jsonata-python trampolines tail calls, so ``($f := function(){ $f() }; $f())`` would
    spin forever; a deterministic step budget makes it fail the same way on every replay.
    Bound as the evaluator's ``__evaluate_entry`` hook, which it calls for every node.
    """

    __slots__ = ("left", "steps")

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.left = steps

    def __call__(self, expr: Any, input: Any, environment: Any) -> None:
        self.left -= 1
        if self.left < 0:
            raise FunctionError(
                f"D1012: Evaluation exceeded {self.steps} steps. Check for infinite loop"
            )


# --------------------------------------------------------------------------- delimiters


def is_expression(value: Any) -> bool:
    """True for a string AWS treats as JSONata: it starts with ``{%`` and ends with ``%}``.

    AWS requires no space after ``{%`` or before ``%}``; a leading or trailing blank
    outside the delimiters makes the string a literal (``" {% x %} "``).
    """
    return isinstance(value, str) and len(value) >= 4 and value[:2] == "{%" and value[-2:] == "%}"


def expression_body(text: str) -> str:
    """The JSONata between the delimiters, stripped: what AWS quotes in its messages."""
    return text[2:-2].strip()


# --------------------------------------------------------------------------- expressions


def _walk_symbols(root: Any) -> Iterator[Any]:
    """Every parser Symbol reachable from ``root`` (each once)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, _parser.Parser.Symbol):
            yield node
            stack.extend(v for k, v in vars(node).items() if k != "_outer_instance")
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())


def _referenced_names(ast: Any) -> frozenset[str]:
    """Names of the ``$variables`` an expression mentions (functions included)."""
    return frozenset(
        str(sym.value)
        for sym in _walk_symbols(ast)
        if getattr(sym, "type", None) == "variable" and sym.value
    )


def _parse_jsonata(body: str, text: str) -> Any:
    try:
        program = _Jsonata(body)
    except _jexception.JException as err:
        where = f" (position {err.location})" if err.location and err.location > 0 else ""
        raise JsonataSyntaxError(
            f"Invalid JSONata expression '{text}': {jsonata_message(err)}{where}"
        ) from None
    except Exception as err:  # noqa: BLE001 - the parser fails internally on some malformed input
        raise JsonataSyntaxError(f"Invalid JSONata expression '{text}': {err}") from None
    if program.errors:
        raise JsonataSyntaxError(f"Invalid JSONata expression '{text}': {program.errors[0]}")
    program.set_output_convert_nulls(False)
    return program


class Expression:
    """One parsed ``{% ... %}`` expression, shared by every definition that uses the text."""

    __slots__ = ("_program", "_scoped", "_static", "_uses_states", "names", "source", "text")

    def __init__(self, source: str) -> None:
        self.source = source
        self.text = expression_body(source)
        if not self.text:
            raise JsonataSyntaxError(f"Invalid JSONata expression '{source}': it is empty")
        self._program = _parse_jsonata(self.text, self.text)
        self.names = _referenced_names(self._program.ast)
        self._static = {k: v for k, v in STATIC_FUNCTIONS.items() if k in self.names}
        self._scoped = frozenset(self.names & SCOPED_FUNCTIONS.keys())
        self._uses_states = "states" in self.names

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def _bindings(self, scope: Scope) -> dict[str, Any]:
        bindings = dict(self._static)
        bindings["__evaluate_entry"] = _StepBudget(MAX_EVALUATION_STEPS)
        if self._scoped:
            bindings.update(scoped_functions(scope, self._scoped))
        variables = scope.variables
        for name in self.names:
            if name in variables:
                value = variables[name]
                bindings[name] = _NULL if value is None else value
        if self._uses_states:
            states: dict[str, Any] = {"input": scope.input, "context": scope.context}
            if scope.result is not MISSING:
                states["result"] = scope.result
            if scope.error_output is not MISSING:
                states["errorOutput"] = scope.error_output
            bindings["states"] = states
        return bindings

    def evaluate_raw(self, scope: Scope, field: str) -> Any:
        """The result as plain JSON, or MISSING when it is undefined."""
        try:
            raw = self._program.evaluate(None, self._bindings(scope))
        except Exception as err:  # noqa: BLE001 - every evaluator failure is a workflow error
            raise evaluation_failed(self.text, field, err) from None
        try:
            return to_json(raw)
        except UnsupportedResult:
            raise unsupported_result(self.text, field) from None
        except Exception as err:  # noqa: BLE001 - so is a failure to convert the result
            raise evaluation_failed(self.text, field, err) from None

    def evaluate(self, scope: Scope, field: str) -> Any:
        """The result as plain JSON; an undefined result is an error, as on AWS."""
        value = self.evaluate_raw(scope, field)
        if value is MISSING:
            raise undefined_result(self.text, field)
        return value


@lru_cache(maxsize=8192)
def compile_expression(text: str) -> Expression:
    """Parse a whole ``{% ... %}`` string once; the same text gives the same object."""
    if not is_expression(text):
        raise JsonataSyntaxError(f"'{text}' is not a JSONata expression: it must be {{% ... %}}")
    return Expression(text)


# --------------------------------------------------------------------------- templates


def _copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (cheaper than ``copy.deepcopy``)."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value

class _Node:
    """One compiled part of a field value."""

    __slots__ = ()
    constant = True

    def evaluate(self, scope: Scope, field: str) -> Any:
        raise NotImplementedError


class _Literal(_Node):
    __slots__ = ("mutable", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.mutable = isinstance(value, (dict, list))

    def evaluate(self, scope: Scope, field: str) -> Any:
        return _copy_json(self.value) if self.mutable else self.value


class _ExpressionNode(_Node):
    __slots__ = ("expression",)
    constant = False

    def __init__(self, expression: Expression) -> None:
        self.expression = expression

    def evaluate(self, scope: Scope, field: str) -> Any:
        return self.expression.evaluate(scope, field)


class _ObjectNode(_Node):
    __slots__ = ("members",)
    constant = False

    def __init__(self, members: list[tuple[str, _Node]]) -> None:
        self.members = members

    def evaluate(self, scope: Scope, field: str) -> Any:
        return {key: node.evaluate(scope, f"{field}/{key}") for key, node in self.members}


class _ArrayNode(_Node):
    __slots__ = ("items",)
    constant = False

    def __init__(self, items: list[_Node]) -> None:
        self.items = items

    def evaluate(self, scope: Scope, field: str) -> Any:
        return [node.evaluate(scope, f"{field}/{i}") for i, node in enumerate(self.items)]


def _compile_node(value: Any) -> _Node:
    if is_expression(value):
        return _ExpressionNode(compile_expression(value))
    if isinstance(value, dict):
        members = [(str(k), _compile_node(v)) for k, v in value.items()]
        if all(node.constant for _, node in members):
            return _Literal(_copy_json(value))
        return _ObjectNode(members)
    if isinstance(value, list):
        items = [_compile_node(v) for v in value]
        if all(node.constant for node in items):
            return _Literal(_copy_json(value))
        return _ArrayNode(items)
    return _Literal(value)


class Template:
    """A compiled JSONata-state field value: any JSON where strings may be ``{% %}``."""

    __slots__ = ("_root",)

    def __init__(self, root: _Node) -> None:
        self._root = root

    @property
    def is_constant(self) -> bool:
        """True when no expression occurs anywhere in the value."""
        return self._root.constant

    @property
    def expression(self) -> Expression | None:
        """The expression when the whole value is a single ``{% %}`` string."""
        root = self._root
        return root.expression if isinstance(root, _ExpressionNode) else None

    @property
    def names(self) -> frozenset[str]:
        """Every ``$name`` (variable or function) the value's expressions mention."""
        found: set[str] = set()
        stack: list[_Node] = [self._root]
        while stack:
            node = stack.pop()
            if isinstance(node, _ExpressionNode):
                found |= node.expression.names
            elif isinstance(node, _ObjectNode):
                stack.extend(n for _, n in node.members)
            elif isinstance(node, _ArrayNode):
                stack.extend(node.items)
        return frozenset(found)

    def evaluate(self, scope: Scope, field: str) -> Any:
        """The value with every expression evaluated; ``field`` names it in errors."""
        return self._root.evaluate(scope, field)

    def evaluate_expecting(self, scope: Scope, field: str, expected: str) -> Any:
        """Like :meth:`evaluate`, but a single expression must give a JSON ``expected`` type.

        ``expected`` is a :func:`json_type_name` (``array`` for Map ``Items``...).  A
        mismatch raises AWS's "returned an unexpected result type" error; a literal of the
        wrong type is the validator's business and is returned as is.
        """
        value = self._root.evaluate(scope, field)
        expression = self.expression
        if expression is not None and json_type_name(value) != expected:
            raise unexpected_type(expression.text, field, expected, value)
        return value


def compile_value(value: Any) -> Template:
    """Compile a field value (Arguments, Output, Assign, Items, ...) once per definition.

    Raises :class:`JsonataSyntaxError` for the first expression that does not parse.
    """
    return Template(_compile_node(value))


# --------------------------------------------------------------------------- Choice conditions


class Condition:
    """A Choice rule's ``Condition``: a boolean, or a JSONata expression giving one."""

    __slots__ = ("constant", "expression")

    def __init__(self, expression: Expression | None, constant: bool = False) -> None:
        self.expression = expression
        self.constant = constant

    @property
    def text(self) -> str:
        """The expression text, or ``true``/``false`` for a literal condition."""
        if self.expression is None:
            return "true" if self.constant else "false"
        return self.expression.text

    def test(self, scope: Scope, field: str = "Condition") -> bool:
        """Whether the rule matches; a non-boolean result is a QueryEvaluationError."""
        if self.expression is None:
            return self.constant
        value = self.expression.evaluate(scope, field)
        if not isinstance(value, bool):
            raise unexpected_type(self.expression.text, field, "boolean", value)
        return value


def compile_condition(value: str | bool) -> Condition:
    """Compile a Choice rule's ``Condition``: a ``{% ... %}`` string or a literal boolean.

    Anything else raises :class:`JsonataSyntaxError` (AWS rejects it at definition time).
    """
    if isinstance(value, bool):
        return Condition(None, value)
    if not is_expression(value):
        raise JsonataSyntaxError(
            f"A Condition must be a boolean or a JSONata expression {{% ... %}}, got {value!r}"
        )
    return Condition(compile_expression(value))
