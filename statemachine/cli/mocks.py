"""``cli.py mocks EXECUTION_ID [--case NAME] [--machine NAME]``: a recorded execution's task
answers as a mock config in Step Functions Local's format, on stdout.

One test case (``--case``, default ``Recorded``) of one machine (``--machine``, default the
execution's) answers each Task state as the execution saw it, attempt by attempt: what
``TaskSucceeded`` carried (the raw result, before ResultSelector and ResultPath) or the
error and cause of ``TaskFailed``/``TaskTimedOut``; callback answers too.  The format counts
attempts per state: a state answered differently in different Map iterations keeps its
first entry's answers, and stderr says so.  Feed it to ``cli.py run --mock-config``.
Exit 0; 2 for an unknown execution or an unreachable API; 1 when the API refuses.
"""

from __future__ import annotations

import argparse
import json
import sys

from statemachine.cli import recorded
from statemachine.cli.client import ApiError, Unreachable, add_api_options, connect, report
from statemachine.testing.record import mock_config, recorded_calls


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    add_api_options(parser)
    parser.add_argument("execution_id", metavar="EXECUTION_ID", help="the recorded execution")
    parser.add_argument("--case", default="Recorded",
                        help="the test case's name (default %(default)s)")
    parser.add_argument("--machine", metavar="NAME",
                        help="the machine's name under StateMachines (default: the execution's "
                        "state machine; cli.py run looks for the definition file's stem)")


def main(args: argparse.Namespace) -> int:
    client = connect(args)
    try:
        described = recorded.execution(client, args.execution_id)
        events = recorded.history(client, args.execution_id)
    except recorded.NotFound as exc:
        print(f"statemachine mocks: {exc}", file=sys.stderr)
        return 2
    except (Unreachable, ApiError) as exc:
        return report("mocks", exc)
    machine = args.machine or str(described.get("stateMachine", ""))
    config, warnings = mock_config(recorded_calls(events), machine, args.case)
    for warning in warnings:
        print(f"statemachine mocks: warning: {warning}", file=sys.stderr)
    sys.stdout.write(json.dumps(config, indent=2) + "\n")
    return 0
