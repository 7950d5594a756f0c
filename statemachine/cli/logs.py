"""``cli.py logs ID [--follow]``: an execution's log, read from a running ``serve``
(``GET /v1/executions/{id}/logs``: the events its state machine's ``loggingConfiguration``
logs, in Step Functions' CloudWatch Logs shape).

One line per event: ``<time> <id> <type> <details>`` (``--json``: the event as one JSON
object).  ``--follow`` keeps reading, every ``--interval`` seconds, until the execution has
ended and its log was read to the end.  A machine that logs nothing (level ``OFF``) is said
on stderr.  Exit codes as the other client commands (:mod:`statemachine.cli.client`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from statemachine.cli.client import (
    ApiClient,
    ApiError,
    Unreachable,
    add_api_options,
    connect,
    quote,
    report,
)
from statemachine.interpreter.formats import iso

__all__ = ["configure", "main"]

PAGE = 1000


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    add_api_options(parser)
    parser.add_argument("execution_id", metavar="ID", help="execution id")
    parser.add_argument("--follow", action="store_true",
                        help="keep reading until the execution has ended")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between reads with --follow (default %(default)s)")
    parser.add_argument("--json", action="store_true",
                        help="print each event as one JSON object")


def main(args: argparse.Namespace) -> int:
    if args.interval <= 0:
        print("statemachine logs: --interval must be more than 0", file=sys.stderr)
        return 2
    try:
        return _read(connect(args), args)
    except (Unreachable, ApiError) as exc:
        return report(args.command, exc)


def _read(client: ApiClient, args: argparse.Namespace) -> int:
    path = f"/v1/executions/{quote(args.execution_id)}/logs"
    cursor: str | None = None
    first = True
    while True:
        page = client.call("GET", path, query={"limit": PAGE, "cursor": cursor})
        if first and page["loggingConfiguration"]["level"] == "OFF":
            print(f"statemachine logs: state machine logging is OFF for {page['executionId']} "
                  "(set its loggingConfiguration)", file=sys.stderr)
        first = False
        for event in page["events"]:
            sys.stdout.write(_line(event, args.json) + "\n")
        sys.stdout.flush()
        following = page["nextCursor"]
        if following is None:
            return 0
        if following == cursor:  # the end of a RUNNING execution's log, for now
            if not args.follow:
                return 0
            time.sleep(args.interval)
        cursor = following


def _line(event: dict[str, Any], as_json: bool) -> str:
    if as_json:
        return json.dumps(event)
    details = json.dumps(event["details"]) if "details" in event else ""
    return f"{iso(int(event['event_timestamp']))} {event['id']:>5} {event['type']} {details}"
