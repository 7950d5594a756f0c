"""``cli.py keys create --role R [--name N] | list | revoke ID``: manage API keys over the API.

Needs an admin key (found like every client command's: see :mod:`statemachine.cli.access`).
``create`` prints the new key with its secret — the only time the secret is shown: keep
it, the service stores it encrypted and cannot show it again.  Exit codes as the other
client commands: 0 done, 1 refused by the API, 2 bad usage or the API unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse

from statemachine.cli.client import ApiError, Unreachable, add_api_options, connect, report
from statemachine.security.roles import Role

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="make a key; prints its secret once")
    create.add_argument("--role", required=True, choices=[role.value for role in Role],
                        help="viewer reads; operator also starts, stops, redrives, answers "
                        "tasks; admin may do everything")
    create.add_argument("--name", default=None, help="a name for people (at most 80 characters)")
    actions.add_parser("list", help="list the keys (never their secrets)")
    revoke = actions.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id", metavar="ID", help="the key's id (SMK...)")
    for sub in actions.choices.values():
        add_api_options(sub)


def main(args: argparse.Namespace) -> int:
    client = connect(args)
    try:
        match args.action:
            case "create":
                body = {"role": args.role, **({"name": args.name} if args.name else {})}
                answer = client.call("POST", "/v1/keys", body)
                print("statemachine keys: the secret is shown this once; keep it",
                      file=sys.stderr)
            case "list":
                answer = client.call("GET", "/v1/keys")
            case _:
                answer = client.call("DELETE",
                                     f"/v1/keys/{urllib.parse.quote(args.key_id, safe='')}")
    except (Unreachable, ApiError) as exc:
        return report("keys", exc)
    sys.stdout.write(json.dumps(answer, indent=2) + "\n")
    return 0
