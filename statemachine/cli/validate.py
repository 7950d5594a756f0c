"""``statemachine validate FILE...``: check definitions without running them.

Prints one line per problem, ``FILE:LINE: /json/pointer: message`` (``:LINE`` where
known), or with ``--json`` a JSON document listing every file and its diagnostics.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from statemachine.errors import DefinitionError, Diagnostic

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2

EPILOG = (
    "exit status: 0 when every file is valid, 1 when some definition is invalid, "
    "2 when a file cannot be read (missing, unreadable, not UTF-8) or on bad usage"
)


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    """Add the ``validate`` arguments to ``parser``."""
    parser.epilog = EPILOG
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSON or YAML definitions")
    parser.add_argument("--json", action="store_true", help="print the diagnostics as JSON")
    parser.add_argument(
        "--sub", action="append", default=[], metavar="NAME=VALUE",
        help="replace ${NAME} placeholders before validating (repeatable)",
    )


def parse_substitutions(pairs: list[str]) -> dict[str, str]:
    """``["A=1", "B=x=y"]`` -> ``{"A": "1", "B": "x=y"}``; raises ValueError on ``"A"``."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--sub expects NAME=VALUE, got {pair!r}")
        result[name] = value
    return result


def check_file(path: str, substitutions: dict[str, str]) -> list[Diagnostic]:
    """Load and validate one file; loading problems come back as diagnostics too."""
    from statemachine.language.source import load_file
    from statemachine.language.validate import validate

    try:
        source = load_file(path, substitutions=substitutions)
    except DefinitionError as exc:
        return list(exc.diagnostics)
    return validate(source.definition, source=source)


def main(args: argparse.Namespace) -> int:
    """Validate every file; see :data:`EPILOG` for the exit status."""
    try:
        substitutions = parse_substitutions(args.sub)
    except ValueError as exc:
        print(f"statemachine validate: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    status = EXIT_VALID
    report: list[dict[str, Any]] = []
    for path in args.files:
        diagnostics = check_file(path, substitutions)
        unreadable = any(d.code == "FILE_UNREADABLE" for d in diagnostics)
        if unreadable:
            status = EXIT_UNREADABLE
        elif diagnostics and status == EXIT_VALID:
            status = EXIT_INVALID
        if args.json:
            report.append({"file": path, "valid": not diagnostics,
                           "diagnostics": [_json(d, path) for d in diagnostics]})
        else:
            for diagnostic in diagnostics:
                print(_line(diagnostic, path))
    if args.json:
        json.dump({"valid": status == EXIT_VALID, "files": report}, sys.stdout, indent=2)
        print()
    return status


def _line(diagnostic: Diagnostic, path: str) -> str:
    where = diagnostic.file or path
    if diagnostic.line is not None:
        where += f":{diagnostic.line}"
    return f"{where}: {diagnostic.pointer or '/'}: {diagnostic.message}"


def _json(diagnostic: Diagnostic, path: str) -> dict[str, Any]:
    data = diagnostic.to_json()
    data["file"] = diagnostic.file or path
    return data
