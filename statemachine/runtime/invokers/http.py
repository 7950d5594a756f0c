"""HTTP tasks: plain URL resources and Step Functions' ``arn:aws:states:::http:invoke``.

Plain URL (``http://...`` / ``https://...``)
    POST the effective input as JSON.  2xx: the body parsed as JSON is the result (an empty
    body is ``null``, a body that is not JSON is the text itself).  Other statuses fail with
    ``States.Http.StatusCode.<code>`` and the body text as cause.

``arn:aws:states:::http:invoke``
    Parameters ``ApiEndpoint``, ``Method``, ``Headers``, ``QueryParameters``, ``RequestBody``
    and ``Transform`` (``RequestBodyEncoding: URL_ENCODED`` with ``RequestEncodingOptions.
    ArrayFormat`` ``INDICES`` (default) | ``REPEAT`` | ``COMMAS`` | ``BRACKETS``).  The result
    is ``{"Headers", "ResponseBody", "StatusCode", "StatusText"}`` with header names in lower
    case mapped to lists of values and ``ResponseBody`` parsed when the response is JSON.  A
    non-2xx answer fails with ``States.Http.StatusCode.<code>`` and, as cause, that same
    document as compact JSON.  ``Authentication: {"ConnectionArn"}`` names a connection
    whose credentials the invoker adds (:mod:`.connections`), so no secret sits in the
    definition or the history.

Both, and their ``.waitForTaskToken`` variants (which return ``None`` once the request was
accepted with a 2xx, the result arriving later through SendTaskSuccess/SendTaskFailure),
fail with:

* ``States.Timeout`` when no answer came in time (``timeout_s`` of the command, else the
  configured default); the cause is empty when the state's own ``TimeoutSeconds`` expired;
* ``States.Http.Socket`` when no connection could be made or it broke (refused, DNS, reset,
  TLS) — the name AWS uses for an HTTP task's transport failures — with the reason as cause;
* ``States.Permissions`` when the egress policy (:mod:`.egress`) refuses the address of the
  request or of one of its redirect hops — AWS's name for a task lacking the privilege —
  with a cause naming the policy, the address and why.

The headers of :func:`~statemachine.runtime.invokers.base.task_headers` go on every
request; a header of the same name in ``Parameters.Headers`` wins.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
import orjson

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers.base import (
    InvokerSettings,
    Resource,
    TaskResult,
    failed,
    request_timeout,
    succeeded,
    task_headers,
    timeout_failure,
    truncate,
)
from statemachine.runtime.invokers.connector import EgressResolver, egress_middleware
from statemachine.runtime.invokers.egress import EGRESS_ERROR, EgressDenied, EgressPolicy

USER_AGENT = "statemachine/0.1 (HttpInvoke)"
KEEPALIVE_S = 60.0
"""Idle pooled connections are kept this long, so steady task traffic never reconnects."""
_PROXY_NAMES = tuple(n for base in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
                     for n in (base, base.lower()))
_ENV_NAMES = tuple(n for base in ("HTTP_PROXY", "HTTPS_PROXY", "WS_PROXY", "WSS_PROXY", "ALL_PROXY",
                                  "NETRC") for n in (base, base.lower()))
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})


@dataclass(slots=True)
class Response:
    """An HTTP answer read in full (up to the configured size limit)."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value.lower()
        return ""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class RequestTimedOut(Exception):
    """No complete answer within the time allowed."""


class ConnectionFailed(Exception):
    """No connection could be made, or it broke before the answer was read."""


