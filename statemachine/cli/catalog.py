"""``cli.py versions | aliases``: a state machine's published versions and aliases, over
the REST API of a running ``serve`` (``--api``/``--api-key`` as the other client commands).

::

    versions NAME                         list (newest first)
    versions NAME --publish [--description TEXT]
    versions NAME --delete N
    aliases NAME                          list
    aliases NAME --create ALIAS --route N=WEIGHT [--route N=WEIGHT] [--description TEXT]
    aliases NAME --update ALIAS [--route N=WEIGHT ...] [--description TEXT]
    aliases NAME --delete ALIAS

``cli.py start NAME --version N | --alias ALIAS`` starts through one.  Output is JSON;
exit codes as the other client commands (1: the API refused, 2: bad usage or unreachable).
"""

from __future__ import annotations

import argparse
import sys
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

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    add_api_options(parser)
    parser.add_argument("machine", metavar="NAME", help="state machine name")
    parser.add_argument("--description", help="the version's or alias's description")
    if name == "versions":
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--publish", action="store_true",
                            help="publish the current revision as a version")
        action.add_argument("--delete", type=int, metavar="N", help="delete version N")
    else:
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--create", metavar="ALIAS", help="create this alias")
        action.add_argument("--update", metavar="ALIAS", help="change this alias")
        action.add_argument("--delete", metavar="ALIAS", help="delete this alias")
        parser.add_argument("--route", action="append", default=[], metavar="N=WEIGHT",
                            help="a version and its percentage of starts (once or twice)")


def main(args: argparse.Namespace) -> int:
    client = connect(args)
    base = f"/v1/state-machines/{quote(args.machine)}"
    try:
        if args.command == "versions":
            print_json(_versions(client, base, args))
        else:
            print_json(_aliases(client, base, args))
    except (Unreachable, ApiError) as exc:
        return report(args.command, exc)
    except ValueError as exc:
        print(f"statemachine {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


def _versions(client: ApiClient, base: str, args: argparse.Namespace) -> Any:
    if args.publish:
        body = {} if args.description is None else {"description": args.description}
        return client.call("POST", f"{base}/versions", body)
    if args.delete is not None:
        return client.call("DELETE", f"{base}/versions/{args.delete}")
    return _all(client, f"{base}/versions", "versions")


def _aliases(client: ApiClient, base: str, args: argparse.Namespace) -> Any:
    routing = [_route(text) for text in args.route]
    body: dict[str, Any] = {}
    if routing:
        body["routing"] = routing
    if args.description is not None:
        body["description"] = args.description
    if args.create:
        if not routing:
            raise ValueError("--create needs at least one --route N=WEIGHT")
        return client.call("POST", f"{base}/aliases", {"name": args.create, **body})
    if args.update:
        return client.call("PATCH", f"{base}/aliases/{quote(args.update)}", body)
    if args.delete:
        return client.call("DELETE", f"{base}/aliases/{quote(args.delete)}")
    return _all(client, f"{base}/aliases", "aliases")


def _route(text: str) -> dict[str, int]:
    version, _, weight = text.partition("=")
    if not version.isdigit() or not weight.isdigit():
        raise ValueError(f"--route {text!r}: expected N=WEIGHT, e.g. 3=80")
    return {"version": int(version), "weight": int(weight)}


def _all(client: ApiClient, path: str, field: str) -> dict[str, Any]:
    """Every item of a listing, following its cursors."""
    items: list[Any] = []
    cursor = None
    while True:
        page = client.call("GET", path, query={"limit": 1000, "cursor": cursor})
        items.extend(page[field])
        cursor = page.get("nextCursor")
        if not cursor:
            return {field: items}
