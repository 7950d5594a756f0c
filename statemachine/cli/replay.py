"""``cli.py replay EXECUTION_ID... --definition NEW.yaml`` (or ``--last N --machine NAME``):
would a new definition have done what the recorded executions did?

Each execution's input and recorded task answers (callbacks too) go into NEW on the
in-memory runner, on a virtual clock (see :mod:`statemachine.testing.replay`); the new
history is compared with the recorded one.  Per execution the report says ``compatible`` or
where they part first: the recorded event id and state, what was recorded there, what NEW
does now.  ``--json`` prints the same as one JSON object.  Exit 0 when every execution is
compatible, 1 when one diverges, 2 for bad input (a missing or invalid definition, an
unknown execution or machine, a running execution, an unreachable API).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from statemachine.cli import recorded
from statemachine.cli.client import ApiError, Unreachable, add_api_options, connect, report
from statemachine.errors import DefinitionError
from statemachine.language.substitutions import substitutions_for
from statemachine.testing.engine import load_machine
from statemachine.testing.replay import ReplayResult, replay


class BadInput(Exception):
    """One line to print, then exit 2."""


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    add_api_options(parser)
    parser.add_argument("execution_ids", metavar="EXECUTION_ID", nargs="*",
                        help="recorded executions to replay")
    parser.add_argument("--definition", metavar="FILE", required=True,
                        help="the new definition (JSON or YAML)")
    parser.add_argument("--last", type=int, metavar="N",
                        help="replay the last N finished executions of --machine instead")
    parser.add_argument("--machine", metavar="NAME", help="the state machine for --last")
    parser.add_argument("--sub", action="append", default=[], metavar="K=V",
                        help="replace ${K} in the definition with V (as for run)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def main(args: argparse.Namespace) -> int:
    try:
        machine = _definition(args)
        client = connect(args)
        recordings = _recordings(client, args)
    except BadInput as exc:
        print(f"statemachine replay: {exc}", file=sys.stderr)
        return 2
    except (Unreachable, ApiError) as exc:
        return report("replay", exc)
    results = [asyncio.run(replay(machine, events, execution_id=execution_id,
                                  name=str(described.get("name") or execution_id),
                                  machine_name=str(described.get("stateMachine", ""))))
               for execution_id, described, events in recordings]
    if args.json:
        sys.stdout.write(json.dumps(_as_json(args.definition, results), indent=2) + "\n")
    else:
        print(_as_text(args.definition, results))
    return 0 if all(r.divergence is None for r in results) else 1


def _definition(args: argparse.Namespace) -> Any:
    if args.execution_ids and args.last is not None:
        raise BadInput("give execution ids or --last N --machine NAME, not both")
    if not args.execution_ids and args.last is None:
        raise BadInput("give execution ids, or --last N --machine NAME")
    if args.last is not None and (args.machine is None or args.last < 1):
        raise BadInput("--last N needs N >= 1 and --machine NAME")
    if not Path(args.definition).is_file():
        raise BadInput(f"{args.definition}: no such file")
    try:
        return load_machine(args.definition, substitutions_for(args.definition, args.sub))
    except DefinitionError as exc:
        first = exc.diagnostics[0]
        more = f" (and {len(exc.diagnostics) - 1} more problems)" if len(exc.diagnostics) > 1 else ""
        raise BadInput(f"{args.definition}: {first.pointer or '/'}: {first.message}{more}") from None
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        raise BadInput(f"{args.definition}: {exc.strerror or exc}") from None


def _recordings(client: Any, args: argparse.Namespace) -> list[tuple[str, dict[str, Any],
                                                                     list[dict[str, Any]]]]:
    """Every execution to replay, fetched before any is replayed (bad input fails first)."""
    try:
        ids = (args.execution_ids if args.last is None
               else recorded.last_finished(client, args.machine, args.last))
        found = []
        for execution_id in ids:
            described = recorded.execution(client, execution_id)
            if described.get("status") == "RUNNING":
                raise BadInput(f"execution '{execution_id}' is still RUNNING: replay compares "
                               "finished executions")
            found.append((execution_id, described, recorded.history(client, execution_id)))
    except recorded.NotFound as exc:
        raise BadInput(str(exc)) from None
    if not found:
        raise BadInput(f"state machine '{args.machine}' has no finished executions")
    return found


def _as_json(definition: str, results: list[ReplayResult]) -> dict[str, Any]:
    return {
        "definition": definition,
        "compatible": all(r.divergence is None for r in results),
        "executions": [
            {"executionId": r.execution_id, "compatible": r.divergence is None,
             "replayStatus": r.status,
             "divergence": None if r.divergence is None else {
                 "eventId": r.divergence.event_id, "state": r.divergence.state,
                 "recorded": r.divergence.recorded, "now": r.divergence.now}}
            for r in results],
    }


def _as_text(definition: str, results: list[ReplayResult]) -> str:
    lines = []
    for r in results:
        d = r.divergence
        if d is None:
            lines.append(f"{r.execution_id}  compatible")
            continue
        lines += [f"{r.execution_id}  diverges at event {d.event_id}, state {d.state}",
                  f"    recorded: {d.recorded}", f"    now:      {d.now}"]
    diverging = sum(1 for r in results if r.divergence is not None)
    lines.append(f"{len(results)} replayed against {Path(definition).name}: "
                 f"{len(results) - diverging} compatible, {diverging} diverging")
    return "\n".join(lines)
