"""The checks of one field's value, and the diagnostics they collect.

A JSONPath (``$.a``, ``$$.Execution.Id``, ``$var.x``), a ``ResultPath`` reference
path, an intrinsic function call, a JSONPath payload template (``"key.$": ...``),
the ``{% %}`` strings of a JSONata value, a ``Resource`` ARN or URL, a timestamp.
:class:`FieldChecker` is the base of the validator's checker
(:mod:`statemachine.language.validate`), which walks the machine and its states and
calls these for each field; none of them raises on malformed input.
"""

from __future__ import annotations

import re
from typing import Any

from statemachine.errors import Diagnostic
from statemachine.language import items as _items
from statemachine.language.source import pointer_join
from statemachine.language.validate_tables import (
    BAD_INTRINSIC,
    BAD_JSONATA,
    BAD_PATH,
    BAD_RESOURCE,
    DUPLICATE_FIELD,
    JSONATA,
    QUERY_LANGUAGE,
    SCHEMA,
)

__all__ = ["FieldChecker"]

_MATH_FUNCTIONS = {"States.MathAdd": "number", "States.MathRandom": "number",
                   "States.ArrayRange": "number"}

_PLACEHOLDER = re.compile(r"\$\{[^{}]*\}")
_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|z|[+-]\d{2}:\d{2})$"
)
# "\0" marks where a ${...} placeholder stood (see _resource_problem).
_LAMBDA_NAME = re.compile(r"^[A-Za-z0-9_.\0-]+$")
_LAMBDA_QUALIFIER = re.compile(r"^(?:\$LATEST|[A-Za-z0-9_\0-]+)$")


def _language_modules() -> tuple[Any, Any, Any]:
    """The expression parsers, imported on first use (they are large and optional here)."""
    from statemachine.language import intrinsics, jsonata, paths

    return paths, intrinsics, jsonata


