"""``cli.py define FILE... [--name N] [--sub K=V] [--queue Q]`` and ``cli.py machines``: register
definitions over the REST API straight from their YAML or JSON files, and list them.

``define`` loads each file as ``validate`` does (the ``substitutions.env`` beside it, then
``--sub``), refuses an invalid one with its problems (``FILE:LINE: /pointer: message``),
warns of ``${...}`` placeholders left unfilled, then posts it as the state machine named
``--name`` (one file only) or after the file's stem, with the executions' log level
``--logging`` (and ``--include-execution-data``) when given.  A definition equal to the
machine's latest version (and logging as asked) is left alone, as ``serve`` does, so
defining twice makes no new version.
``--queue`` makes Q the queue of the machine's new executions (README "Worker pools"):
only workers started with ``--queues Q`` take their work; without it the queue stays.

Exit codes: 0 when every file was defined (or unchanged), 1 when the API refused one, 2 for
bad usage, a file that cannot be read or is invalid, or an API that cannot be reached.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from statemachine.cli.client import (
    ApiClient,
    ApiError,
    Unreachable,
    add_api_options,
    connect,
    print_json,
    quote,
    report,
)
from statemachine.cli.tables import table, when
from statemachine.interpreter.execution_log import LogLevel

__all__ = ["configure", "main"]


class _Refused(Exception):
    """A file that cannot be defined; the message is the one line (or lines) to print."""


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    add_api_options(parser)
    if name == "define":
        parser.add_argument("files", nargs="+", metavar="FILE",
                            help="definition files (YAML or JSON)")
        parser.add_argument("--name", help="state machine name (one FILE only; default: the "
                            "file's name without its extension)")
        parser.add_argument("--sub", action="append", default=[], metavar="K=V",
                            help="replace ${K} with V (repeatable; wins over the "
                            "substitutions.env beside the file)")
        parser.add_argument("--queue", metavar="Q",
                            help="the queue whose workers take the machine's work ('default': "
                            "the default queue; without it: left as it is)")
        parser.add_argument("--logging", choices=[level.value for level in LogLevel],
                            metavar="LEVEL", help="the executions' log level: ALL, ERROR, "
                            "FATAL or OFF (default: the version before's; a new machine's OFF)")
        parser.add_argument("--include-execution-data", action="store_true",
                            help="with --logging: keep the events' input and output in the log")
    else:
        parser.add_argument("--json", action="store_true", help="print the API's JSON")


def main(args: argparse.Namespace) -> int:
    if args.command == "define" and args.name and len(args.files) > 1:
        print("statemachine define: --name takes one FILE", file=sys.stderr)
        return 2
    if args.command == "define" and args.include_execution_data and not args.logging:
        print("statemachine define: --include-execution-data goes with --logging",
              file=sys.stderr)
        return 2
    client = connect(args)
    try:
        return _define(client, args) if args.command == "define" else _machines(client, args)
    except (Unreachable, ApiError) as exc:
        return report(args.command, exc)


def _define(client: ApiClient, args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            print(_define_one(client, Path(path), args.name or Path(path).stem, args.sub,
                              _logging(args), args.queue))
        except _Refused as exc:
            print(exc, file=sys.stderr)
            status = 2
        except ApiError as exc:
            status = max(status, report("define", exc))
    return status


def _logging(args: argparse.Namespace) -> dict[str, Any] | None:
    """The loggingConfiguration ``--logging`` asks for (None: the version before's)."""
    if args.logging is None:
        return None
    return {"level": args.logging, "includeExecutionData": args.include_execution_data}


def _define_one(client: ApiClient, path: Path, name: str, pairs: list[str],
                logging: dict[str, Any] | None = None, queue: str | None = None) -> str:
    """Define one file; the line to print.  Raises _Refused for a bad file."""
    from statemachine.cli.validate import check
    from statemachine.errors import DefinitionError
    from statemachine.language.source import load_file
    from statemachine.language.substitutions import substitutions_for

    try:
        substitutions = substitutions_for(path, pairs)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise _Refused(f"statemachine define: {exc}") from None
    problems, unfilled = check(str(path), substitutions)
    unreadable = [d for d in problems if d.code == "FILE_UNREADABLE"]
    if unreadable:
        raise _Refused(f"statemachine define: {path}: {unreadable[0].message}")
    if problems:
        lines = [d.format() if d.file else f"{path}: {d.pointer or '/'}: {d.message}"
                 for d in problems]
        raise _Refused("\n".join(lines) + f"\nstatemachine define: {path} NOT defined")
    for warning in unfilled:
        print(f"warning: {warning.format()}", file=sys.stderr)
    try:
        source = load_file(path, substitutions=substitutions)
    except DefinitionError as exc:  # the file changed since check() read it
        raise _Refused(f"statemachine define: {path}: {exc.diagnostics[0].message}") from None
    latest = _latest(client, name)
    moved = queue is not None and (latest is None or latest.get("queue", "default") != queue)
    if latest is not None and latest.get("definition") == source.definition and not moved and (
            logging is None or latest.get("loggingConfiguration") == logging):
        return f"{name} (version {latest['version']}) unchanged, from {path}"
    # The loaded definition (placeholders filled), so the API stores what was compared.
    body: dict[str, Any] = {"name": name, "definition": source.definition}
    if logging is not None:
        body["loggingConfiguration"] = logging
    if queue is not None:
        body["queue"] = queue
    machine = client.call("POST", "/v1/state-machines", body)
    on = "" if queue is None else f" on queue {queue}"
    return f"defined {name} version {machine['version']} from {path}{on}"


def _latest(client: ApiClient, name: str) -> dict[str, Any] | None:
    try:
        latest: dict[str, Any] = client.call("GET", f"/v1/state-machines/{quote(name)}")
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    return latest


def _machines(client: ApiClient, args: argparse.Namespace) -> int:
    listed = client.call("GET", "/v1/state-machines")
    if args.json:
        print_json(listed)
        return 0
    rows = [[m["name"], str(m["version"]), m.get("type", ""), m.get("queue", "default"),
             when(m.get("createdAt"))] for m in listed["stateMachines"]]
    print(table(["NAME", "VERSION", "TYPE", "QUEUE", "CREATED"], rows,
                empty="no state machines"))
    return 0
