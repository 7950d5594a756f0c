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

The grammar (and :class:`PathSyntaxError`) lives in
:mod:`~statemachine.language.path_syntax`, the step kinds and the lenient evaluation
of indefinite paths in :mod:`~statemachine.language.path_steps`, and the
Java-flavoured JSON text of values and failures in
:mod:`~statemachine.language.java_json`.
"""

from __future__ import annotations

from typing import Any

from statemachine.language.java_json import compact_json, java_class, java_string
from statemachine.language.path_steps import (
    INDEX,
    KEY,
    ROOT_CONTEXT,
    ROOT_INPUT,
    Step,
    evaluate_steps,
    normal_step,
)
from statemachine.language.path_syntax import PathSyntaxError, parse_path
from statemachine.language.scope import MISSING, Scope, StatesError

__all__ = [
    "Path",
    "PathNotFound",
    "apply_result_path",
    "compile_path",
    "not_found_in_input",
    "select",
]

_JAVA_PROVIDER = "com.jayway.jsonpath.spi.json.JsonSmartJsonProvider"


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
        self._normal = tuple(normal_step(step) for step in steps)

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
        return list(evaluate_steps(self.steps, 0, root, root))

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
            f"{self._prefix(i)} but found '{java_class(node)}'. This is not a json object "
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


def compile_path(text: str) -> Path:
    """Parse a JSONPath once; raises :class:`PathSyntaxError` when it is malformed."""
    return Path(*parse_path(text))


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
