"""``statemachine validate FILE...``: check definitions without running them.

Prints one line per problem, ``FILE:LINE: /json/pointer: message`` (``:LINE`` where
known), then one line per file saying whether it is valid; or with ``--json`` a JSON
document listing every file and its diagnostics.  ``${Name}`` values come from the
``substitutions.env`` beside each file, then ``--sub``; a placeholder left unfilled is a
warning (an error with ``--strict``).  ``--resources`` reports instead which resources each
definition calls and whether this runtime performs them (:mod:`statemachine.cli.resources`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from statemachine.errors import DefinitionError, Diagnostic
from statemachine.language.substitutions import parse_substitutions, substitutions_for

__all__ = ["check_file", "configure", "main", "parse_substitutions"]

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2

EPILOG = (
    "exit status: 0 when every file is valid, 1 when some definition is invalid, "
    "2 when a file cannot be read (missing, unreadable, not UTF-8) or on bad usage; "
    "an unfilled ${...} placeholder is a warning, an error with --strict"
)


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    """Add the ``validate`` arguments to ``parser``."""
    parser.epilog = EPILOG
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSON or YAML definitions")
    parser.add_argument("--json", action="store_true", help="print the diagnostics as JSON")
    parser.add_argument(
        "--sub", action="append", default=[], metavar="NAME=VALUE",
        help="replace ${NAME} placeholders before validating (repeatable; wins over the "
        "substitutions.env beside the file)",
    )
    parser.add_argument("--strict", action="store_true",
                        help="count an unfilled ${...} placeholder as an error")
    parser.add_argument(
        "--resources", action="store_true",
        help="instead of validating, report the resources each definition calls and whether "
        "this runtime performs them (exit 1 when one is unsupported)")


def check_file(path: str, substitutions: dict[str, str]) -> list[Diagnostic]:
    """Load and validate one file; loading problems come back as diagnostics too."""
    return check(path, substitutions)[0]


def check(path: str, substitutions: dict[str, str]) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """One file's problems, and its warnings (the ``${...}`` placeholders left unfilled)."""
    from statemachine.language.source import load_file, unfilled_placeholders
    from statemachine.language.validate import validate

    try:
        source = load_file(path, substitutions=substitutions)
    except DefinitionError as exc:
        return list(exc.diagnostics), []
    return validate(source.definition, source=source), unfilled_placeholders(source)


def main(args: argparse.Namespace) -> int:
    """Validate every file; see :data:`EPILOG` for the exit status."""
    try:
        parse_substitutions(args.sub)
        per_file = {path: substitutions_for(path, args.sub) for path in args.files}
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        print(f"statemachine validate: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.resources:
        from statemachine.cli import resources

        return resources.main(args.files, per_file, args.json)
    status = EXIT_VALID
    report: list[dict[str, Any]] = []
    for path in args.files:
        diagnostics, unfilled = check(path, per_file[path])
        if args.strict:
            diagnostics, unfilled = diagnostics + unfilled, []
        unreadable = any(d.code == "FILE_UNREADABLE" for d in diagnostics)
        if unreadable:
            status = EXIT_UNREADABLE
        elif diagnostics and status == EXIT_VALID:
            status = EXIT_INVALID
        if args.json:
            report.append({"file": path, "valid": not diagnostics,
                           "diagnostics": [_json(d, path) for d in diagnostics],
                           "warnings": [_json(d, path) for d in unfilled]})
        else:
            for diagnostic in diagnostics:
                print(_line(diagnostic, path))
            for warning in unfilled:
                print(_line(warning, path, "warning: "))
            print(_verdict(path, diagnostics, unfilled, unreadable))
    if args.json:
        json.dump({"valid": status == EXIT_VALID, "files": report}, sys.stdout, indent=2)
        print()
    return status


def _line(diagnostic: Diagnostic, path: str, kind: str = "") -> str:
    where = diagnostic.file or path
    if diagnostic.line is not None:
        where += f":{diagnostic.line}"
    return f"{where}: {diagnostic.pointer or '/'}: {kind}{diagnostic.message}"


def _verdict(path: str, problems: list[Diagnostic], warnings: list[Diagnostic],
             unreadable: bool) -> str:
    """The file's closing line: ``valid`` (with its warnings counted), ``invalid`` or
    ``unreadable``."""
    if unreadable:
        return f"{path}: unreadable"
    if problems:
        return f"{path}: invalid ({_count(len(problems), 'problem')})"
    return f"{path}: valid" + (f" ({_count(len(warnings), 'warning')})" if warnings else "")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _json(diagnostic: Diagnostic, path: str) -> dict[str, Any]:
    data = diagnostic.to_json()
    data["file"] = diagnostic.file or path
    return data
