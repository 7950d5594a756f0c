"""The dashboard: ``index.html``, ``style.css`` and native ES modules, served under ``/ui/``.

The page is plain HTML/CSS and JavaScript modules (``app.js`` imports the rest; ``pages/``
holds one module per page) with no build step and nothing fetched from the internet;
everything it shows comes from the ``/v1`` JSON API of the same origin.  The handlers here
serve only the files in :data:`ASSETS` (no directory listing, no path traversal), with a
strict Content-Security-Policy: scripts and styles from this origin only, no inline script,
so data that reaches the page can never run as code.

One module is written by the server rather than read from this folder: ``statuses.js``, the
execution statuses of :class:`statemachine.interpreter.records.Status`, so the dashboard
holds no list of its own.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from aiohttp import web

from statemachine.interpreter.records import TERMINAL, Status

__all__ = ["ASSETS", "asset", "index", "redirect", "statuses_module"]

FOLDER = Path(__file__).resolve().parent
STATUSES_MODULE = "statuses.js"
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}

ASSETS: dict[str, str] = {
    **{path.relative_to(FOLDER).as_posix(): CONTENT_TYPES[path.suffix]
       for path in sorted(FOLDER.rglob("*")) if path.suffix in CONTENT_TYPES},
    STATUSES_MODULE: CONTENT_TYPES[".js"],
}
"""Every file the dashboard serves (by its path under ``/ui/``), with its content type."""

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def statuses_module() -> str:
    """``statuses.js``: :class:`Status` as an ES module (``Status``, ``STATUSES``, ``TERMINAL``)."""
    names = [status.value for status in Status]
    terminal = [status.value for status in Status if status in TERMINAL]
    return (
        "/* Written by the server from statemachine.interpreter.records.Status. */\n\n"
        "/** Every execution status by name: Status.RUNNING === \"RUNNING\". */\n"
        f"export const Status = Object.freeze({json.dumps(dict(zip(names, names)))});\n\n"
        "/** Every status, in the order the filters list them. */\n"
        f"export const STATUSES = Object.freeze({json.dumps(names)});\n\n"
        "/** The statuses an execution ends in. */\n"
        f"export const TERMINAL = Object.freeze({json.dumps(terminal)});\n"
    )


@cache
def _read(name: str) -> bytes:
    """A file's bytes, read once per process (the files change only with a new release)."""
    if name == STATUSES_MODULE:
        return statuses_module().encode()
    return (FOLDER / name).read_bytes()


def _serve(name: str) -> web.Response:
    return web.Response(body=_read(name), content_type=ASSETS[name], charset="utf-8",
                        headers=_HEADERS)


async def redirect(request: web.Request) -> web.Response:
    """``GET /``: send a browser to the dashboard."""
    raise web.HTTPFound("/ui/")


async def index(request: web.Request) -> web.Response:
    """``GET /ui/``: the dashboard page."""
    return _serve("index.html")


async def asset(request: web.Request) -> web.Response:
    """``GET /ui/{file}``: one of :data:`ASSETS` (``file`` may name a subfolder); else 404."""
    name = request.match_info["file"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    return _serve(name)
