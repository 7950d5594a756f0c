"""Whether a browser request comes from the service's own pages.

A session cookie is sent by the browser whatever page made the request; ``SameSite=Strict``
stops other *sites*, but a page on another port of the same host (another local server)
is the same site.  So a request authenticated by the cookie must also show it comes from
our origin: ``Sec-Fetch-Site`` (sent by current browsers on every request) must be
``same-origin`` or ``none`` (typed in the address bar), and ``Origin`` (sent on every
non-GET request) must be this service's own.  A request carrying neither header is not
from a current browser's page: it passes for reads only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["from_own_origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_OWN_SITES = frozenset(("same-origin", "none"))


def _netloc(scheme: str, host: str) -> tuple[str, int | None] | None:
    """``(host, port)`` of a Host header or an origin's host part, default port filled in."""
    try:
        parts = urlsplit(f"{scheme}://{host}")
        return (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None


def from_own_origin(origin: str | None, fetch_site: str | None, host: str,
                    scheme: str, reading: bool) -> bool:
    """Whether a cookie-authenticated request may proceed.

    ``host`` and ``scheme`` are the request's own (its Host header and how it reached us);
    ``reading`` is true for GET and HEAD.
    """
    if fetch_site is not None and fetch_site.lower() not in _OWN_SITES:
        return False
    if origin is None:
        return reading or fetch_site is not None
    parts = urlsplit(origin) if origin != "null" else None
    if parts is None or parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
        return False
    # The scheme is not compared: behind a TLS-terminating proxy the browser's origin is
    # https while the request reached us over http; the host and port must match.
    return _netloc(parts.scheme, parts.netloc) == _netloc(parts.scheme, host) is not None
