"""From the JSONata evaluator back to Step Functions: results as JSON, failures in AWS's words.

jsonata-python returns Python values with its own markers (``None`` for undefined, a
``NULL_VALUE`` for JSON null, range lists, floats for every number) and raises its own
exceptions with jsonata-java's message table.  AWS runs jsonata-js, so what a workflow
sees is converted here: :func:`to_json` gives plain JSON the way ``JSON.stringify``
would, :func:`jsonata_message` words an error code the way jsonata-js does, and the
``States.QueryEvaluationError`` builders give AWS's cause texts.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

# jsonata-python ships no type information ("unused-ignore": under
# --ignore-missing-imports mypy needs none of these ignores).
from jsonata import jexception as _jexception  # type: ignore[import-untyped, unused-ignore]
from jsonata.utils import Utils as _Utils  # type: ignore[import-untyped, unused-ignore]

from statemachine.language.java_json import compact_json
from statemachine.language.scope import MISSING, StatesError
from statemachine.language.values import json_type_name

__all__ = [
    "QUERY_EVALUATION_ERROR",
    "UnsupportedResult",
    "evaluation_failed",
    "jsonata_message",
    "to_json",
    "undefined_result",
    "unexpected_type",
    "unsupported_result",
]

QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"

_NULL: Final = _Utils.NULL_VALUE
_MAX_SAFE_INTEGRAL_FLOAT: Final = 1e21  # JavaScript prints integral doubles below this as digits


class UnsupportedResult(Exception):
    """The result holds a function or regex, which JSON cannot represent."""


# --------------------------------------------------------------------------- JSON conversion


def _number_to_json(value: float) -> int | float:
    """Numbers as JavaScript would serialise them: integral doubles lose their ``.0``."""
    if not math.isfinite(value):
        raise _jexception.JException("D1001", -1, value)
    if value.is_integer() and abs(value) < _MAX_SAFE_INTEGRAL_FLOAT:
        return int(value)
    return value


def to_json(value: Any) -> Any:
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
            converted = to_json(item)
            if converted is not MISSING:
                out[key] = converted
        return out
    if isinstance(value, _Utils.RangeList):  # its __iter__ stops one short; index instead
        value = [value[i] for i in range(len(value))]
    if isinstance(value, list):
        return [None if (c := to_json(item)) is MISSING else c for item in value]
    raise UnsupportedResult()


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
        return compact_json(to_json(value) if value is not None else None)
    except (UnsupportedResult, TypeError, ValueError, _jexception.JException):
        return str(value)


def jsonata_message(err: _jexception.JException) -> str:
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
        return jsonata_message(err)
    if isinstance(err, ZeroDivisionError):
        return "D1001: Number out of range: null"
    if isinstance(err, RecursionError):
        return jsonata_message(_jexception.JException("D1011", -1))
    return str(err) or type(err).__name__


def evaluation_failed(text: str, field: str, err: Exception) -> StatesError:
    """The evaluator raised ``err`` while evaluating ``text`` for ``field``."""
    return StatesError(
        QUERY_EVALUATION_ERROR,
        f"The JSONata expression '{text}' specified for the field '{field}' "
        f"threw an error during evaluation. {_error_message(err)}",
    )


def undefined_result(text: str, field: str) -> StatesError:
    """``text`` gave JSONata's undefined where ``field`` needs a value."""
    return StatesError(
        QUERY_EVALUATION_ERROR,
        f"The JSONata expression '{text}' specified for the field '{field}' "
        "returned nothing (undefined).",
    )


def unsupported_result(text: str, field: str) -> StatesError:
    """``text`` gave something JSON cannot hold (a function, a regex)."""
    return StatesError(
        QUERY_EVALUATION_ERROR,
        f"The JSONata expression '{text}' specified for the field '{field}' "
        "returned an unsupported result type.",
    )


def unexpected_type(text: str, field: str, expected: str, value: Any) -> StatesError:
    """``text`` gave ``value`` where ``field`` needs a JSON ``expected`` (a type name)."""
    return StatesError(
        QUERY_EVALUATION_ERROR,
        f"The JSONata expression '{text}' specified for the field '{field}' returned an "
        f"unexpected result type. Expected '{expected}', but was '{json_type_name(value)}' "
        f"for value: {compact_json(value)}",
    )
