"""The egress policy: its rules alone (no network), then enforced on real aiohttp servers."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers import Invokers, InvokerSettings
from statemachine.runtime.invokers.connector import EgressResolver, egress_middleware
from statemachine.runtime.invokers.egress import (
    EGRESS_ERROR,
    EgressDenied,
    EgressPolicy,
    Rule,
    endpoint_of,
)
from tests.invokers.conftest import StartApp


def ip(text: str) -> Any:
    return ipaddress.ip_address(text)


def policy(**kwargs: Any) -> EgressPolicy:
    """A policy whose notion of "this machine" is 10.0.0.5 (no routing lookups)."""
    return EgressPolicy.build(**kwargs, resolve=lambda name: frozenset({ip("203.0.113.9")}),
                              is_local=lambda a: a == ip("10.0.0.5"))


# -- the rules, without a network ------------------------------------------------------------


@pytest.mark.parametrize("text, network, name, port", [
    ("10.0.0.0/8", "10.0.0.0/8", None, None),
    ("10.1.2.3", "10.1.2.3/32", None, None),
    ("10.1.2.3:8080", "10.1.2.3/32", None, 8080),
    ("fd00::/8", "fd00::/8", None, None),
    ("[::1]:9000", "::1/128", None, 9000),
    ("API.Example.com", None, "api.example.com", None),
    ("api.example.com:443", None, "api.example.com", 443),
    ("*.internal", None, "*.internal", None),
    ("*", None, "*", None),
])
def test_rules_parse(text: str, network: str | None, name: str | None, port: int | None) -> None:
    rule = Rule.parse(text)
    assert (str(rule.network) if rule.network else None, rule.name, rule.port) == \
        (network, name, port)


@pytest.mark.parametrize("text", ["", "10.0.0.0/33", "a b", "api.example.com:0",
                                  "api.example.com:x", "*.*.x", "[::1"])
def test_malformed_rules_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Rule.parse(text)


def test_endpoint_of_urls_and_addresses() -> None:
    assert endpoint_of("redis://:pw@127.0.0.1:6390/0") == ("127.0.0.1", 6390)
    assert endpoint_of("rediss://cache.internal/0") == ("cache.internal", 6379)
    assert endpoint_of("unix:///tmp/redis.sock") is None
    assert endpoint_of("[::1]:8080") == ("::1", 8080)
    assert endpoint_of("0.0.0.0:8080") == ("0.0.0.0", 8080)


def test_always_denied_addresses() -> None:
    p = policy()
    for address in ("169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "0.0.0.0",
                    "::", "::ffff:169.254.169.254"):
        denial = p.check(None, ip(address), 80)
        assert denial is not None, address
    assert "metadata" in str(p.check(None, ip("169.254.169.254"), 80))
    assert "unspecified" in str(p.check(None, ip("0.0.0.0"), 80))
    assert p.check(None, ip("203.0.113.7"), 443) is None
    assert p.check(None, ip("10.9.9.9"), 443) is None  # private ranges: not denied by default


def test_own_api_and_redis_are_denied_on_every_address_of_this_host() -> None:
    p = policy(api=["127.0.0.1:8080"], redis="redis://127.0.0.1:6379/0")
    assert "own API" in str(p.check(None, ip("127.0.0.1"), 8080))
    assert "own API" in str(p.check("localhost", ip("::1"), 8080))
    assert "own API" in str(p.check(None, ip("10.0.0.5"), 8080))  # this machine's address
    assert "own Redis" in str(p.check(None, ip("127.0.0.1"), 6379))
    assert p.check(None, ip("127.0.0.1"), 9000) is None  # listening on loopback: it stays open
    assert p.check(None, ip("10.0.0.6"), 8080) is None  # another machine's 8080


def test_a_remote_redis_is_denied_by_its_addresses() -> None:
    p = policy(redis="redis://cache.example:6380/0")
    assert "own Redis" in str(p.check(None, ip("203.0.113.9"), 6380))
    assert p.check(None, ip("203.0.113.10"), 6380) is None


def test_loopback_is_denied_when_the_api_listens_beyond_it() -> None:
    p = policy(api=["0.0.0.0:8080"])
    assert "loopback" in str(p.check(None, ip("127.0.0.1"), 9000))
    assert "loopback" in str(p.check(None, ip("::1"), 9000))
    assert "own API" in str(p.check(None, ip("10.0.0.5"), 8080))
    assert policy(api=["0.0.0.0:8080"], allow=["127.0.0.0/8"]).check(
        None, ip("127.0.0.1"), 9000) is None
    assert policy(api=["localhost:8080", "[::1]:8080"]).loopback_open


def test_allow_opens_denied_ranges_but_the_own_endpoints_only_by_port() -> None:
    assert policy(allow=["169.254.169.254"]).check(None, ip("169.254.169.254"), 80) is None
    broad = policy(api=["127.0.0.1:8080"], allow=["127.0.0.0/8"])
    assert broad.check(None, ip("127.0.0.1"), 8080) is not None
    exact = policy(api=["127.0.0.1:8080"], allow=["127.0.0.1:8080"])
    assert exact.check(None, ip("127.0.0.1"), 8080) is None


def test_deny_rules_and_an_allow_list() -> None:
    p = policy(deny=["10.0.0.0/8", "*.corp.example"])
    assert "--egress-deny 10.0.0.0/8" in str(p.check(None, ip("10.1.1.1"), 80))
    assert p.check_url("db.corp.example", 443) is not None  # refused before any lookup
    assert p.check("db.corp.example", ip("203.0.113.1"), 443) is not None
    only = policy(deny=["*"], allow=["api.example.com", "192.0.2.0/24"])
    assert only.check("api.example.com", ip("203.0.113.1"), 443) is None
    assert only.check(None, ip("192.0.2.7"), 443) is None
    assert only.check("other.example.com", ip("203.0.113.1"), 443) is not None
    assert only.check_url("other.example.com", 443) is None  # decided once resolved


def test_trusted_endpoints_are_allowed_at_their_port() -> None:
    p = policy(api=["0.0.0.0:8080"], trusted=["http://127.0.0.1:9001"])
    assert p.check(None, ip("127.0.0.1"), 9001) is None
    assert p.check(None, ip("127.0.0.1"), 9002) is not None


# -- enforced on real servers ------------------------------------------------------------------


def command(url: str, method: str = "GET", resource: str = "arn:aws:states:::http:invoke") -> InvokeTask:
    params: Any = {"ApiEndpoint": url, "Method": method}
    if not resource.startswith("arn:"):
        params = {}
    return InvokeTask(token="tok", resource=resource, input=params, state="Call", entered=2,
                      idempotency_key="key", attempt=0, timeout_s=5, heartbeat_s=None,
                      credentials=None, execution="x")


class Target:
    """A service that counts what it gets and redirects where it is told."""

    def __init__(self) -> None:
        self.hits: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/ok", self.ok)
        app.router.add_route("*", "/redirect", self.redirect)
        return app

    async def ok(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.json_response({"ok": True})

    async def redirect(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        raise web.HTTPFound(request.query["to"])


@pytest.fixture
async def own_api(start_app: StartApp) -> tuple[str, Target]:
    """A stand-in for the service's own API: a server whose address is its listener."""
    target = Target()
    return await start_app(target.app()), target


