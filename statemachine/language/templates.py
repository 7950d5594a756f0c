"""JSONPath payload templates: ``Parameters``, ``ResultSelector``, ``ItemSelector``,
a Map's legacy ``Parameters`` and ``Assign`` in JSONPath states.

A template is any JSON value.  In an object, a key ending in ``.$`` takes its
value from a path (``$.x``, ``$$.x``, ``$var.x``) or an intrinsic call
(``States.Format(...)``), and loses its ``.$`` in the output; every other value
is copied as written.  :func:`compile_template` walks the value once and parses
every path and call; :meth:`Template.render` then only evaluates.

Rendering builds new objects and arrays for every literal container, so the
template is never shared with its output.  Values read from the input are shared
with it, not copied: JSON values are immutable by convention here (see
:func:`statemachine.language.paths.apply_result_path`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from statemachine.language.intrinsics import Intrinsic, is_intrinsic, parse_intrinsic
from statemachine.language.path_syntax import PathSyntaxError
from statemachine.language.paths import PathNotFound, compile_path, not_found_in_input
from statemachine.language.scope import Scope

__all__ = ["Template", "compile_template"]

Render = Callable[[Scope], Any]


class Template:
    """A compiled payload template; ``source`` is the value it was built from."""

    __slots__ = ("_render", "source")

    def __init__(self, source: Any, render: Render) -> None:
        self.source = source
        self._render = render

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    def render(self, scope: Scope) -> Any:
        """The payload for ``scope``: a fresh value each call.

        A path that matches nothing fails with ``States.Runtime`` and AWS's
        ``The JSONPath '$.x' specified for the field 'x.$' could not be found in
        the input '...'``; intrinsic failures keep their own error.
        """
        return self._render(scope)


def compile_template(value: Any) -> Template:
    """Compile a payload template; raises ``PathSyntaxError``/``IntrinsicSyntaxError``."""
    return Template(value, _compile(value))


def _compile(value: Any) -> Render:
    if isinstance(value, dict):
        return _compile_object(value)
    if isinstance(value, list):
        items = [_compile(item) for item in value]
        return lambda scope: [item(scope) for item in items]
    return lambda scope: value


def _compile_object(source: dict[str, Any]) -> Render:
    fields: list[tuple[str, Render]] = []
    for key, value in source.items():
        if key.endswith(".$"):
            fields.append((key[:-2], _compile_expression(key, value)))
        else:
            fields.append((key, _compile(value)))
    return lambda scope: {name: render(scope) for name, render in fields}


def _compile_expression(key: str, text: Any) -> Render:
    """The value of a ``key.$`` field: a path or an intrinsic call."""
    if not isinstance(text, str):
        raise PathSyntaxError(
            f"the value of '{key}' must be a JSONPath or an intrinsic function string"
        )
    if is_intrinsic(text):
        call = parse_intrinsic(text)
        return _guarded(key, call)
    path = compile_path(text)
    return _guarded(key, path.get)


def _guarded(key: str, evaluate: Intrinsic | Render) -> Render:
    """Re-word a failed path lookup the way AWS does for template fields."""

    def render(scope: Scope) -> Any:
        try:
            return evaluate(scope)
        except PathNotFound as missing:
            raise not_found_in_input(missing.path, key, scope.input) from None

    return render
