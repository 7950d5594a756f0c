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
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import lru_cache, partial
from typing import Any, Final

from jsonata import jexception as _jexception  # type: ignore[import-untyped]
from jsonata import jsonata as _jsonata  # type: ignore[import-untyped]
from jsonata import parser as _parser  # type: ignore[import-untyped]
from jsonata.functions import Functions as _Functions  # type: ignore[import-untyped]
from jsonata.utils import Utils as _Utils  # type: ignore[import-untyped]

from statemachine.language.scope import MISSING, Scope, StatesError
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
    "json_type_name",
]

QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"

_Jsonata = _jsonata.Jsonata
_NULL: Final = _Utils.NULL_VALUE
_MAX_SAFE_INTEGRAL_FLOAT: Final = 1e21  # JavaScript prints integral doubles below this as digits
MAX_EVALUATION_STEPS = 1_000_000  # evaluator nodes per evaluation (a few seconds at most)


class JsonataSyntaxError(ValueError):
    """A ``{% ... %}`` field whose JSONata text does not parse."""


class _FunctionError(Exception):
    """Raised by the AWS-specific functions; the message becomes part of the cause."""


class _StepBudget:
    """Counts evaluation steps and stops a runaway expression without reading a clock.

    jsonata-python trampolines tail calls, so ``($f := function(){ $f() }; $f())`` would
    spin forever; a deterministic step budget makes it fail the same way on every replay.
    Bound as the evaluator's ``__evaluate_entry`` hook, which it calls for every node.
    """

    __slots__ = ("steps", "left")

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.left = steps

    def __call__(self, expr: Any, input: Any, environment: Any) -> None:  # noqa: A002
        self.left -= 1
        if self.left < 0:
            raise _FunctionError(
                f"D1012: Evaluation exceeded {self.steps} steps. Check for infinite loop"
            )


class _UnsupportedResult(Exception):
    """The result holds a function or regex, which JSON cannot represent."""


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


# --------------------------------------------------------------------------- JSON conversion


def _number_to_json(value: float) -> int | float:
    """Numbers as JavaScript would serialise them: integral doubles lose their ``.0``."""
    if not math.isfinite(value):
        raise _jexception.JException("D1001", -1, value)
    if value.is_integer() and abs(value) < _MAX_SAFE_INTEGRAL_FLOAT:
        return int(value)
    return value


