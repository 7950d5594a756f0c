"""One factory for every AWS client the invokers use: aiobotocore clients per service,
endpoint and credentials, opened on first use and kept until :meth:`AwsClients.close`, at
most :data:`MAX_CLIENTS` of them (the least recently used is closed first: a task may name
any role, so the set of (service, endpoint, role) keys is the users' to grow).

Credentials
    botocore's default chain (environment, shared config and credential files, SSO, the
    container and instance metadata services), unless the settings carry explicit keys.
    A Task's ``Credentials: {"RoleArn": ...}`` is assumed through STS with those; the
    role's credentials are cached until :data:`REFRESH_BEFORE_S` before they expire, then
    assumed again (the old clients are closed at the next refresh, when no call can still
    be using them).

Endpoints
    ``STATEMACHINE_AWS_ENDPOINT_<SERVICE>`` for one service, ``STATEMACHINE_AWS_ENDPOINT``
    for every service (SQS also reads ``STATEMACHINE_SQS_ENDPOINT``,
    ``AWS_ENDPOINT_URL_SQS``), else botocore's own choice (AWS, or its ``AWS_ENDPOINT_URL*``
    variables); a call may name its own endpoint (SQS's queue URL host).

Egress
    Every connection obeys the task egress policy (:mod:`..egress`): the endpoint's host
    is checked before each call (IP literals in full), and every address a host name
    resolves to is checked inside aiohttp's resolver (:class:`..connector.EgressResolver`),
    so the address checked is the address connected to.  A refusal raises
    :class:`~..egress.EgressDenied`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import NoCredentialsError

from statemachine.runtime.invokers.base import InvokerSettings
from statemachine.runtime.invokers.connector import EgressResolver
from statemachine.runtime.invokers.egress import EgressDenied, EgressPolicy

__all__ = ["MAX_CLIENTS", "REFRESH_BEFORE_S", "RETIRED_FOR_S", "AwsClients", "Credentials"]

MAX_CLIENTS = 64
"""Clients (and assumed roles' credentials) kept at most; each holds a connection pool."""
RETIRED_FOR_S = 900.0
"""A replaced or evicted client stays open this long, for the calls that began with it
(Lambda's longest; an AWS call of a task is bounded by the task's timeout)."""

REFRESH_BEFORE_S = 300.0
"""An assumed role's credentials are renewed this long before they expire."""
SESSION_NAME = "statemachine"
_ATTEMPTS = 3  # the Java SDK's default: Step Functions' own calls retry as often


@dataclass(frozen=True, slots=True)
class Credentials:
    """Temporary credentials of an assumed role and when they expire (epoch seconds)."""

    access_key: str
    secret_key: str = field(repr=False)
    token: str = field(repr=False)
    expires: float


@dataclass(slots=True)
class _Held:
    client: Any
    stack: AsyncExitStack
    access_key: str | None


class AwsClients:
    """aiobotocore clients by (service, endpoint, role), sharing one session."""

    def __init__(self, settings: InvokerSettings, policy: Callable[[], EgressPolicy]) -> None:
        self._settings = settings
        self._policy = policy
        self._session: AioSession | None = None
        self._clients: OrderedDict[tuple[str, str | None, str | None], _Held] = OrderedDict()
        self._roles: OrderedDict[str, Credentials] = OrderedDict()
        self._retired: list[tuple[float, AsyncExitStack]] = []
        self._lock = asyncio.Lock()

    def use(self, settings: InvokerSettings) -> None:
        """New settings (the API's listeners learned): the policy is read per call anyway."""
        self._settings = settings

    def endpoint(self, service: str, *aliases: str) -> str | None:
        """The configured endpoint of a botocore service (None: botocore decides)."""
        return self._settings.aws_endpoint(service, *aliases)

    async def client(self, service: str, *, role_arn: str | None = None,
                     endpoint: str | None = None, aliases: tuple[str, ...] = ()) -> Any:
        """The client for ``service`` (botocore's name), as ``role_arn`` if given, sent to
        ``endpoint`` or the configured one; the egress policy is checked before it is
        returned, so a call on it may go ahead."""
        url = endpoint or self.endpoint(service, *aliases)
        credentials = await self._role(role_arn) if role_arn else None
        key = (service, url, role_arn)
        async with self._lock:
            held = self._clients.get(key)
            access_key = credentials.access_key if credentials else None
            if held is None or held.access_key != access_key:
                if held is not None:
                    await self._retire(held.stack)
                held = await self._open(service, url, credentials)
                self._clients[key] = held
                while len(self._clients) > MAX_CLIENTS:
                    _, evicted = self._clients.popitem(last=False)
                    await self._retire(evicted.stack)
            self._clients.move_to_end(key)
        self.check(str(held.client.meta.endpoint_url))
        return held.client

    async def credentials(self, role_arn: str | None = None) -> Credentials:
        """The keys a call signs with: the role's when given, else the settings' or
        botocore's default chain's (for requests made without a client: API Gateway's)."""
        if role_arn:
            return await self._role(role_arn)
        s = self._settings
        if s.aws_access_key_id and s.aws_secret_access_key:
            return Credentials(s.aws_access_key_id, s.aws_secret_access_key,
                               s.aws_session_token or "", math.inf)
        if self._session is None:
            self._session = get_session()
        found = await self._session.get_credentials()
        if found is None:
            raise NoCredentialsError()
        frozen = await found.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token or "", math.inf)

    def check(self, url: str) -> None:
        """Raise :class:`EgressDenied` when the policy refuses ``url``'s host."""
        parts = urlsplit(url)
        if parts.hostname is None:
            return
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        denial = self._policy().check_url(host, port)
        if denial is not None:
            raise EgressDenied(denial)

    async def _open(self, service: str, url: str | None,
                    credentials: Credentials | None) -> _Held:
        s = self._settings
        if self._session is None:
            self._session = get_session()
        keys: dict[str, Any] = {}
        if credentials is not None:
            keys = {"aws_access_key_id": credentials.access_key,
                    "aws_secret_access_key": credentials.secret_key,
                    "aws_session_token": credentials.token}
        elif s.aws_access_key_id and s.aws_secret_access_key:
            keys = {"aws_access_key_id": s.aws_access_key_id,
                    "aws_secret_access_key": s.aws_secret_access_key,
                    "aws_session_token": s.aws_session_token}
        config = AioConfig(
            max_pool_connections=s.connection_limit,
            retries={"total_max_attempts": _ATTEMPTS, "mode": "standard"},
            # the service judges the parameters, as for Step Functions' Java SDK calls
            parameter_validation=False,
            connector_args={"resolver": EgressResolver(self._policy)},
        )
        region = s.sqs_region if service == "sqs" else s.aws_region
        stack = AsyncExitStack()
        client = await stack.enter_async_context(self._session.create_client(
            service, region_name=region, endpoint_url=url, config=config, **keys))
        return _Held(client, stack, credentials.access_key if credentials else None)

    async def _role(self, role_arn: str) -> Credentials:
        """The role's credentials, assumed again when they are about to expire."""
        held = self._roles.get(role_arn)
        if held is not None and held.expires - REFRESH_BEFORE_S > time.time():
            self._roles.move_to_end(role_arn)
            return held
        sts = await self.client("sts")
        answer = await sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)
        got = answer["Credentials"]
        held = Credentials(got["AccessKeyId"], got["SecretAccessKey"], got["SessionToken"],
                           got["Expiration"].timestamp())
        self._roles[role_arn] = held
        while len(self._roles) > MAX_CLIENTS:
            self._roles.popitem(last=False)
        return held

    async def _retire(self, stack: AsyncExitStack) -> None:
        """Keep a replaced client open for :data:`RETIRED_FOR_S`: a call that began with it
        may still be running now, but not a quarter of an hour later."""
        now = time.monotonic()
        due = [old for at, old in self._retired if now - at >= RETIRED_FOR_S]
        self._retired = [(at, old) for at, old in self._retired if now - at < RETIRED_FOR_S]
        self._retired.append((now, stack))
        for old in due:
            await old.aclose()

    async def close(self) -> None:
        """Close every client."""
        stacks = [held.stack for held in self._clients.values()]
        stacks += [stack for _, stack in self._retired]
        self._clients, self._retired, self._roles = OrderedDict(), [], OrderedDict()
        for stack in stacks:
            await stack.aclose()