def proxy_configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for a proxy or a netrc file (then aiohttp must read it).

    Reading the environment costs aiohttp a netrc lookup and proxy resolution on a thread
    for every request, so it is done only when something there is meant for us.
    """
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in _ENV_NAMES)


class RequestObserver(Protocol):
    """Told of each task request once it is answered or failed (the tracer's client span:
    :meth:`statemachine.runtime.tracing.exporter.Tracer.requested`)."""

    def requested(self, task: InvokeTask, method: str, url: str, start_ns: int,
                  status: int | None, error: str | None) -> None: ...


class HttpClient:
    """One pooled aiohttp session shared by every HTTP-speaking invoker.

    The session is created on first use, inside the running event loop, and closed by
    :meth:`close`.  Every connection it makes obeys the egress policy (:mod:`.connector`).
    ``observer``: told of every request made for a task (None, the default: nothing is
    timed).
    """

    def __init__(self, settings: InvokerSettings,
                 observer: RequestObserver | None = None) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._policy: EgressPolicy | None = None
        self.observer = observer

    @property
    def policy(self) -> EgressPolicy:
        """The egress policy of the current settings (built on first use)."""
        if self._policy is None:
            s = self._settings
            trusted = [s.lambda_endpoint or ""]
            if proxy_configured():
                trusted += [os.environ.get(name, "") for name in _PROXY_NAMES]
            self._policy = EgressPolicy.build(
                allow=s.egress_allow, deny=s.egress_deny, api=s.api_endpoints,
                redis=s.redis_endpoint, trusted=[t for t in trusted if t])
        return self._policy

    def use(self, settings: InvokerSettings) -> None:
        """Apply new settings (e.g. the API's listeners, learned later) to later requests."""
        self._settings = settings
        self._policy = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            policy = lambda: self.policy
            connector = aiohttp.TCPConnector(
                limit=self._settings.connection_limit, keepalive_timeout=KEEPALIVE_S,
                resolver=EgressResolver(policy), use_dns_cache=False,
            )
            # No cookie jar: a cookie one execution's task received must not ride along on
            # another execution's requests (and filtering cookies costs every request).
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": USER_AGENT},
                auto_decompress=True, trust_env=proxy_configured(),
                cookie_jar=aiohttp.DummyCookieJar(), middlewares=(egress_middleware(policy),),
            )
        return self._session

    async def request(self, method: str, url: str, *, headers: dict[str, str],
                      data: bytes | None, timeout: float,
                      task: InvokeTask | None = None) -> Response:
        """Send one request and read the answer; raise RequestTimedOut, ConnectionFailed or
        EgressDenied (the policy refused the address of the request or of a redirect hop).
        ``task``: the task it is made for, told to the observer."""
        observer = self.observer
        if observer is not None and task is not None:
            return await self._observed(observer, task, method, url, headers, data, timeout)
        session = self._get_session()
        limit = self._settings.max_response_bytes
        try:
            # aiohttp's own total timeout (connect, send, read the body): the same bound as
            # asyncio.timeout, without its per-request running-loop lookups.
            async with session.request(method, url, headers=headers, data=data,
                                       timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                body = await _read_limited(resp.content, limit)
                answered = [(str(k), v) for k, v in resp.headers.items()]
                return Response(resp.status, resp.reason or "", answered, body)
        except TimeoutError as exc:
            raise RequestTimedOut(url) from exc
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise ConnectionFailed(_describe(exc)) from exc

    async def _observed(self, observer: RequestObserver, task: InvokeTask, method: str,
                        url: str, headers: dict[str, str], data: bytes | None,
                        timeout: float) -> Response:
        """:meth:`request`, the observer told of its answer or failure (a frame of its own
        only when tracing is on: the request path stays one coroutine when it is off)."""
        start = time.time_ns()
        try:
            answer = await self.request(method, url, headers=headers, data=data,
                                        timeout=timeout)
        except (RequestTimedOut, ConnectionFailed, EgressDenied) as exc:
            observer.requested(task, method, url, start, None, type(exc).__name__)
            raise
        observer.requested(task, method, url, start, answer.status, None)
        return answer

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


async def _read_limited(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """At most ``limit`` bytes of the body: enough to judge it, never a memory blow-up."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


def parse_json_or_text(body: bytes) -> Any:
    """The body as JSON when it parses, else as text; an empty body is ``None``."""
    if not body.strip():
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)  # what orjson refuses but Python reads: NaN, huge integers
    except ValueError:
        return text


def dump_json(value: Any) -> bytes:
    """Compact JSON, the way Step Functions serialises payloads."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


async def send(client: HttpClient, command: InvokeTask, method: str, url: str,
               headers: dict[str, str], data: bytes | None, default_timeout: float,
               ) -> Response | dict[str, Any]:
    """Perform one request; a ``TaskFailed`` event instead of the response when none came."""
    seconds, from_state = request_timeout(command, default_timeout)
    try:
        return await client.request(method, url, headers=headers, data=data, timeout=seconds,
                                    task=command)
    except RequestTimedOut:
        return timeout_failure(command, f"{method} {url}", seconds, from_state)
    except ConnectionFailed as exc:
        return failed(command, "States.Http.Socket", f"{method} {url} failed: {exc}")
    except EgressDenied as exc:
        return failed(command, EGRESS_ERROR, f"{method} {url} refused: {exc}")


class UrlInvoker:
    """A plain ``http(s)://`` URL as Resource: POST the input, the JSON answer is the result."""

    def __init__(self, client: HttpClient, settings: InvokerSettings) -> None:
        self._client = client
        self._settings = settings

    async def invoke(self, command: InvokeTask, resource: Resource) -> TaskResult:
        callback = resource.kind == "callback"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        headers.update(task_headers(command, self._settings, callback))
        answer = await send(self._client, command, "POST", resource.target, headers,
                            dump_json(command.input), self._settings.http_timeout_s)
        if isinstance(answer, dict):
            return answer
        if not answer.ok:
            return failed(command, f"States.Http.StatusCode.{answer.status}", answer.text())
        return None if callback else succeeded(command, parse_json_or_text(answer.body))


class Authorizer(Protocol):
    """Adds a connection's credentials (:class:`.connections.Authorizer`)."""

    async def invoke(self, command: InvokeTask, params: dict[str, Any],
                     perform: Callable[[dict[str, Any]], Awaitable[TaskResult]]) -> TaskResult: ...


class HttpInvokeInvoker:
    """Step Functions' HTTP task, ``arn:aws:states:::http:invoke[.waitForTaskToken]``."""

    def __init__(self, client: HttpClient, settings: InvokerSettings,
                 authorizer: Authorizer | None = None) -> None:
        self._client = client
        self._settings = settings
        self._authorizer = authorizer

    async def invoke(self, command: InvokeTask, resource: Resource) -> TaskResult:
        params = command.input if isinstance(command.input, dict) else {}
        if "Authentication" in params:
            if self._authorizer is None:
                return failed(command, "States.Runtime", "this runtime keeps no connections")
            return await self._authorizer.invoke(
                command, params, lambda merged: self._perform(command, resource, merged))
        return await self._perform(command, resource, params)

    async def _perform(self, command: InvokeTask, resource: Resource,
                       params: dict[str, Any]) -> TaskResult:
        request = build_request(params)
        if isinstance(request, str):
            return failed(command, "States.Runtime", request)
        method, url, headers, data = request
        headers.update(task_headers(command, self._settings, resource.kind == "callback"))
        headers.update(_user_headers(params))
        answer = await send(self._client, command, method, url, headers, data,
                            self._settings.http_timeout_s)
        if isinstance(answer, dict):
            return answer
        document = response_document(answer)
        if not answer.ok:
            return failed(command, f"States.Http.StatusCode.{answer.status}", _cause(document))
        return None if resource.kind == "callback" else succeeded(command, document)


def build_request(params: dict[str, Any]) -> tuple[str, str, dict[str, str], bytes | None] | str:
    """Method, URL, headers and body from http:invoke Parameters, or why they are unusable."""
    endpoint = params.get("ApiEndpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        return f"The HTTP task needs Parameters.ApiEndpoint, an http(s) URL; got {endpoint!r}"
    method = params.get("Method")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        return f"The HTTP task needs Parameters.Method, one of {sorted(_METHODS)}; got {method!r}"
    query = params.get("QueryParameters")
    url = endpoint
    if isinstance(query, dict) and query:
        url += ("&" if "?" in endpoint else "?") + url_encode(query, "REPEAT")
    headers: dict[str, str] = {}
    data: bytes | None = None
    if "RequestBody" in params:
        headers["Content-Type"], data = _encode_body(params["RequestBody"], params.get("Transform"))
    return method.upper(), url, headers, data


def _user_headers(params: Any) -> dict[str, str]:
    headers = params.get("Headers") if isinstance(params, dict) else None
    if not isinstance(headers, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in headers.items()}


def _encode_body(body: Any, transform: Any) -> tuple[str, bytes]:
    """The body as JSON, or URL-encoded when ``Transform.RequestBodyEncoding`` asks for it."""
    transform = transform if isinstance(transform, dict) else {}
    if transform.get("RequestBodyEncoding") == "URL_ENCODED" and isinstance(body, dict):
        options = transform.get("RequestEncodingOptions")
        style = options.get("ArrayFormat", "INDICES") if isinstance(options, dict) else "INDICES"
        return "application/x-www-form-urlencoded", url_encode(body, str(style)).encode()
    if isinstance(body, str):
        return "text/plain; charset=utf-8", body.encode()
    return "application/json", dump_json(body)


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else dump_json(value).decode()


def url_encode(value: dict[str, Any], array_format: str) -> str:
    """``application/x-www-form-urlencoded`` text for a JSON object.

    Nested objects become ``outer[inner]=v``; arrays follow ``array_format``:
    ``INDICES`` ``a[0]=x&a[1]=y``, ``REPEAT`` ``a=x&a=y``, ``COMMAS`` ``a=x,y``,
    ``BRACKETS`` ``a[]=x&a[]=y``.
    """
    pairs: list[tuple[str, str]] = []
    _flatten("", value, array_format, pairs)
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in pairs)


def _flatten(prefix: str, value: Any, style: str, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}[{key}]" if prefix else str(key), item, style, out)
    elif isinstance(value, list) and prefix:
        if style == "COMMAS":
            out.append((prefix, ",".join(_scalar(v) for v in value)))
            return
        for index, item in enumerate(value):
            name = {"INDICES": f"{prefix}[{index}]", "BRACKETS": f"{prefix}[]"}.get(style, prefix)
            _flatten(name, item, style, out)
    elif prefix:
        out.append((prefix, _scalar(value)))


def response_document(answer: Response) -> dict[str, Any]:
    """An HTTP answer in the shape of the HTTP task's result."""
    headers: dict[str, list[str]] = {}
    for name, value in answer.headers:
        headers.setdefault(name.lower(), []).append(value)
    body: Any = answer.text()
    if "json" in answer.content_type and body.strip():
        try:
            body = json.loads(body)
        except ValueError:
            pass
    return {"Headers": headers, "ResponseBody": body, "StatusCode": answer.status,
            "StatusText": answer.reason}


def _cause(document: dict[str, Any]) -> str:
    """The failed answer as compact JSON, its body cut first when the whole is too long."""
    text = dump_json(document).decode()
    if len(text) <= 32768:
        return text
    body = document["ResponseBody"]
    body_text = body if isinstance(body, str) else dump_json(body).decode()
    spare = max(256, 32768 - (len(text) - len(body_text)) - 100)
    return dump_json({**document, "ResponseBody": truncate(body_text, spare)}).decode()