@pytest.fixture
async def other(start_app: StartApp) -> tuple[str, Target]:
    target = Target()
    return await start_app(target.app()), target


@pytest.fixture
async def make_invokers() -> AsyncIterator[Any]:
    made: list[Invokers] = []

    def make(**settings: Any) -> Invokers:
        invokers = Invokers(InvokerSettings(**settings))
        made.append(invokers)
        return invokers

    yield make
    for invokers in made:
        await invokers.close()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def test_ssrf_to_the_own_api_is_denied(own_api: tuple[str, Target], make_invokers: Any) -> None:
    api, target = own_api
    invokers = make_invokers(api_endpoints=(f"127.0.0.1:{port_of(api)}",))
    for url in (f"{api}/ok", f"http://localhost:{port_of(api)}/ok"):
        result = await invokers.invoke(command(url))
        assert result is not None and result["error"] == EGRESS_ERROR, result
        assert "egress policy" in result["cause"] and "own API" in result["cause"]
    plain = await invokers.invoke(command(f"{api}/ok", resource=f"{api}/ok"))
    assert plain is not None and plain["error"] == EGRESS_ERROR
    assert target.hits == []


async def test_metadata_and_unspecified_addresses_are_denied(other: tuple[str, Target],
                                                             make_invokers: Any) -> None:
    url, target = other
    invokers = make_invokers()
    started = time.monotonic()
    metadata = await invokers.invoke(command("http://169.254.169.254/latest/meta-data/"))
    assert metadata is not None and metadata["error"] == EGRESS_ERROR
    assert "169.254.169.254:80" in metadata["cause"]
    assert time.monotonic() - started < 2  # refused before connecting, not timed out
    zero = await invokers.invoke(command(f"http://0.0.0.0:{port_of(url)}/ok"))
    assert zero is not None and zero["error"] == EGRESS_ERROR and "unspecified" in zero["cause"]
    assert target.hits == []
    # localhost and loopback stay open while the service listens on loopback (the default)
    ok = await invokers.invoke(command(f"http://localhost:{port_of(url)}/ok"))
    assert ok is not None and ok["type"] == "TaskSucceeded"


