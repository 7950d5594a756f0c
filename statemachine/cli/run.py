"""``cli.py run FILE``: one execution in this process, in memory, no Redis.

Prints exactly one JSON object on stdout:
``{"status", "output", "error", "cause"}`` (plus ``"history"`` with ``--history``).
Exit 0 when SUCCEEDED, 1 for any other final status, 2 for an invalid
definition or bad usage (the validation messages go to stderr).  ``--skip-time`` runs it on
a virtual clock (see :class:`~statemachine.runtime.local.LocalRunner`).  ``${Name}`` values come
from the ``substitutions.env`` beside the definition, then ``--sub`` (as for ``serve``).
Loading, the mock config's checks and the run itself are :mod:`statemachine.testing.engine`'s,
shared with ``statemachine.testing.run()``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from statemachine.errors import DefinitionError
from statemachine.language.mocks import MockCase
from statemachine.language.substitutions import substitutions_for
from statemachine.language.values import MAX_NESTING, may_nest_deeper_than, nested_deeper_than
from statemachine.testing.engine import (
    diagnostic_line,
    execute,
    load_machine,
    mock_case,
    read_mock_config,
)

if TYPE_CHECKING:
    from statemachine.language.model import Machine

__all__ = ["configure", "load_mock_case", "main", "read_input"]


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("file", help="definition file (JSON or YAML)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", help="execution input as JSON text (default {})")
    source.add_argument("--input-file", help="file holding the execution input as JSON")
    parser.add_argument("--sub", action="append", default=[], metavar="K=V",
                        help="replace ${K} in the definition with V (repeatable; wins over "
                        "the substitutions.env beside the definition)")
    parser.add_argument("--name", help="execution name (default: a random UUID)")
    parser.add_argument("--history", action="store_true", help="include the event history")
    parser.add_argument("--type", choices=("STANDARD", "EXPRESS"), default="STANDARD",
                        help="run it as an execution of this machine type (EXPRESS: an express "
                        "ARN in $$.Execution, no RedriveCount, the 5-minute limit)")
    parser.add_argument("--mock-config", metavar="F",
                        help="a mock config in Step Functions Local's format (MockConfigFile.json): "
                        "the test case's states answer from it, the others run for real")
    parser.add_argument("--test-case", metavar="C", help="the test case of --mock-config to run")
    parser.add_argument("--machine", metavar="NAME",
                        help="the machine's name under StateMachines (default: the file's stem)")
    parser.add_argument("--skip-time", action="store_true",
                        help="run on a virtual clock: whenever nothing is in flight, time jumps "
                        "to the next timer (Wait states, retry intervals, timeouts), and $$ and "
                        "the history show the virtual time")


def read_input(args: argparse.Namespace) -> Any:
    if args.input_file:
        text = Path(args.input_file).read_bytes()
        where = args.input_file
    elif args.input is not None:
        text = args.input.encode()
        where = "--input"
    else:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{where}: not valid JSON: {exc}") from None
    if may_nest_deeper_than(text) and nested_deeper_than(value):  # as the API refuses it
        raise ValueError(f"{where}: the input nests arrays/objects deeper than {MAX_NESTING} levels")
    return value


def load_mock_case(args: argparse.Namespace, machine: Machine) -> MockCase | None:
    """The test case ``--mock-config``/``--test-case`` name (None without them), checked
    against ``machine``; raises ValueError (a one-line message) or OSError."""
    if args.mock_config is None and args.test_case is None:
        if args.machine is not None:
            raise ValueError("--machine needs --mock-config and --test-case")
        return None
    if args.mock_config is None or args.test_case is None:
        raise ValueError("--mock-config and --test-case go together")
    config = read_mock_config(args.mock_config)
    return mock_case(config, args.machine or Path(args.file).stem, args.test_case, machine,
                     args.file)


def main(args: argparse.Namespace) -> int:
    try:
        subs = substitutions_for(args.file, args.sub)
        input_value = read_input(args)
    except (ValueError, OSError) as exc:
        print(f"statemachine run: {exc}", file=sys.stderr)
        return 2
    try:
        machine = load_machine(args.file, subs)
    except DefinitionError as exc:
        for d in exc.diagnostics:
            print(diagnostic_line(d, args.file), file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"statemachine run: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        case = load_mock_case(args, machine)
    except ValueError as exc:  # MockConfigError is one
        print(f"statemachine run: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"statemachine run: {args.mock_config}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    result = asyncio.run(execute(machine, input_value, args.name, Path(args.file).stem,
                                 args.type == "EXPRESS", case, args.skip_time))
    ex = result.execution
    out: dict[str, Any] = {
        "status": ex["status"],
        "output": ex["output"],
        "error": ex["error"],
        "cause": ex["cause"],
    }
    if args.history:
        out["history"] = result.history
    sys.stdout.write(orjson.dumps(out).decode() + "\n")
    return 0 if ex["status"] == "SUCCEEDED" else 1
