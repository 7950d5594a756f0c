"""The egress options of ``cli.py serve`` and ``cli.py worker``, and where the API listens.

``--egress-allow`` / ``--egress-deny`` (repeatable) replace ``STATEMACHINE_EGRESS_ALLOW`` /
``STATEMACHINE_EGRESS_DENY`` (comma-separated) when given; a malformed rule stops the
command (exit 2).  ``serve`` hands its in-process worker its own listening address and
records it in Redis for every other worker (:mod:`statemachine.runtime.store.listeners`),
so task requests cannot reach the API (see :mod:`statemachine.runtime.invokers.egress`).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from typing import Any

from statemachine.errors import StoreError

__all__ = ["LISTENER_TTL_S", "add_egress_arguments", "announce", "check_egress", "endpoint",
           "with_egress"]


def add_egress_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--egress-allow", action="append", default=None, metavar="RULE",
                        help="let task requests reach RULE (a CIDR, an address or a host name, "
                        "'*.suffix' for subdomains, optionally :port), even where the egress "
                        "policy denies by default (repeatable; default: "
                        "$STATEMACHINE_EGRESS_ALLOW, comma-separated)")
    parser.add_argument("--egress-deny", action="append", default=None, metavar="RULE",
                        help="deny task requests to RULE ('*': everything not allowed) "
                        "(repeatable; default: $STATEMACHINE_EGRESS_DENY, comma-separated)")


def with_egress(settings: Any, args: argparse.Namespace, listening: list[str] | None) -> Any:
    """``settings`` with the egress flags (when given) and the API's ``listening`` addresses."""
    changes: dict[str, Any] = {"api_endpoints": tuple(listening or ())}
    if args.egress_allow is not None:
        changes["egress_allow"] = tuple(args.egress_allow)
    if args.egress_deny is not None:
        changes["egress_deny"] = tuple(args.egress_deny)
    return settings.with_(invokers=replace(settings.invokers, **changes))


LISTENER_TTL_S = 60.0
"""How long a recorded listener holds without renewal (renewed every third of it)."""


async def announce(service: Any, listening: list[str]) -> None:
    """Keep ``sm:listeners`` saying where this API listens, for every worker's egress
    policy (a standalone ``cli.py worker`` learns it there)."""
    while True:
        try:
            await service.announce_listeners(listening, LISTENER_TTL_S)
        except StoreError:
            pass  # Redis away: the next round tries again
        await asyncio.sleep(LISTENER_TTL_S / 3)


def endpoint(host: str, port: int) -> str:
    host = host or "0.0.0.0"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_egress(args: argparse.Namespace) -> str | None:
    """Why the egress rules given (flags, else environment) are unusable, or None."""
    from statemachine.runtime.invokers.base import InvokerSettings
    from statemachine.runtime.invokers.egress import Rule

    env = InvokerSettings.from_env()
    for kind, given, default in (("allow", args.egress_allow, env.egress_allow),
                                 ("deny", args.egress_deny, env.egress_deny)):
        for text in default if given is None else given:
            try:
                Rule.parse(text)
            except ValueError as exc:
                return f"bad egress {kind} rule: {exc}"
    return None