async def test_a_redirect_to_a_denied_address_is_denied(own_api: tuple[str, Target],
                                                        other: tuple[str, Target],
                                                        make_invokers: Any) -> None:
    api, api_target = own_api
    url, target = other
    invokers = make_invokers(api_endpoints=(f"127.0.0.1:{port_of(api)}",))
    for to in (f"{api}/ok", f"http://localhost:{port_of(api)}/ok",
               "http://169.254.169.254/latest/meta-data/"):
        result = await invokers.invoke(command(f"{url}/redirect?to={to}"))
        assert result is not None and result["error"] == EGRESS_ERROR, (to, result)
    assert api_target.hits == []
    assert target.hits == ["/redirect"] * 3
    followed = await invokers.invoke(command(f"{url}/redirect?to={url}/ok"))
    assert followed is not None and followed["type"] == "TaskSucceeded"


async def test_loopback_is_denied_when_listening_beyond_it_unless_allowed(
        other: tuple[str, Target], make_invokers: Any) -> None:
    url, target = other
    closed = make_invokers(api_endpoints=("0.0.0.0:1",))
    for address in (url, f"http://localhost:{port_of(url)}"):
        result = await closed.invoke(command(f"{address}/ok"))
        assert result is not None and result["error"] == EGRESS_ERROR and "loopback" in result["cause"]
    assert target.hits == []
    opened = make_invokers(api_endpoints=("0.0.0.0:1",), egress_allow=("127.0.0.1",))
    result = await opened.invoke(command(f"{url}/ok"))
    assert result is not None and result["type"] == "TaskSucceeded"


async def test_an_explicit_allow_lets_a_denied_endpoint_through(own_api: tuple[str, Target],
                                                                make_invokers: Any) -> None:
    api, target = own_api
    listener = f"127.0.0.1:{port_of(api)}"
    invokers = make_invokers(api_endpoints=(listener,), egress_allow=(listener,))
    result = await invokers.invoke(command(f"{api}/ok"))
    assert result is not None and result["type"] == "TaskSucceeded"
    assert target.hits == ["/ok"]


async def test_deny_rules_apply(other: tuple[str, Target], make_invokers: Any) -> None:
    url, target = other
    invokers = make_invokers(egress_deny=(f"127.0.0.1:{port_of(url)}",))
    result = await invokers.invoke(command(f"{url}/ok"))
    assert result is not None and result["error"] == EGRESS_ERROR and "--egress-deny" in result["cause"]
    assert target.hits == []


class FixedDns(AbstractResolver):
    """A DNS that answers every name with one address (the network's part, not ours)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        self.asked.append(host)
        return [{"hostname": host, "host": self.address, "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": 0}]

    async def close(self) -> None:
        pass


async def test_a_host_name_resolving_to_a_denied_address_is_denied(
        own_api: tuple[str, Target], other: tuple[str, Target]) -> None:
    api, api_target = own_api
    url, target = other
    rules = EgressPolicy.build(api=[f"127.0.0.1:{port_of(api)}"])

    async def get(name_url: str, dns: FixedDns) -> int:
        connector = aiohttp.TCPConnector(resolver=EgressResolver(lambda: rules, dns),
                                         use_dns_cache=False)
        session = aiohttp.ClientSession(connector=connector,
                                        middlewares=(egress_middleware(lambda: rules),))
        async with session, session.get(name_url) as response:
            return response.status

    loopback = FixedDns("127.0.0.1")
    with pytest.raises(EgressDenied, match="own API"):
        await get(f"http://api.example.test:{port_of(api)}/ok", loopback)
    with pytest.raises(EgressDenied, match="metadata"):
        await get("http://metadata.example.test/", FixedDns("169.254.169.254"))
    assert await get(f"http://svc.example.test:{port_of(url)}/ok", loopback) == 200
    assert loopback.asked == ["api.example.test", "svc.example.test"]
    assert api_target.hits == [] and target.hits == ["/ok"]
