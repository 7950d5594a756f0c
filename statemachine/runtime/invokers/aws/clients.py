"""One factory for every AWS client the invokers use: aiobotocore clients per service,
endpoint and credentials, opened on first use and kept until :meth:`AwsClients.close`.

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
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session

from statemachine.runtime.invokers.base import InvokerSettings
from statemachine.runtime.invokers.connector import EgressResolver
from statemachine.runtime.invokers.egress import EgressDenied, EgressPolicy

__all__ = ["REFRESH_BEFORE_S", "AwsClients", "Credentials"]

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
        self._clients: dict[tuple[str, str | None, str | None], _Held] = {}
        self._roles: dict[str, Credentials] = {}
        self._retired: list[AsyncExitStack] = []
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
        self.check(str(held.client.meta.endpoint_url))
        return held.client

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
            return held
        sts = await self.client("sts")
        answer = await sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)
        got = answer["Credentials"]
        held = Credentials(got["AccessKeyId"], got["SecretAccessKey"], got["SessionToken"],
                           got["Expiration"].timestamp())
        self._roles[role_arn] = held
        return held

    async def _retire(self, stack: AsyncExitStack) -> None:
        """Keep a replaced client open until the next replacement: a call that began with it
        may still be running now, but not an hour later."""
        self._retired, older = [stack], self._retired
        for old in older:
            await old.aclose()

    async def close(self) -> None:
        """Close every client."""
        stacks = [held.stack for held in self._clients.values()] + self._retired
        self._clients, self._retired, self._roles = {}, [], {}
        for stack in stacks:
            await stack.aclose()
