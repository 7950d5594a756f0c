"""The egress policy: which addresses a task request may connect to.

Every request the invokers make through :class:`~statemachine.runtime.invokers.http.
HttpClient` (HTTP tasks, plain URL resources, their ``.waitForTaskToken`` requests, Lambda
and token fetches) is checked here twice: each hop's URL before it is sent (an IP literal
in full, a host name against the name rules), and every address a host name resolves to,
inside the connector's resolver, so the address checked is the address connected to (no
DNS-rebinding gap) — for the first request and for every redirect hop alike.

An address is judged in this order:

1. an ``allow`` rule that matches lets it through — except the service's own endpoints,
   which only a rule naming their port opens (``--egress-allow 127.0.0.1:6379``);
2. always denied: the service's own API listeners and its Redis; link-local and cloud
   metadata addresses (``169.254.0.0/16``, ``fe80::/10``, ``fd00:ec2::254``); the
   unspecified addresses (``0.0.0.0/8``, ``::``), which reach this host; loopback
   (``127.0.0.0/8``, ``::1``) unless the service listens on loopback only (the default,
   so local development and the demo keep working);
3. a ``deny`` rule that matches denies it;
4. anything else is allowed.

Rules are CIDRs or addresses (``10.0.0.0/8``, ``fd00::/8``, ``10.1.2.3``) and host names
(``api.example.com``, ``*.internal`` for its subdomains, ``*`` for every address), each
optionally with a port (``10.1.2.3:8080``, ``[::1]:9000``, ``api.example.com:443``).  Name
rules match the name in the URL; address rules match the resolved address.  An allow-list
is ``deny *`` plus allows.  The configured Lambda endpoint and proxies are the operator's
choice and are allowed (their host and port).

Everything but :func:`local_address` (one routing lookup, no packet sent) is pure.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

__all__ = ["EGRESS_ERROR", "Denial", "EgressDenied", "EgressPolicy", "Rule", "endpoint_of", "local_address",
           "parse_ip"]

EGRESS_ERROR = "States.Permissions"
"""The error of a task whose request the policy refused: AWS's name for a task lacking the
privilege to do what it asks (catchable by ``States.ALL``)."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA = tuple(ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10",
                                                    "fd00:ec2::254/128"))
