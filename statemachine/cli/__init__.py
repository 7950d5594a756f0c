"""The command line: ``python cli.py <command> ...`` (also installed as ``statemachine``).

Each command lives in its own module with ``configure(parser)`` and ``main(args) -> int``;
modules are imported only when their command runs, so ``validate`` never pays for aiohttp.
"""

from __future__ import annotations

import argparse
import importlib
import sys

DESCRIPTION = "The command line: python cli.py COMMAND ... (also installed as statemachine)."
"""What ``--help`` says first: plain text, not the docstring's markup."""

COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("statemachine.cli.validate", "validate definitions (JSON or YAML)"),
    "run": ("statemachine.cli.run", "run one execution in memory, no Redis"),
    "define": ("statemachine.cli.define",
               "register definitions (YAML or JSON files) with a running serve"),
    "machines": ("statemachine.cli.define", "list the state machines a running serve holds"),
    "mocks": ("statemachine.cli.mocks",
              "a recorded execution's task answers as a mock config (Step Functions Local's format)"),
    "replay": ("statemachine.cli.replay",
               "replay recorded executions against a new definition: compatible, or where it diverges"),
    "serve": ("statemachine.cli.serve", "run the REST API and workers"),
    "worker": ("statemachine.cli.serve", "run a standalone worker process"),
    "start": ("statemachine.cli.client", "start an execution over the API"),
    "describe": ("statemachine.cli.client", "describe an execution"),
    "history": ("statemachine.cli.client", "print an execution's history"),
    "logs": ("statemachine.cli.logs",
             "print an execution's log (as its machine's loggingConfiguration says); --follow"),
    "list": ("statemachine.cli.client", "list executions"),
    "redrive": ("statemachine.cli.client",
                "resume a FAILED, TIMED_OUT or ABORTED execution where it failed"),
    "dead-letters": ("statemachine.cli.client",
                     "list the work items the workers gave up on; --requeue ID puts one back"),
    "versions": ("statemachine.cli.catalog",
                 "a state machine's published versions: list, --publish, --delete N"),
    "aliases": ("statemachine.cli.catalog",
                "a state machine's aliases: list, --create/--update/--delete ALIAS"),
    "keys": ("statemachine.cli.keys", "manage API keys: create --role R [--name N] | list | revoke ID"),
    "connections": ("statemachine.cli.connections",
                    "manage the credentials HTTP tasks use: create, list, describe, delete"),
    "demo": ("statemachine.cli.demo", "serve stand-ins for the examples' outside services; approve reviews"),
    "bench": ("statemachine.cli.bench", "run the benchmark workloads"),
    "up": ("statemachine.cli.bootstrap", "install everything, then serve (the README's first command)"),
    "test": ("statemachine.cli.bootstrap", "install everything, then run the tests (the README's second)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="statemachine", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        if argv and argv[0] not in ("-h", "--help"):
            print(f"statemachine: unknown command {argv[0]!r}", file=sys.stderr)
            parser.print_help(sys.stderr)
            return 2
        parser.print_help()
        return 0
    module_name, help_text = COMMANDS[argv[0]]
    module = importlib.import_module(module_name)
    command_parser = argparse.ArgumentParser(prog=f"statemachine {argv[0]}", description=help_text)
    module.configure(command_parser, argv[0])
    try:
        if getattr(module, "PASSTHROUGH", False):  # up/test hand their options on unparsed
            args, extra = command_parser.parse_known_args(argv[1:])
            args.rest = extra + list(args.rest)
        else:
            args = command_parser.parse_args(argv[1:])
    except SystemExit as exc:  # argparse exits 2 on bad usage; keep its code
        return int(exc.code or 0)
    args.command = argv[0]
    return int(module.main(args) or 0)