class FieldChecker:
    """Checks field values one at a time and collects what is wrong with them."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.paths, self.intrinsics, self.jsonata = _language_modules()

    def report(self, pointer: str, code: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(pointer, code, message))

    def reader_config(self, config: dict[str, Any], pointer: str) -> None:
        """An ItemReader's ``ReaderConfig``, past the schema: a ``CSVDelimiter`` of AWS's names,
        ``CSVHeaders`` when ``GIVEN``, a constant ``MaxItems`` of at most 100,000,000."""
        delimiter = config.get("CSVDelimiter")
        if delimiter is not None and delimiter not in _items.DELIMITERS:
            self.report(pointer_join(pointer, "CSVDelimiter"), SCHEMA,
                        f"CSVDelimiter must be one of {', '.join(_items.DELIMITERS)}")
        if config.get("CSVHeaderLocation") == "GIVEN" and not config.get("CSVHeaders"):
            self.report(pointer_join(pointer, "CSVHeaders"), SCHEMA,
                        "CSVHeaderLocation GIVEN needs CSVHeaders (a list of strings)")
        most = config.get("MaxItems")
        if isinstance(most, int) and not isinstance(most, bool) and most > _items.MAX_ITEMS_LIMIT:
            self.report(pointer_join(pointer, "MaxItems"), SCHEMA,
                        f"MaxItems must be at most {_items.MAX_ITEMS_LIMIT}")

    def writer_config(self, writer: dict[str, Any], pointer: str, language: str) -> None:
        """A ``ResultWriter``, past the schema, as AWS checks it: not empty (a ``Resource``
        with its ``Parameters``/``Arguments``, a ``WriterConfig``, or all three), the one
        resource ``s3:putObject``, ``WriterConfig``'s enums (the schema knows its fields)."""
        arguments = "Arguments" if language == JSONATA else "Parameters"
        resource, config = writer.get("Resource"), writer.get("WriterConfig")
        if resource is None and config is None:
            self.report(pointer, SCHEMA, "ResultWriter must have a Resource with "
                                         f"{arguments}, a WriterConfig, or all three")
        if resource is not None and arguments not in writer:
            self.report(pointer, SCHEMA, f"ResultWriter's Resource needs {arguments} "
                                         "(Bucket and Prefix)")
        if isinstance(resource, str) and "${" not in resource and resource != _items.PUT_OBJECT:
            self.report(pointer_join(pointer, "Resource"), SCHEMA,
                        f"ResultWriter's Resource must be {_items.PUT_OBJECT} (got '{resource}')")
        if config is None:
            return
        where = pointer_join(pointer, "WriterConfig")
        if not isinstance(config, dict):
            self.report(where, SCHEMA, "WriterConfig must be an object")
            return
        for field, allowed in (("OutputType", _items.OUTPUT_TYPES),
                               ("Transformation", _items.TRANSFORMATIONS)):
            if field in config and config[field] not in allowed:
                self.report(pointer_join(where, field), SCHEMA,
                            f"{field} must be one of {', '.join(allowed)} (got {config[field]!r})")

    def path(self, value: Any, pointer: str, field: str) -> Any:
        """A JSONPath (``$.a``, ``$$.Execution.Id``, ``$var.x``); returns it compiled."""
        if not isinstance(value, str) or "${" in value:
            return None
        try:
            return self.paths.compile_path(value)
        except ValueError as exc:
            self.report(pointer, BAD_PATH, f"'{field}' is not a valid JSONPath: {exc}")
            return None

    def reference_path(self, value: Any, pointer: str) -> None:
        """``ResultPath``: names one place in the state's data (no ``$$``, no variables)."""
        if not isinstance(value, str) or "${" in value:
            return
        text = value.strip()
        if not text.startswith("$") or text[1:2] not in ("", ".", "["):
            self.report(pointer, BAD_PATH,
                        f"'ResultPath' must be a reference path into the state's data such as "
                        f"'$.result' (got '{value}')")
            return
        compiled = self.path(value, pointer, "ResultPath")
        if compiled is not None and not getattr(compiled, "is_reference", True):
            self.report(pointer, BAD_PATH,
                        f"'ResultPath' must name a single place: no wildcards, filters or "
                        f"slices (got '{value}')")

    def intrinsic(self, value: str, pointer: str) -> None:
        try:
            call = self.intrinsics.parse_intrinsic(value)
        except ValueError as exc:
            self.report(pointer, BAD_INTRINSIC, str(exc))
            return
        self._literal_types(call, pointer)

    def _literal_types(self, call: Any, pointer: str) -> None:
        """Literal arguments of the math functions must be numbers (a path may be anything)."""
        if getattr(call, "name", None) not in _MATH_FUNCTIONS:
            return
        for arg in getattr(call, "args", ()):
            if getattr(arg, "path", None) is not None or hasattr(arg, "name"):
                continue
            value = getattr(arg, "value", None)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.report(pointer, BAD_INTRINSIC,
                            f"{call.name} takes numbers, but its argument {value!r} in "
                            f"'{call.text}' is not one")

    def template(self, value: Any, pointer: str) -> None:
        """A JSONPath payload template: ``.$`` keys hold paths or intrinsic calls."""
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.template(item, pointer_join(pointer, i))
            return
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            child = pointer_join(pointer, key)
            if not key.endswith(".$"):
                self.template(item, child)
                continue
            if key[:-2] in value:
                self.report(child, DUPLICATE_FIELD,
                            f"'{key}' and '{key[:-2]}' would be the same field once the '.$' "
                            "suffix is removed")
            if not isinstance(item, str):
                self.report(child, SCHEMA, f"the value of '{key}' must be a string holding a "
                                           "path or an intrinsic function")
            elif item.startswith("States."):
                self.intrinsic(item, child)
            elif "${" not in item:
                self._template_path(item, child, key)

    def _template_path(self, text: str, pointer: str, key: str) -> None:
        try:
            self.paths.compile_path(text)
        except ValueError as exc:
            self.report(pointer, BAD_PATH,
                        f"the value of '{key}' must be a JSONPath or an intrinsic function: {exc}")

    def jsonata_value(self, value: Any, pointer: str) -> None:
        """Every ``{% %}`` string inside ``value`` must parse as JSONata."""
        if isinstance(value, str):
            self._jsonata_string(value, pointer)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.jsonata_value(item, pointer_join(pointer, i))
        elif isinstance(value, dict):
            for key, item in value.items():
                self.jsonata_value(item, pointer_join(pointer, key))

    def _jsonata_string(self, value: str, pointer: str) -> None:
        if self.jsonata.is_expression(value):
            try:
                self.jsonata.compile_expression(value)
            except ValueError as exc:
                self.report(pointer, BAD_JSONATA, f"invalid JSONata expression: {exc}")
        elif value.startswith("{%") or value.endswith("%}"):
            self.report(pointer, BAD_JSONATA,
                        f"malformed JSONata expression {value!r}: write it as {{% expression %}}")

    def sub_path(self, obj: dict[str, Any], field: str, pointer: str, language: str) -> None:
        """``obj[field]``, a ``...Path`` field of a sub-object: a JSONPath, not in JSONata."""
        if field not in obj:
            return
        if language == JSONATA:
            self.report(pointer_join(pointer, field), QUERY_LANGUAGE,
                        f"'{field}' is not allowed when QueryLanguage is JSONata "
                        f"(use '{field.removesuffix('Path')}' with a {{% %}} expression)")
        else:
            self.path(obj[field], pointer_join(pointer, field), field)

    def payload(self, value: Any, pointer: str, language: str) -> None:
        """A payload in the language in force: JSONata strings or a JSONPath template."""
        if language == JSONATA:
            self.jsonata_value(value, pointer)
        else:
            self.template(value, pointer)

    def timestamp(self, value: Any, pointer: str, field: str, language: str) -> None:
        """An RFC 3339 timestamp, a ``${...}`` placeholder or (JSONata) an expression."""
        if not isinstance(value, str):
            return
        if "${" in value or _TIMESTAMP.match(value):
            return
        if language == JSONATA and self.jsonata.is_expression(value):
            return
        self.report(pointer, SCHEMA,
                    f"'{field}' must be an RFC 3339 timestamp such as "
                    f"'2026-01-31T12:00:00Z' (got '{value}')")

    def resource(self, value: Any, pointer: str) -> None:
        """A Task, ItemReader or ResultWriter ``Resource``: an ARN or an http(s) URL."""
        if not isinstance(value, str):
            return  # a CloudFormation intrinsic object, or a schema error
        problem = _resource_problem(value)
        if problem:
            self.report(pointer, BAD_RESOURCE, f"'Resource' {problem} (got '{value}')")


def _resource_problem(text: str) -> str | None:
    """Why ``text`` is not a usable Task resource, or None when it is.

    ``${...}`` placeholders stand for any text (``arn:${AWS::Partition}:states:::...``).
    """
    masked = _PLACEHOLDER.sub("\0", text)
    if "${" in masked:
        return "has an unterminated ${...} placeholder"
    if masked.startswith(("\0", "http://", "https://")):
        return None  # a leading placeholder may stand for a whole ARN or base URL
    if not masked.startswith("arn:"):
        return "must be an ARN (arn:partition:service:region:account:resource) or an http(s) URL"
    parts = masked.split(":", 5)
    if len(parts) < 6 or not parts[1] or not parts[2] or not parts[5]:
        return "is not a complete ARN (arn:partition:service:region:account:resource)"
    if parts[2] == "lambda" and parts[5].startswith("function:"):
        name, colon, qualifier = parts[5][len("function:"):].partition(":")
        if not _LAMBDA_NAME.match(name):
            return "names an invalid Lambda function"
        if colon and not _LAMBDA_QUALIFIER.match(qualifier):
            return "has an invalid Lambda version or alias"
    return None
