"""``cli.py run FILE``: one execution in this process, in memory, no Redis.

Prints exactly one JSON object on stdout:
``{"status", "output", "error", "cause"}`` (plus ``"history"`` with ``--history``).
Exit 0 when SUCCEEDED, 1 for any other final status, 2 for an invalid
definition or bad usage (the validation messages go to stderr).  ``${Name}`` values come
from the ``substitutions.env`` beside the definition, then ``--sub`` (as for ``serve``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

from statemachine.cli.substitutions import substitutions_for
from statemachine.errors import DefinitionError
from statemachine.language.values import MAX_NESTING, may_nest_deeper_than, nested_deeper_than


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


def load_machine(path: str, subs: dict[str, str]) -> Any:
    """Load, validate and compile a definition; raises DefinitionError."""
    from statemachine.language.model import compile_machine
    from statemachine.language.source import load_file
    from statemachine.language.validate import validate

    source = load_file(path, substitutions=subs)
    problems = validate(source.definition, source=source)
    if problems:
        raise DefinitionError(problems)
    return compile_machine(source.definition)


async def execute(machine: Any, input: Any, name: str | None, machine_name: str,
                  express: bool = False) -> Any:
    from statemachine.runtime.invokers import Invokers, InvokerSettings
    from statemachine.runtime.local import LocalRunner

    invokers = Invokers(InvokerSettings.from_env())
    try:
        runner = LocalRunner(machine, invokers.invoke, name=machine_name, express=express)
        return await runner.run(input, execution_name=name)
    finally:
        await invokers.close()


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
            print(d.format() if d.file else f"{args.file}{':' + str(d.line) if d.line else ''}: "
                  f"{d.pointer or '/'}: {d.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"statemachine run: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    result = asyncio.run(execute(machine, input_value, args.name, Path(args.file).stem,
                                 args.type == "EXPRESS"))
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
