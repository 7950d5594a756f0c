"""Who is calling, and may they: the authentication middleware and the audit trail.

Each route of :data:`statemachine.api.routes.ROUTES` says what it needs (its
:data:`Access`): a :class:`~statemachine.security.roles.Role`, or :class:`Open` — public
(it holds no data: ``/healthz``, the dashboard's files, ``/openapi.json``, the login
routes) or authorised by the task token its body carries (``/v1/tasks/*``: the token is
a secret capability the service handed to that one task).

A caller proves a key with ``Authorization: Bearer <secret>``, or — the dashboard — with
the session cookie a login set; a cookie-authenticated request must come from the
service's own origin (:func:`~statemachine.security.origins.from_own_origin`), since a
browser sends the cookie whatever page asks.  Without a valid key: 401 ``Unauthorized``
(with ``WWW-Authenticate: Bearer``); with a role too small: 403 ``Forbidden``.
``--insecure-no-auth`` (loopback only) sets :attr:`AuthConfig.enforce` false: every
request passes (keys can still be managed).  Routes made public by a flag (``--metrics-public``) are named in
:attr:`AuthConfig.public`.

Every state-changing call is written to the audit trail: see :mod:`statemachine.api.audit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web

from statemachine.api.problems import Handler, error_response
from statemachine.keyring import Keyring
from statemachine.security.keys import ApiKey, bearer_secret
from statemachine.security.origins import from_own_origin
from statemachine.security.roles import Role

__all__ = ["ACCESS", "AUTH", "COOKIE", "Access", "AuthConfig", "Open", "Principal",
           "auth_middleware", "principal", "set_principal"]

COOKIE = "sm_session"
"""The dashboard's session cookie (HttpOnly, SameSite=Strict, Path=/)."""
READS = frozenset(("GET", "HEAD"))


class Open(StrEnum):
    """What a route needs when it needs no key."""

    PUBLIC = "public"
    TASK_TOKEN = "task-token"
    SIGNED = "signed"
    """the AWS API: the handler checks each request's SigV4 signature and the role of
    the operation it names (:mod:`statemachine.api.aws.protocol`)"""


Access = Role | Open


@dataclass(frozen=True)
class AuthConfig:
    """``keyring`` checks keys; ``enforce`` false (``--insecure-no-auth``) lets every
    request pass; ``public`` lists route templates opened by a flag (``/metrics`` for
    ``--metrics-public``)."""

    keyring: Keyring
    enforce: bool = True
    public: frozenset[str] = field(default_factory=frozenset)


AUTH: web.AppKey[AuthConfig] = web.AppKey("auth", AuthConfig)
ACCESS: web.AppKey[dict[Any, Access]] = web.AppKey("access", dict)
"""Each route handler's :data:`Access`, filled from ROUTES by ``add_routes``."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: a key (by ``via`` bearer or session), a task token, or nobody."""

    key: ApiKey | None
    via: str  # "bearer" | "session" | "sigv4" | "task-token" | "none"

    @property
    def key_id(self) -> str:
        if self.key is not None:
            return self.key.id
        return "task-token" if self.via == "task-token" else "anonymous"


_PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)
ANONYMOUS = Principal(None, "none")
TASK_TOKEN = Principal(None, "task-token")


def principal(request: web.Request) -> Principal:
    """Who the middleware found behind ``request``."""
    found: Principal = request.get(_PRINCIPAL, ANONYMOUS)
    return found


def set_principal(request: web.Request, who: Principal) -> None:
    """Name the caller a public route identified itself (a login), for the audit line."""
    request[_PRINCIPAL] = who


def unauthorized(message: str) -> web.Response:
    response = error_response(401, "Unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="statemachine"'
    return response


def forbidden(message: str) -> web.Response:
    return error_response(403, "Forbidden", message)


def cross_origin(request: web.Request) -> bool:
    """True when a browser request comes from a page of another origin."""
    headers = request.headers
    return not from_own_origin(headers.get("Origin"), headers.get("Sec-Fetch-Site"),
                               request.host, request.scheme, request.method in READS)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Find the caller's key and check it against the route's :data:`Access`."""
    match = request.match_info
    if match.http_exception is not None:  # no such route or method: 404/405 as usual
        return await handler(request)
    config = request.app[AUTH]
    # A handler outside ROUTES (added later to the app) needs the highest role: fail closed.
    need = request.app[ACCESS].get(match.handler, Role.ADMIN)
    if need is Open.TASK_TOKEN:
        request[_PRINCIPAL] = TASK_TOKEN
        return await handler(request)
    if need is Open.PUBLIC or need is Open.SIGNED or not config.enforce or match.route.resource is None \
            or match.route.resource.canonical in config.public:
        return await handler(request)
    found = await _caller(request, config.keyring)
    if isinstance(found, web.Response):
        return found
    request[_PRINCIPAL] = found
    assert found.key is not None and isinstance(need, Role)
    if not found.key.role.allows(need):
        return forbidden(f"this route needs a key of role {need.value!r} or above; "
                         f"key {found.key.id} is {found.key.role.value!r}")
    return await handler(request)


async def _caller(request: web.Request, keyring: Keyring) -> Principal | web.Response:
    """The caller's key (a Bearer secret first, else the session cookie), or the refusal."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        secret = bearer_secret(authorization)
        key = None if secret is None else await keyring.verify(secret)
        if key is None:
            return unauthorized("the Authorization header does not carry a valid API key "
                                "(expected: Authorization: Bearer <key secret>)")
        return Principal(key, "bearer")
    token = request.cookies.get(COOKIE)
    if token:
        if cross_origin(request):
            return forbidden("a request authenticated by the dashboard's cookie must come "
                             "from the dashboard's own origin")
        key = await keyring.session(token)
        if key is not None:
            return Principal(key, "session")
        return unauthorized("the dashboard session has ended; log in again")
    return unauthorized("this route needs an API key: send Authorization: Bearer <key "
                        "secret> (python cli.py keys create makes one)")