def _to_json(value: Any) -> Any:
    """Convert an evaluation result to plain JSON; MISSING for JSONata's undefined.

    Inside objects an undefined member is dropped and inside arrays it becomes null, which
    is what ``JSON.stringify`` does with the JavaScript evaluator AWS runs.
    """
    if value is None:
        return MISSING
    if value is _NULL:
        return None
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _number_to_json(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            converted = _to_json(item)
            if converted is not MISSING:
                out[key] = converted
        return out
    if isinstance(value, _Utils.RangeList):  # its __iter__ stops one short; index instead
        value = [value[i] for i in range(len(value))]
    if isinstance(value, list):
        return [None if (c := _to_json(item)) is MISSING else c for item in value]
    raise _UnsupportedResult()


def _copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (cheaper than ``copy.deepcopy``)."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


def _compact(value: Any) -> str:
    """Compact JSON as AWS prints values inside messages."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- error messages

_ARRAY_OF: Final = {
    "a": "arrays",
    "b": "booleans",
    "f": "functions",
    "n": "numbers",
    "o": "objects",
    "s": "strings",
}
_PLACEHOLDER = re.compile(r"\{\{\{?(\w+)\}?\}\}")


def _insert(name: str, raw: bool, value: Any) -> str:
    """One ``{{name}}`` insert of a JSONata message, rendered like jsonata-js does."""
    if name == "type" and isinstance(value, str):
        value = _ARRAY_OF.get(value, value)
    if raw:
        return str(value)
    try:
        return _compact(_to_json(value) if value is not None else None)
    except (_UnsupportedResult, TypeError, ValueError, _jexception.JException):
        return str(value)


def _jsonata_message(err: _jexception.JException) -> str:
    """``CODE: message`` with jsonata-js wording.

    jsonata-python's message table says ``Object`` where jsonata-js says ``function`` and
    fills inserts with ``str()``; jsonata-js quotes them as JSON (``"sum"``).  The inserts
    are the exception's positional details, in the order they appear in the template.
    """
    template = _jexception.JException.error_codes.get(err.error)
    if template is None:
        return f"{err.error}: {err}"
    template = re.sub(r"\bObject\b", "function", template)
    details = [err.current, err.expected, err.extra]
    position = iter(range(len(details)))

    def fill(match: re.Match[str]) -> str:
        index = next(position, None)
        value = details[index] if index is not None else None
        return _insert(match.group(1), match.group(0).startswith("{{{"), value)

    return f"{err.error}: {_PLACEHOLDER.sub(fill, template)}"


def _error_message(err: Exception) -> str:
    """The part of AWS's cause after ``threw an error during evaluation. ``."""
    if isinstance(err, _jexception.JException):
        return _jsonata_message(err)
    if isinstance(err, ZeroDivisionError):
        return "D1001: Number out of range: null"
    if isinstance(err, RecursionError):
        return _jsonata_message(_jexception.JException("D1011", -1))
    return str(err) or type(err).__name__


def _evaluation_failed(text: str, field: str, err: Exception) -> StatesError:
    return StatesError(
        QUERY_EVALUATION_ERROR,
        f"The JSONata expression '{text}' specified for the field '{field}' "
        f"threw an error during evaluation. {_error_message(err)}",
    )


def _undefined(text: str, field: str) -> StatesError:
    return StatesError(
        QUERY_EVALUATION_ERROR,
        f"The JSONata expression '{text}' specified for the field '{field}' "
        "returned nothing (undefined).",
    )


def _unsupported(text: str, field: str) -> StatesError:
    return StatesError(
        QUERY_EVALUATION_ERROR,
        f"The JSONata expression '{text}' specified for the field '{field}' "
        "returned an unsupported result type.",
    )


def _unexpected_type(text: str, field: str, expected: str, value: Any) -> StatesError:
    return StatesError(
        QUERY_EVALUATION_ERROR,
        f"The JSONata expression '{text}' specified for the field '{field}' returned an "
        f"unexpected result type. Expected '{expected}', but was '{json_type_name(value)}' "
        f"for value: {_compact(value)}",
    )


# --------------------------------------------------------------------------- AWS functions


class _Native(_Jsonata.JFunctionCallable):  # type: ignore[misc]
    """Adapts a Python callable taking the evaluated argument list to a JSONata function."""

    __slots__ = ("_impl",)

    def __init__(self, impl: Callable[[list[Any]], Any]) -> None:
        self._impl = impl

    def call(self, input: Any, args: Sequence[Any] | None) -> Any:  # noqa: A002 (library API)
        return self._impl(list(args) if args is not None else [])


def _function(impl: Callable[[list[Any]], Any], signature: str | None = None) -> Any:
    """A JSONata function value; without a signature ``impl`` checks its arguments."""
    return _Jsonata.JFunction(_Native(impl), signature)


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
        raise _FunctionError("The chunk size argument of $partition must be a positive integer")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _range(args: list[Any]) -> Any:
    """``$range(start, end, step)``: inclusive of ``end`` when a step lands on it.

    Returned as a JSONata sequence, so a single value collapses to that value as AWS
    shows (``$range(1, 9, 9)`` is ``1``).
    """
    _arity("range", args, 3, 3)
    start, end, step = (_integer_argument("range", args, i) for i in range(3))
    if step == 0:
        raise _FunctionError("The step argument of $range must not be zero")
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
        raise _FunctionError(
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
        raise _FunctionError(f"Unable to parse the argument of $parse as JSON: {err}") from None
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


_SCOPED_FUNCTIONS: Final[dict[str, Callable[[Scope, list[Any]], Any]]] = {
    "random": _random,
    "uuid": _uuid,
    "now": _now,
    "millis": _millis,
    "shuffle": _shuffle,
}


def _scoped_functions(scope: Scope, names: frozenset[str]) -> dict[str, Any]:
    """Function values bound to ``scope`` for the clock/entropy functions an expression uses."""
    return {name: _function(partial(_SCOPED_FUNCTIONS[name], scope)) for name in names}


_STATIC_FUNCTIONS: Final[dict[str, Any]] = {
    "partition": _function(_partition),
    "range": _function(_range),
    "hash": _function(_hash),
    "parse": _function(_parse),
    "number": _function(_number, "<(nsb)-:n>"),
    "eval": None,
}


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
            f"Invalid JSONata expression '{text}': {_jsonata_message(err)}{where}"
        ) from None
    except Exception as err:  # the parser has internal failures on some malformed input
        raise JsonataSyntaxError(f"Invalid JSONata expression '{text}': {err}") from None
    if program.errors:
        raise JsonataSyntaxError(f"Invalid JSONata expression '{text}': {program.errors[0]}")
    program.set_output_convert_nulls(False)
    return program


class Expression:
    """One parsed ``{% ... %}`` expression, shared by every definition that uses the text."""

    __slots__ = ("text", "source", "names", "_program", "_static", "_scoped", "_uses_states")

    def __init__(self, source: str) -> None:
        self.source = source
        self.text = expression_body(source)
        if not self.text:
            raise JsonataSyntaxError(f"Invalid JSONata expression '{source}': it is empty")
        self._program = _parse_jsonata(self.text, self.text)
        self.names = _referenced_names(self._program.ast)
        self._static = {k: v for k, v in _STATIC_FUNCTIONS.items() if k in self.names}
        self._scoped = frozenset(self.names & _SCOPED_FUNCTIONS.keys())
        self._uses_states = "states" in self.names

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def _bindings(self, scope: Scope) -> dict[str, Any]:
        bindings = dict(self._static)
        bindings["__evaluate_entry"] = _StepBudget(MAX_EVALUATION_STEPS)
        if self._scoped:
            bindings.update(_scoped_functions(scope, self._scoped))
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
        except Exception as err:  # every evaluator failure becomes a workflow error
            raise _evaluation_failed(self.text, field, err) from None
        try:
            return _to_json(raw)
        except _UnsupportedResult:
            raise _unsupported(self.text, field) from None
        except Exception as err:
            raise _evaluation_failed(self.text, field, err) from None

    def evaluate(self, scope: Scope, field: str) -> Any:
        """The result as plain JSON; an undefined result is an error, as on AWS."""
        value = self.evaluate_raw(scope, field)
        if value is MISSING:
            raise _undefined(self.text, field)
        return value


@lru_cache(maxsize=8192)
def compile_expression(text: str) -> Expression:
    """Parse a whole ``{% ... %}`` string once; the same text gives the same object."""
    if not is_expression(text):
        raise JsonataSyntaxError(f"'{text}' is not a JSONata expression: it must be {{% ... %}}")
    return Expression(text)


# --------------------------------------------------------------------------- templates


class _Node:
    """One compiled part of a field value."""

    __slots__ = ()
    constant = True

    def evaluate(self, scope: Scope, field: str) -> Any:
        raise NotImplementedError


class _Literal(_Node):
    __slots__ = ("value", "mutable")

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
            raise _unexpected_type(expression.text, field, expected, value)
        return value


def compile_value(value: Any) -> Template:
    """Compile a field value (Arguments, Output, Assign, Items, ...) once per definition.

    Raises :class:`JsonataSyntaxError` for the first expression that does not parse.
    """
    return Template(_compile_node(value))


# --------------------------------------------------------------------------- Choice conditions


class Condition:
    """A Choice rule's ``Condition``: a boolean, or a JSONata expression giving one."""

    __slots__ = ("expression", "constant")

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
            raise _unexpected_type(self.expression.text, field, "boolean", value)
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