UNSPECIFIED = tuple(ipaddress.ip_network(n) for n in ("0.0.0.0/8", "::/128"))
LOOPBACK = tuple(ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128"))
LOCALHOST_IPS = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_NAME = re.compile(r"^(\*|(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*)$")
_DEFAULT_PORTS = {"http": 80, "https": 443, "redis": 6379, "rediss": 6379}


class EgressDenied(Exception):
    """A connection the egress policy refused (raised inside aiohttp, caught by the client)."""

    def __init__(self, denial: Denial) -> None:
        super().__init__(str(denial))
        self.denial = denial


@dataclass(frozen=True, slots=True)
class Denial:
    """Why an address may not be connected to."""

    address: str
    reason: str

    def __str__(self) -> str:
        return f"the egress policy denies {self.address}: {self.reason}"


def parse_ip(text: str) -> Address | None:
    """An IP address (IPv4-mapped IPv6 as IPv4, zone dropped), or None for a name."""
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip


def _split_port(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` (a bare IPv6 has no port)."""
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise ValueError(f"malformed address {text!r}")
        return host, _port(rest[1:], text) if rest else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(port, text)
    return text, None


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"bad port in {whole!r}")
    return int(text)


def _is_localhost(name: str) -> bool:
    return name == "localhost" or name.endswith(".localhost")


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``--egress-allow`` / ``--egress-deny`` entry: a network or a host name pattern."""

    text: str
    network: Network | None = None
    name: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> Rule:
        """The rule ``text`` stands for; ValueError naming the problem when it is none."""
        raw = text.strip()
        if not raw:
            raise ValueError("an empty egress rule")
        if "/" in raw:  # a CIDR, possibly "[v6/64]:port" -- ports on networks are rare
            host, port = _split_port(raw) if raw.startswith("[") else (raw, None)
            try:
                return cls(raw, network=ipaddress.ip_network(host, strict=False), port=port)
            except ValueError:
                raise ValueError(f"{text!r} is not a CIDR (like 10.0.0.0/8)") from None
        host, port = _split_port(raw)
        ip = parse_ip(host)
        if ip is not None:
            return cls(raw, network=ipaddress.ip_network(ip), port=port)
        name = host.lower().rstrip(".")
        if not _NAME.match(name):
            raise ValueError(f"{text!r} is neither a CIDR, an address nor a host name "
                             "(like api.example.com or *.internal)")
        return cls(raw, name=name, port=port)

    def matches(self, name: str | None, ip: Address | None, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.name is not None:
            if self.name == "*":
                return True
            if name is None:
                return False
            if self.name.startswith("*."):
                return name.endswith(self.name[1:])
            return name == self.name
        return ip is not None and self.network is not None and ip in self.network


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One of the service's own endpoints: an API listener or its Redis.

    ``ips`` empty means "this host": the endpoint is (or listens on) loopback, the
    unspecified address or one of this machine's own addresses.
    """

    what: str
    text: str
    port: int
    ips: frozenset[Address] = frozenset()
    name: str | None = None


def endpoint_of(url_or_address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``redis://h:p/0``-like URLs and ``host:port`` texts; None for
    what has no TCP address (``unix://``)."""
    if "://" in url_or_address:
        parts = urlsplit(url_or_address)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            return None
        return parts.hostname, parts.port or _DEFAULT_PORTS[parts.scheme]
    host, port = _split_port(url_or_address.strip())
    return (host, port) if host and port else None


@lru_cache(maxsize=256)
def local_address(ip: Address) -> bool:
    """Whether ``ip`` is one of this machine's addresses: a route lookup (a UDP socket
    "connected" to it, no packet sent) picks the address itself as source only then."""
    if ip.is_loopback or ip.is_unspecified:
        return True
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((str(ip), 9))
            return parse_ip(str(probe.getsockname()[0])) == ip
    except OSError:
        return False


def _resolve(name: str) -> frozenset[Address]:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return frozenset()
    return frozenset(ip for info in infos if (ip := parse_ip(str(info[4][0]))) is not None)


@dataclass(frozen=True)
class EgressPolicy:
    """The rules, the service's own endpoints, and whether loopback is open."""

    allow: tuple[Rule, ...] = ()
    deny: tuple[Rule, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    loopback_open: bool = True
    is_local: Callable[[Address], bool] = field(default=local_address, compare=False)

    @classmethod
    def build(cls, *, allow: Iterable[str] = (), deny: Iterable[str] = (),
              api: Sequence[str] = (), redis: str | None = None,
              trusted: Iterable[str] = (),
              resolve: Callable[[str], frozenset[Address]] = _resolve,
              is_local: Callable[[Address], bool] = local_address) -> EgressPolicy:
        """The policy for these rules; ``api``: the API's listening ``host:port``s (none
        known: loopback stays open, as by default); ``redis``: its URL or ``host:port``;
        ``trusted``: URLs the operator configured (Lambda endpoint, proxies), allowed at
        their host and port.  ``resolve`` looks up endpoint host names (once, here)."""
        endpoints: list[Endpoint] = []
        api_hosts: list[str] = []
        for what, texts in (("API", list(api)), ("Redis", [redis] if redis else [])):
            for text in texts:
                found = endpoint_of(text)
                if found is None:
                    continue
                host, port = found
                if what == "API":
                    api_hosts.append(host)
                endpoints.append(_endpoint(what, text, host, port, resolve, is_local))
        trusted_rules = []
        for url in trusted:
            found = endpoint_of(url)
            if found is not None:
                host = f"[{found[0]}]" if ":" in found[0] else found[0]
                trusted_rules.append(Rule.parse(f"{host}:{found[1]}"))
        loopback_open = all(_loopback_host(h) for h in api_hosts)
        return cls(allow=(*trusted_rules, *(Rule.parse(a) for a in allow)),
                   deny=tuple(Rule.parse(d) for d in deny), endpoints=tuple(endpoints),
                   loopback_open=loopback_open, is_local=is_local)

    def _own(self, name: str | None, ip: Address, port: int) -> Endpoint | None:
        for endpoint in self.endpoints:
            if endpoint.port != port:
                continue
            if endpoint.ips:
                if ip in endpoint.ips or (name is not None and name == endpoint.name):
                    return endpoint
            elif ip.is_loopback or ip.is_unspecified or self.is_local(ip):
                return endpoint
        return None

    def check(self, name: str | None, ip: Address, port: int) -> Denial | None:
        """None when ``ip:port`` (reached as host ``name``, if any) may be connected to."""
        ip = parse_ip(str(ip)) or ip
        name = name.lower().rstrip(".") if name else None
        allowed = next((r for r in self.allow if r.matches(name, ip, port)), None)
        own = self._own(name, ip, port)
        if allowed is not None and (own is None or allowed.port is not None):
            return None
        where = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
        if name and parse_ip(name) is None:
            where = f"{name}:{port} ({ip})"
        if own is not None:
            return Denial(where, f"it is the service's own {own.what} endpoint ({own.text}); "
                          f"only --egress-allow naming its port opens it")
        if any(ip in net for net in METADATA):
            return Denial(where, "link-local and cloud metadata addresses (169.254.0.0/16, "
                          "fe80::/10, fd00:ec2::254) are denied unless --egress-allow names them")
        if any(ip in net for net in UNSPECIFIED):
            return Denial(where, "the unspecified address (0.0.0.0, ::) reaches this host and "
                          "is denied unless --egress-allow names it")
        if not self.loopback_open and any(ip in net for net in LOOPBACK):
            return Denial(where, "loopback is denied when the service listens on other "
                          "addresses than loopback, unless --egress-allow names it")
        denied = next((r for r in self.deny if r.matches(name, ip, port)), None)
        if denied is not None:
            return Denial(where, f"it matches --egress-deny {denied.text}")
        return None

    def check_url(self, host: str, port: int) -> Denial | None:
        """The check of one hop's URL before it is sent: an IP literal (and ``localhost``)
        in full; a host name against the name rules (its addresses are checked when
        resolved)."""
        ip = parse_ip(host.strip("[]"))
        if ip is not None:
            return self.check(None, ip, port)
        name = host.lower().rstrip(".")
        if _is_localhost(name):
            return next((d for d in (self.check(name, a, port) for a in LOCALHOST_IPS) if d),
                        None)
        if any(r.matches(name, None, port) for r in self.allow if r.name is not None):
            return None
        denied = next((r for r in self.deny if r.name not in (None, "*")
                       and r.matches(name, None, port)), None)
        if denied is not None:
            return Denial(f"{name}:{port}", f"it matches --egress-deny {denied.text}")
        return None


def _loopback_host(host: str) -> bool:
    ip = parse_ip(host.strip("[]"))
    return _is_localhost(host.lower()) if ip is None else ip.is_loopback


def _endpoint(what: str, text: str, host: str, port: int,
              resolve: Callable[[str], frozenset[Address]],
              is_local: Callable[[Address], bool]) -> Endpoint:
    ip = parse_ip(host.strip("[]"))
    if ip is None and _is_localhost(host.lower()):
        return Endpoint(what, text, port)
    ips = frozenset([ip]) if ip is not None else resolve(host)
    if not ips or any(a.is_loopback or a.is_unspecified or is_local(a) for a in ips):
        return Endpoint(what, text, port)  # this host: any of its addresses reaches it
    return Endpoint(what, text, port, ips, None if ip is not None else host.lower())
