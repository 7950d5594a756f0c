"""``cli.py start | describe | history | list | dead-letters``: talk to a running ``serve``
over its REST API.

The API is ``--api`` (default ``$STATEMACHINE_API``, else http://127.0.0.1:8080); the key
sent is the first of ``--api-key``, ``$STATEMACHINE_API_KEY``, the secret of
``$STATEMACHINE_ADMIN_KEY`` and ``.statemachine/admin.key`` (see
:mod:`statemachine.cli.access`).  Every command prints JSON on stdout, but ``list`` and ``history``, which print a table
unless given ``--json``.  Exit codes: 0 on success (for ``start --wait``: only
when the execution SUCCEEDED), 1 when the execution ended otherwise, the wait timed out
or the API refused the request (its error body goes to stderr), 2 for bad usage or when
the API cannot be reached.

``dead-letters`` lists the work items the workers moved to the dead-letter streams after
``max_deliveries`` failed deliveries; ``dead-letters --requeue ID`` puts one back on its
stream (once the bug or the corrupt record is fixed).

Plain ``urllib``: these commands make a handful of requests, so they need no event loop.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["ApiClient", "ApiError", "Unreachable", "add_api_options", "configure", "connect",
           "main", "print_json", "quote", "report"]

DEFAULT_API = "http://127.0.0.1:8080"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class ApiError(Exception):
    """The API answered with an error status; ``body`` is its JSON error object."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(f"HTTP {status}: {body}")


class Unreachable(Exception):
    """Nothing answered at the API address."""


class ApiClient:
    """A minimal JSON client for the REST API."""

    def __init__(self, base: str, timeout: float = 30.0, key: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, body: Any = None,
             query: dict[str, Any] | None = None) -> Any:
        url = self.base + path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, _decode(exc.read())) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"cannot reach the statemachine API at {self.base}: {reason}") from None
        return _decode(raw) if raw else None


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def add_api_options(parser: argparse.ArgumentParser) -> None:
    """``--api`` and ``--api-key``, which every client command takes."""
    parser.add_argument("--api", default=os.environ.get("STATEMACHINE_API", DEFAULT_API),
                        help="API base URL (default: $STATEMACHINE_API or %(default)s)")
    parser.add_argument("--api-key", metavar="SECRET", default=None,
                        help="the API key's secret (default: $STATEMACHINE_API_KEY, else the "
                        "secret of $STATEMACHINE_ADMIN_KEY, else .statemachine/admin.key)")


def connect(args: argparse.Namespace) -> ApiClient:
    """The client for ``--api`` with the key :func:`~statemachine.cli.access.find_api_key` finds."""
    from statemachine.cli.access import find_api_key

    return ApiClient(args.api, key=find_api_key(args.api_key))


def report(command: str, exc: ApiError | Unreachable) -> int:
    """Print why the API could not be used; the exit code (2 unreachable, 1 refused)."""
    if isinstance(exc, Unreachable):
        print(f"statemachine {command}: {exc}\n(is 'python cli.py serve' running? "
              "pass --api URL or set STATEMACHINE_API)", file=sys.stderr)
        return 2
    print(json.dumps(exc.body, indent=2) if not isinstance(exc.body, str) else exc.body,
          file=sys.stderr)
    if exc.status == 401:
        print(f"statemachine {command}: pass --api-key SECRET or set STATEMACHINE_API_KEY "
              "(or run from the folder whose .statemachine/admin.key serve made)",
              file=sys.stderr)
    return 1


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    add_api_options(parser)
    if name == "start":
        parser.add_argument("machine", metavar="NAME", help="state machine name")
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--input", help="execution input as JSON text (default {})")
        source.add_argument("--input-file", type=Path, help="file holding the input as JSON")
        parser.add_argument("--name", help="execution name (idempotent start)")
        through = parser.add_mutually_exclusive_group()
        through.add_argument("--version", type=int, help="run this published version")
        through.add_argument("--alias", help="run a version this alias picks")
        parser.add_argument("--wait", action="store_true",
                            help="wait for the end; exit 0 only when SUCCEEDED")
        parser.add_argument("--timeout", type=float, default=600.0,
                            help="seconds --wait waits (default %(default)s)")
    elif name == "dead-letters":
        parser.add_argument("--requeue", metavar="ID",
                            help="put this dead letter back on its stream instead of listing")
        parser.add_argument("--limit", type=int, default=100,
                            help="list at most this many (default %(default)s)")
    elif name in ("describe", "history", "redrive"):
        parser.add_argument("execution_id", metavar="ID", help="execution id")
        if name == "history":
            parser.add_argument("--limit", type=int, default=None,
                                help="at most this many events (default: all)")
            parser.add_argument("--json", action="store_true",
                                help="print the events as JSON instead of a table")
        if name == "redrive":
            parser.add_argument("--wait", action="store_true",
                                help="wait for the end; exit 0 only when SUCCEEDED")
            parser.add_argument("--timeout", type=float, default=600.0,
                                help="seconds --wait waits (default %(default)s)")
    else:
        parser.add_argument("--machine", help="only this state machine's executions")
        parser.add_argument("--status", choices=TERMINAL + ("RUNNING",),
                            help="only executions in this status")
        parser.add_argument("--limit", type=int, default=100, help="at most this many")
        parser.add_argument("--json", action="store_true",
                            help="print the API's JSON instead of a table")


