"""An HTTP task's ``Authentication: {ConnectionArn}``: the connection's credentials added
to its request, and kept out of everything the task reports.

For ``arn:aws:states:::http:invoke`` whose Parameters name a connection, the
:class:`Authorizer` looks the connection up (the lookup the runtime gives: the workers
read it from the store and unseal it with the service key), then sends the request with

* ``API_KEY``: the header ``ApiKeyName: ApiKeyValue``;
* ``BASIC``: ``Authorization: Basic base64(Username:Password)``;
* ``OAUTH_CLIENT_CREDENTIALS``: ``Authorization: Bearer <token>``.  The token is asked of
  ``AuthorizationEndpoint`` (``HttpMethod``; the client id and secret as Basic
  credentials; ``OAuthHttpParameters`` added; ``grant_type=client_credentials`` unless
  those set it) through the same :class:`~.http.HttpClient` as the tasks, so the same
  egress rules apply.  It is cached per connection until ``expires_in`` (less a margin),
  one fetch serving every task waiting for it, and fetched again when it expired or when
  the API answers 401 or 407 (then the request is sent once more, as EventBridge does);

plus the connection's ``InvocationHttpParameters``: headers and query parameters win over
the task's of the same name, body parameters are merged into an object ``RequestBody``.

Every string of the task's result or failure is scrubbed of the connection's secrets (and
of the derived Basic credentials and token) before it can reach the history: an API that
echoes its request back does not leak them.  Secrets shorter than
:data:`MIN_SCRUBBED_CHARS` are not scrubbed (they would mangle every word).

Failures: a malformed ``Authentication`` is ``States.Runtime``; a connection that does not
exist (never made, or deleted) is :data:`CONNECTION_NOT_FOUND`; a token that could not be
had is :data:`AUTHORIZATION_FAILED`, with the endpoint's answer (status, OAuth ``error``)
as cause, never a credential.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers.base import TaskResult, failed, request_timeout
from statemachine.runtime.invokers.http import (
    ConnectionFailed,
    HttpClient,
    RequestTimedOut,
    url_encode,
)
from statemachine.security.connections import AuthorizationType, Connection, parse_arn
from statemachine.security.secretbox import SecretKeyError

__all__ = ["AUTHORIZATION_FAILED", "CONNECTION_NOT_FOUND", "Authorizer", "ConnectionLookup"]

ConnectionLookup = Callable[[str], Awaitable[Connection | None]]
"""Finds a connection by ARN, credentials in clear; None when there is none."""
Perform = Callable[[dict[str, Any]], Awaitable[TaskResult]]
"""Performs the HTTP task for (merged) Parameters."""

CONNECTION_NOT_FOUND = "Events.ResourceNotFoundException"
AUTHORIZATION_FAILED = "Events.ConnectionAuthorizationFailed"
MIN_SCRUBBED_CHARS = 4
MASK = "***"
REFRESH_MARGIN_S = 30.0
"""A cached token is renewed this long before it expires (at most half its lifetime)."""
TOKEN_FETCH_TIMEOUT_S = 30.0
_RETRY_STATUSES = ("States.Http.StatusCode.401", "States.Http.StatusCode.407")


@dataclass(slots=True)
class _Token:
    value: str
    renew_at: float


class Authorizer:
    """Adds connections' credentials to HTTP tasks; keeps the OAuth tokens."""

    def __init__(self, client: HttpClient, lookup: ConnectionLookup | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._lookup = lookup
        self._clock = clock
        self._tokens: dict[str, _Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.token_fetches = 0

    async def invoke(self, command: InvokeTask, params: dict[str, Any],
                     perform: Perform) -> TaskResult:
        """Perform the task with the named connection's credentials."""
        auth = params.get("Authentication")
        arn = auth.get("ConnectionArn") if isinstance(auth, dict) else None
        if not isinstance(arn, str) or parse_arn(arn) is None:
            return failed(command, "States.Runtime",
                          "Parameters.Authentication must be {\"ConnectionArn\": <the ARN of a "
                          f"connection, arn:aws:events:<region>:<account>:connection/<name>/<id>>}};"
                          f" got {str(auth)[:200]}")
        if self._lookup is None:
            return failed(command, "States.Runtime",
                          "connections are kept by the service: run the task under 'cli.py serve' "
                          "or 'cli.py worker' (not 'cli.py run')")
        try:
            connection = await self._lookup(arn)
        except SecretKeyError as exc:
            return failed(command, "States.Runtime", f"connection {arn}: {exc}")
        if connection is None:
            return failed(command, CONNECTION_NOT_FOUND, f"Connection {arn} does not exist.")
        scrub = _Scrubber(connection)
        stale: str | None = None
        for _ in range(2):
            credentials = await self._credentials(command, connection, scrub, stale)
            if isinstance(credentials, dict):
                return scrub.result(credentials)
            name, value, token = credentials
            result = await perform(merge(params, connection, name, value))
            if (token is None or not isinstance(result, dict)
                    or result.get("error") not in _RETRY_STATUSES):
                return scrub.result(result)
            stale = token  # the API refused the token: fetch a new one and send once more
        return scrub.result(result)

    async def _credentials(self, command: InvokeTask, connection: Connection, scrub: _Scrubber,
                           stale: str | None) -> tuple[str, str, str | None] | dict[str, Any]:
        """(header name, header value, the OAuth token or None), or a TaskFailed event."""
        params = connection.auth_parameters
        match connection.authorization_type:
            case AuthorizationType.API_KEY:
                key = params["ApiKeyAuthParameters"]
                return key["ApiKeyName"], key["ApiKeyValue"], None
            case AuthorizationType.BASIC:
                basic = params["BasicAuthParameters"]
                return "Authorization", _basic(basic["Username"], basic["Password"]), None
            case AuthorizationType.OAUTH_CLIENT_CREDENTIALS:
                token = await self._token(command, connection, stale)
                if isinstance(token, dict):
                    return token
                scrub.add(token)
                return "Authorization", f"Bearer {token}", token

    async def _token(self, command: InvokeTask, connection: Connection,
                     stale: str | None) -> str | dict[str, Any]:
        """The connection's cached token, else a new one (one fetch at a time per connection)."""
        lock = self._locks.setdefault(connection.arn, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(connection.arn)
            if cached is not None and cached.value != stale and self._clock() < cached.renew_at:
                return cached.value
            self._tokens.pop(connection.arn, None)
            fetched = await self._fetch(command, connection)
            if isinstance(fetched, _Token):
                self._tokens[connection.arn] = fetched
                return fetched.value
            return fetched

    async def _fetch(self, command: InvokeTask, connection: Connection) -> _Token | dict[str, Any]:
        oauth = connection.auth_parameters["OAuthParameters"]
        endpoint, method = oauth["AuthorizationEndpoint"], oauth["HttpMethod"]
        client = oauth["ClientParameters"]
        extra = oauth.get("OAuthHttpParameters") or {}
        headers = {"Accept": "application/json",
                   "Authorization": _basic(client["ClientID"], client["ClientSecret"])}
        headers.update(_pairs(extra.get("HeaderParameters")))
        form = {"grant_type": "client_credentials", **_pairs(extra.get("BodyParameters"))}
        query = _pairs(extra.get("QueryStringParameters"))
        data: bytes | None = None
        if method == "GET":
            query = {**form, **query}
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = url_encode(form, "REPEAT").encode()
        url = endpoint + (("&" if "?" in endpoint else "?") + url_encode(query, "REPEAT")
                          if query else "")
        seconds = min(request_timeout(command, TOKEN_FETCH_TIMEOUT_S)[0], TOKEN_FETCH_TIMEOUT_S)
        why = f"Could not obtain an OAuth token for connection {connection.arn} from {endpoint}"
        self.token_fetches += 1
        try:
            answer = await self._client.request(method, url, headers=headers, data=data,
                                                timeout=seconds)
        except RequestTimedOut:
            return failed(command, AUTHORIZATION_FAILED, f"{why}: no answer within {seconds:g} s")
        except ConnectionFailed as exc:
            return failed(command, AUTHORIZATION_FAILED, f"{why}: {exc}")
        try:
            body = orjson.loads(answer.body) if answer.body.strip() else None
        except orjson.JSONDecodeError:
            body = None
        if not answer.ok:
            detail = ""
            if isinstance(body, dict) and isinstance(body.get("error"), str):
                detail = f" ({body['error'][:200]})"
            return failed(command, AUTHORIZATION_FAILED,
                          f"{why}: HTTP {answer.status} {answer.reason}{detail}")
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            return failed(command, AUTHORIZATION_FAILED,
                          f"{why}: the answer holds no access_token (a JSON object was expected)")
        lifetime = body.get("expires_in") if isinstance(body, dict) else None
        renew = float("inf")
        if isinstance(lifetime, (int, float)) and not isinstance(lifetime, bool) and lifetime > 0:
            renew = self._clock() + lifetime - min(REFRESH_MARGIN_S, lifetime / 2)
        return _Token(token, renew)


def merge(params: dict[str, Any], connection: Connection, name: str, value: str
          ) -> dict[str, Any]:
    """The task's Parameters with the connection's credential header and
    ``InvocationHttpParameters`` added (the connection's win over the task's)."""
    extra = connection.auth_parameters.get("InvocationHttpParameters") or {}
    added = {**_pairs(extra.get("HeaderParameters")), name: value}
    lowered = {key.lower() for key in added}
    given = params.get("Headers")
    headers = {k: v for k, v in given.items() if str(k).lower() not in lowered} \
        if isinstance(given, dict) else {}
    merged = {**params, "Headers": {**headers, **added}}
    query = _pairs(extra.get("QueryStringParameters"))
    if query:
        given_query = params.get("QueryParameters")
        merged["QueryParameters"] = {**(given_query if isinstance(given_query, dict) else {}),
                                     **query}
    body = _pairs(extra.get("BodyParameters"))
    if body and isinstance(params.get("RequestBody", {}), dict):
        merged["RequestBody"] = {**params.get("RequestBody", {}), **body}
    return merged


def _pairs(items: Any) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in items or ()
            if isinstance(item, dict) and "Key" in item and "Value" in item}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class _Scrubber:
    """Replaces a connection's secrets (and their encoded forms) in a task's result."""

    def __init__(self, connection: Connection) -> None:
        self._secrets: set[str] = set()
        for secret in connection.secrets():
            self.add(secret)
        basic = connection.auth_parameters.get("BasicAuthParameters")
        if isinstance(basic, dict):
            self.add(_basic(basic["Username"], basic["Password"])[len("Basic "):])
        client = connection.auth_parameters.get("OAuthParameters", {}).get("ClientParameters")
        if isinstance(client, dict):
            self.add(_basic(client["ClientID"], client["ClientSecret"])[len("Basic "):])

    def add(self, secret: str) -> None:
        for form in (secret, quote(secret, safe=""), quote(secret, safe="/"),
                     quote(secret).replace("%20", "+")):
            if len(form) >= MIN_SCRUBBED_CHARS:
                self._secrets.add(form)

    def text(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def result(self, event: TaskResult) -> TaskResult:
        """The event with its ``output`` and ``cause`` scrubbed."""
        if event is None:
            return None
        return {k: self.value(v) if k in ("output", "cause") else v for k, v in event.items()}

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.value(v)
                    for k, v in value.items()}
        return value
