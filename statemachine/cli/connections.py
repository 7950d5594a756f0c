"""``cli.py connections create | list | describe | delete``: the credentials HTTP tasks use.

A connection is created once, by an admin, and named in definitions by its ARN
(``Authentication: {"ConnectionArn": ...}`` of an ``arn:aws:states:::http:invoke`` task),
so no secret sits in a definition::

    cli.py connections create --name stripe --type API_KEY \\
        --api-key-name X-Api-Key --api-key-value -        # the value read from stdin
    cli.py connections create --name crm --type BASIC --username u --password -
    cli.py connections create --name idp --type OAUTH_CLIENT_CREDENTIALS \\
        --client-id ID --client-secret - --authorization-endpoint https://idp/oauth2/token
    cli.py connections create --name x --type API_KEY --auth-parameters @params.json

``--auth-parameters`` takes EventBridge's AuthParameters as JSON (or ``@file``), e.g. to
add ``InvocationHttpParameters``.  A secret given as ``-`` is read from standard input, so
it stays out of the shell history and the process list.  Every command prints JSON (never
a secret: the API does not give them back); exit codes as for ``cli.py start``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from statemachine.cli.client import ApiError, Unreachable, add_api_options, connect, report

__all__ = ["configure", "main"]

TYPES = ("API_KEY", "BASIC", "OAUTH_CLIENT_CREDENTIALS")


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    add_api_options(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="store a connection")
    create.add_argument("--name", required=True, help="connection name (A-Z a-z 0-9 . - _)")
    create.add_argument("--type", required=True, choices=TYPES, help="authorization type")
    create.add_argument("--description", help="what the connection is for")
    create.add_argument("--auth-parameters", metavar="JSON|@FILE",
                        help="EventBridge AuthParameters as JSON text or @file (instead of the "
                        "options below)")
    for option, text in (("--api-key-name", "API_KEY: the header name"),
                         ("--api-key-value", "API_KEY: the header value ('-': from stdin)"),
                         ("--username", "BASIC: user name"),
                         ("--password", "BASIC: password ('-': from stdin)"),
                         ("--client-id", "OAUTH: client id"),
                         ("--client-secret", "OAUTH: client secret ('-': from stdin)"),
                         ("--authorization-endpoint", "OAUTH: token URL")):
        create.add_argument(option, help=text)
    create.add_argument("--http-method", default="POST", choices=("GET", "POST", "PUT"),
                        help="OAUTH_CLIENT_CREDENTIALS: method of the token request")
    actions.add_parser("list", help="list connections")
    for action, text in (("describe", "show one connection (without secrets)"),
                         ("delete", "delete a connection")):
        actions.add_parser(action, help=text).add_argument("connection", metavar="NAME")


def main(args: argparse.Namespace) -> int:
    client = connect(args)
    try:
        match args.action:
            case "create":
                body: dict[str, Any] = {"name": args.name, "authorizationType": args.type,
                                        "authParameters": auth_parameters(args)}
                if args.description is not None:
                    body["description"] = args.description
                _print(client.call("POST", "/v1/connections", body))
            case "list":
                _print(client.call("GET", "/v1/connections"))
            case "describe":
                _print(client.call("GET", f"/v1/connections/{_quote(args.connection)}"))
            case "delete":
                _print(client.call("DELETE", f"/v1/connections/{_quote(args.connection)}"))
        return 0
    except (Unreachable, ApiError) as exc:
        return report("connections", exc)
    except ValueError as exc:
        print(f"statemachine connections: {exc}", file=sys.stderr)
        return 2


def auth_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """EventBridge AuthParameters from ``--auth-parameters`` or the per-type options."""
    if args.auth_parameters is not None:
        text = args.auth_parameters
        if text.startswith("@"):
            text = Path(text[1:]).read_text(encoding="utf-8")
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"--auth-parameters is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError("--auth-parameters must be a JSON object")
        return value
    match args.type:
        case "API_KEY":
            return {"ApiKeyAuthParameters": {
                "ApiKeyName": _needed(args, "api_key_name"),
                "ApiKeyValue": _secret(_needed(args, "api_key_value"))}}
        case "BASIC":
            return {"BasicAuthParameters": {
                "Username": _needed(args, "username"),
                "Password": _secret(_needed(args, "password"))}}
        case _:
            return {"OAuthParameters": {
                "AuthorizationEndpoint": _needed(args, "authorization_endpoint"),
                "HttpMethod": args.http_method,
                "ClientParameters": {"ClientID": _needed(args, "client_id"),
                                     "ClientSecret": _secret(_needed(args, "client_secret"))}}}


def _needed(args: argparse.Namespace, field: str) -> str:
    value = getattr(args, field)
    if value is None:
        raise ValueError(f"--type {args.type} needs --{field.replace('_', '-')} "
                         "(or give --auth-parameters)")
    return str(value)


def _secret(value: str) -> str:
    """``-`` reads the secret from standard input (its first line)."""
    return sys.stdin.readline().rstrip("\r\n") if value == "-" else value


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")
