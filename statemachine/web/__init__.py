"""The dashboard: ``index.html``, ``app.js`` and ``style.css``, served under ``/ui/``.

The page is plain HTML/JS/CSS with no build step and nothing fetched from the internet;
everything it shows comes from the ``/v1`` JSON API of the same origin.  The handlers here
serve only the files named in :data:`ASSETS` (no directory listing, no path traversal),
with a strict Content-Security-Policy: scripts and styles from this origin only, no inline
script, so data that reaches the page can never run as code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from aiohttp import web

__all__ = ["ASSETS", "asset", "index", "redirect"]

FOLDER = Path(__file__).resolve().parent

ASSETS: dict[str, str] = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "style.css": "text/css",
}
"""Every file the dashboard serves, with its content type."""

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def _read(name: str) -> bytes:
    """A file's bytes, read once per process (the files change only with a new release)."""
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
    """``GET /ui/{file}``: one of :data:`ASSETS`; anything else is 404."""
    name = request.match_info["file"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    return _serve(name)
