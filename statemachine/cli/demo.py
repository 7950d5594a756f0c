"""``cli.py demo``: serve the example workflows' outside services, or answer their reviews.

``python cli.py demo [--port 8089]`` serves the stand-ins of :mod:`statemachine.demo`
until Ctrl-C.  ``python cli.py demo approve [REVIEW_ID...]`` (or ``reject``) answers the
reviews the demo holds (all undecided ones when no id is given): it sends
``POST /v1/tasks/success`` with ``{"approved": true|false}`` to the statemachine API
(``--api``), then records the decision in the demo.  Exit codes: 0 on success, 1 when an
answer was refused, 2 when the demo or the API cannot be reached.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from statemachine.cli.client import ApiClient, ApiError, Unreachable
from statemachine.demo import DEFAULT_API, DEFAULT_PORT

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("action", nargs="?", choices=("serve", "approve", "reject"),
                        default="serve",
                        help="serve the demo services (default), or approve/reject pending reviews")
    parser.add_argument("reviews", nargs="*", metavar="REVIEW_ID",
                        help="reviews to answer (default: every undecided one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port of the demo services")
    parser.add_argument("--api", default=os.environ.get("STATEMACHINE_API", DEFAULT_API),
                        help="the statemachine API that approvals go to (default: %(default)s)")


def main(args: argparse.Namespace) -> int:
    if args.action == "serve":
        return _serve(args)
    return _answer(args, approved=args.action == "approve")


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from statemachine.demo import DemoServices, substitutions

    services = DemoServices(api=args.api, log=_say)
    base = f"http://{args.host}:{args.port}"
    subs = " ".join(f"{k}={v}" for k, v in substitutions(base).items())
    _say(f"demo: the example workflows' services on {base} (Ctrl-C stops them)\n"
         f"demo: placeholders: {subs}\n"
         f"demo: approvals go to the statemachine API at {args.api}")
    try:
        web.run_app(services.app(), host=args.host, port=args.port, print=None,
                    access_log=None, handle_signals=True)
    except OSError as exc:
        _say(f"statemachine demo: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        return 2
    return 0


def _answer(args: argparse.Namespace, approved: bool) -> int:
    """Send every chosen review's decision to the API and record it in the demo."""
    demo = ApiClient(f"http://{args.host}:{args.port}")
    api = ApiClient(args.api)
    try:
        pending: list[dict[str, Any]] = demo.call("GET", "/reviews")["reviews"]
        chosen = [r for r in pending if not args.reviews or r["reviewId"] in args.reviews]
        missing = set(args.reviews) - {r["reviewId"] for r in chosen}
        if missing:
            _say(f"statemachine demo: no undecided review {', '.join(sorted(missing))}")
        if not chosen and not missing:
            _say("statemachine demo: no review is waiting for a decision")
        refused = 0
        for review in chosen:
            refused += not _decide(api, demo, review, approved)
    except Unreachable as exc:
        _say(f"statemachine demo: {exc}")
        return 2
    return 1 if refused or missing else 0


def _decide(api: ApiClient, demo: ApiClient, review: dict[str, Any], approved: bool) -> bool:
    """One decision: the callback to the API, then the demo's record; False if refused."""
    verdict = "approved" if approved else "rejected"
    try:
        api.call("POST", "/v1/tasks/success",
                 {"taskToken": review["taskToken"], "output": {"approved": approved}})
    except ApiError as exc:
        _say(f"demo: {review['reviewId']}: the API refused the answer: {exc.body}")
        ok = False
    else:
        _say(f"demo: {review['reviewId']} {verdict}")
        ok = True
    demo.call("POST", f"/reviews/{review['reviewId']}/decision", {"approved": approved})
    return ok


def _say(message: str) -> None:
    stream = sys.stderr if message.startswith("statemachine") else sys.stdout
    print(message, file=stream, flush=True)
