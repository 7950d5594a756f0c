"""Routes of API keys (admin) and of the dashboard's login: sessions and login links.

``POST /v1/keys`` ``{"role", "name"?}`` answers the new key with its secret — the only
time the secret is ever shown; ``GET /v1/keys`` lists keys (never a secret);
``DELETE /v1/keys/{id}`` revokes one.

The dashboard logs in with a one-time link (``GET /ui/?login=<token>``, printed by
``serve``) or with a key's secret (``POST /v1/session``); both set the session cookie
(``HttpOnly``, ``SameSite=Strict``, ``Path=/``, ``Secure`` over HTTPS) and
``DELETE /v1/session`` logs out.  The token of a link is spent when used.
"""

from __future__ import annotations

from aiohttp import web

from statemachine.api.audit import audit
from statemachine.api.auth import (
    AUTH,
    COOKIE,
    Principal,
    cross_origin,
    forbidden,
    principal,
    set_principal,
    unauthorized,
)
from statemachine.api.problems import bad_request, json_response, read_body
from statemachine.errors import NotFound
from statemachine.keyring import SESSION_TTL_S, Keyring, check_key_name
from statemachine.security.keys import MAX_SECRET_LENGTH, ApiKey
from statemachine.security.roles import Role
from statemachine.web import index

__all__ = ["create_key", "list_keys", "login", "logout", "revoke_key", "ui_index", "whoami"]

_ROLES = ", ".join(role.value for role in Role)


def _keyring(request: web.Request) -> Keyring:
    return request.app[AUTH].keyring


# keys -------------------------------------------------------------------------------------


async def create_key(request: web.Request) -> web.Response:
    """``POST /v1/keys`` ``{"role", "name"?}``: 201 with the key and its secret (shown once)."""
    body = (await read_body(request)).only(("role", "name"))
    text = body.required_str("role")
    try:
        role = Role(text)
    except ValueError:
        bad_request(f"field 'role' must be one of {_ROLES}", "InvalidValue")
    name = check_key_name(body.value("name"))
    key, secret = await _keyring(request).create(role, name)
    return json_response({**key.public(), "secret": secret}, status=201)


async def list_keys(request: web.Request) -> web.Response:
    """``GET /v1/keys``: every key, oldest first, without secrets."""
    return json_response({"keys": [key.public() for key in await _keyring(request).list()]})


async def revoke_key(request: web.Request) -> web.Response:
    """``DELETE /v1/keys/{id}``: the key stops working (sessions opened with it too)."""
    key_id = request.match_info["id"]
    if len(key_id) > 64 or not await _keyring(request).revoke(key_id):
        raise NotFound(f"API key {key_id[:64]!r} does not exist", "KeyDoesNotExist")
    return json_response({"id": key_id, "revoked": True})


# the dashboard's session -------------------------------------------------------------------


def _with_session(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=SESSION_TTL_S, path="/", httponly=True,
                        samesite="Strict", secure=request.secure)


async def login(request: web.Request) -> web.Response:
    """``POST /v1/session`` ``{"secret"}``: log the dashboard in with a key's secret."""
    if cross_origin(request):
        return forbidden("a login must come from the dashboard's own origin")
    body = (await read_body(request)).only(("secret",))
    secret = body.required_str("secret", max_length=MAX_SECRET_LENGTH)
    keyring = _keyring(request)
    key = await keyring.verify(secret)
    if key is None:
        return unauthorized("no API key has this secret")
    set_principal(request, Principal(key, "session"))
    response = json_response({"key": key.public()})
    _with_session(response, request, await keyring.open_session(key))
    return response


async def logout(request: web.Request) -> web.Response:
    """``DELETE /v1/session``: end the dashboard's session (its cookie is cleared)."""
    if cross_origin(request):
        return forbidden("a logout must come from the dashboard's own origin")
    token = request.cookies.get(COOKIE)
    if token:
        await _keyring(request).close_session(token)
    response = json_response({})
    response.del_cookie(COOKIE, path="/")
    return response


async def whoami(request: web.Request) -> web.Response:
    """``GET /v1/session``: the key behind this request and how it was shown."""
    who = principal(request)
    key: ApiKey | None = who.key
    return json_response({"key": None if key is None else key.public(), "via": who.via,
                          "auth": request.app[AUTH].enforce})


async def ui_index(request: web.Request) -> web.StreamResponse:
    """``GET /ui/[?login=<token>]``: the dashboard; with a login link's token, open a session
    first and send the browser back to ``/ui/`` without the token in its address."""
    token = request.query.get("login")
    if token is None:
        return await index(request)
    response = web.Response(status=303, headers={"Location": "/ui/", "Cache-Control": "no-store"})
    keyring = _keyring(request)
    key = await keyring.redeem_login(token[:MAX_SECRET_LENGTH]) if token else None
    if key is not None:
        _with_session(response, request, await keyring.open_session(key))
    # A GET that changes state (the token is spent, a session opened): audited by hand.
    audit(request, 303, Principal(key, "login-link"), login="ok" if key else "refused")
    return response