def main(args: argparse.Namespace) -> int:
    client = connect(args)
    commands = {"start": _start, "describe": _describe, "history": _history, "list": _list,
                "dead-letters": _dead_letters, "redrive": _redrive}
    try:
        return commands[args.command](client, args)
    except (Unreachable, ApiError) as exc:
        return report(args.command, exc)
    except ValueError as exc:
        print(f"statemachine {args.command}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # --input-file missing or unreadable
        print(f"statemachine {args.command}: {exc.filename or ''}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2


def _start(client: ApiClient, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"input": _read_input(args)}
    if args.name:
        body["name"] = args.name
    for field in ("version", "alias"):
        if getattr(args, field) is not None:
            body[field] = getattr(args, field)
    started = client.call("POST", f"/v1/state-machines/{_quote(args.machine)}/executions", body)
    if not args.wait:
        _print(started)
        return 0
    execution = _wait(client, started["executionId"], args.timeout)
    _print(execution)
    if execution["status"] == "RUNNING":
        print(f"statemachine start: still RUNNING after {args.timeout:g} s", file=sys.stderr)
        return 1
    return 0 if execution["status"] == "SUCCEEDED" else 1


def _redrive(client: ApiClient, args: argparse.Namespace) -> int:
    """Redrive; with ``--wait``, the execution's description once it ends again."""
    redriven = client.call("POST", f"/v1/executions/{_quote(args.execution_id)}/redrive")
    if not args.wait:
        _print(redriven)
        return 0
    execution = _wait(client, redriven["executionId"], args.timeout)
    _print(execution)
    return 0 if execution["status"] == "SUCCEEDED" else 1


def _read_input(args: argparse.Namespace) -> Any:
    if args.input_file is not None:
        text, where = args.input_file.read_text(encoding="utf-8"), str(args.input_file)
    elif args.input is not None:
        text, where = args.input, "--input"
    else:
        return {}
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{where} is not valid JSON: {exc}") from None


def _wait(client: ApiClient, execution_id: str, timeout: float) -> dict[str, Any]:
    """Poll until the execution ends or ``timeout`` passes (backing off to 1 s)."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    path = f"/v1/executions/{_quote(execution_id)}"
    while True:
        execution: dict[str, Any] = client.call("GET", path)
        if execution["status"] in TERMINAL or time.monotonic() >= deadline:
            return execution
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 1.0)


def _describe(client: ApiClient, args: argparse.Namespace) -> int:
    _print(client.call("GET", f"/v1/executions/{_quote(args.execution_id)}"))
    return 0


def _history(client: ApiClient, args: argparse.Namespace) -> int:
    """All events (following cursors), or the first ``--limit``."""
    events: list[Any] = []
    cursor: str | None = None
    path = f"/v1/executions/{_quote(args.execution_id)}/history"
    while args.limit is None or len(events) < args.limit:
        page_size = 1000 if args.limit is None else min(1000, args.limit - len(events))
        page = client.call("GET", path, query={"limit": page_size, "cursor": cursor})
        events.extend(page["events"])
        cursor = page.get("nextCursor")
        if not cursor or not page["events"]:
            break
    if args.json:
        _print({"events": events})
    else:
        from statemachine.cli.views import history_table

        print(history_table(events))
    return 0


def _list(client: ApiClient, args: argparse.Namespace) -> int:
    query = {"stateMachine": args.machine, "status": args.status, "limit": args.limit}
    listed = client.call("GET", "/v1/executions", query=query)
    if args.json:
        _print(listed)
    else:
        from statemachine.cli.views import executions_table

        print(executions_table(listed["executions"]))
    return 0


def _dead_letters(client: ApiClient, args: argparse.Namespace) -> int:
    """List dead letters, newest first (following cursors up to ``--limit``), or requeue one."""
    if args.requeue:
        _print(client.call("POST", f"/v1/dead-letters/{_quote(args.requeue)}/requeue"))
        return 0
    if args.limit < 1:
        raise ValueError("--limit must be at least 1")
    letters: list[Any] = []
    cursor: str | None = None
    while len(letters) < args.limit:
        page = client.call("GET", "/v1/dead-letters",
                           query={"limit": min(1000, args.limit - len(letters)), "cursor": cursor})
        letters.extend(page["deadLetters"])
        cursor = page.get("nextCursor")
        if not cursor:
            break
    _print({"deadLetters": letters})
    return 0


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


quote = _quote
print_json = _print
"""What the other client command modules print and quote with (cli/catalog.py)."""
