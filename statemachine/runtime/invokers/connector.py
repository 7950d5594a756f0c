"""The egress policy, enforced where aiohttp connects (see :mod:`.egress` for the rules).

Two hooks, both public aiohttp API:

* :class:`EgressResolver` wraps aiohttp's default resolver: every address a host name
  resolves to is checked, and only the allowed ones are handed to the connector, which
  connects to nothing else.  The answers are cached here (``DNS_CACHE_S``) and checked on
  every use, so aiohttp's own DNS cache is turned off: a policy learned later (the API's
  listeners) applies at once.
* :func:`egress_middleware` (a client middleware, run for the first request and for every
  redirect hop) checks the hop's URL: IP literals, which aiohttp never resolves, in full;
  host names against the name rules — which also covers a request sent through a proxy,
  where the proxy, not this process, resolves the name.

A refusal raises :class:`~.egress.EgressDenied`, which the client turns into the task's
failure.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from aiohttp import ClientHandlerType, ClientRequest, ClientResponse
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from statemachine.runtime.invokers.egress import Denial, EgressDenied, EgressPolicy, parse_ip

__all__ = ["DNS_CACHE_S", "EgressResolver", "egress_middleware"]

DNS_CACHE_S = 60.0
_CACHE_SIZE = 1024

PolicySource = Callable[[], EgressPolicy]


class EgressResolver(AbstractResolver):
    """aiohttp's resolver, keeping only the addresses the current policy allows."""

    def __init__(self, policy: PolicySource, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()
        self._cache: dict[tuple[str, int, int], tuple[float, list[ResolveResult]]] = {}

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        key = (host, port, int(family))
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            answers = cached[1]
        else:
            answers = await self._inner.resolve(host, port, family)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = (now + DNS_CACHE_S, answers)
        policy = self._policy()
        kept: list[ResolveResult] = []
        first: Denial | None = None
        for answer in answers:
            ip = parse_ip(answer["host"])
            denial = policy.check(host, ip, port) if ip is not None else None
            if denial is None:
                kept.append(answer)
            elif first is None:
                first = denial
        if not kept and first is not None:
            raise EgressDenied(first)
        return kept

    async def close(self) -> None:
        await self._inner.close()


def egress_middleware(policy: PolicySource) -> Any:
    """A client middleware checking each hop's URL before it is sent."""

    async def middleware(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        url = request.url
        host, port = url.raw_host, url.port
        if host is not None and port is not None:
            denial = policy().check_url(host, port)
            if denial is not None:
                raise EgressDenied(denial)
        return await handler(request)

    return middleware
