"""The keyring: API keys, dashboard sessions and login links, over the store's gateway.

Keys are made here (:mod:`statemachine.security.keys`), their secrets sealed with the
service's :class:`~statemachine.security.secretbox.SecretBox` before they reach Redis, and
their SHA-256 digests kept beside them for Bearer lookups.  The API's middleware asks
:meth:`Keyring.verify` (a Bearer secret) or :meth:`Keyring.session` (a session cookie)
on each request, so both answer from a small in-process cache for :data:`CACHE_S`
seconds: a start then pays a SHA-256 and a dict lookup, not a Redis round trip.  The price
is documented: a key revoked through another API process still works on this one for up
to :data:`CACHE_S` seconds; the revoking process forgets it at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from statemachine.errors import InputError
from statemachine.interpreter.formats import iso
from statemachine.runtime.clock import now_ms
from statemachine.runtime.store import KeyRecord, Store
from statemachine.security.keys import (
    KEY_NAME_PATTERN,
    ApiKey,
    check_key_id,
    check_secret,
    digest,
    new_key_id,
)
from statemachine.security.keys import new_secret as _new_secret
from statemachine.security.roles import Role
from statemachine.security.secretbox import SecretBox

__all__ = ["CACHE_S", "LOGIN_TTL_S", "SESSION_TTL_S", "Keyring"]

CACHE_S = 10.0
"""How long a verified key or session is trusted without asking Redis again."""
CACHE_ENTRIES = 4096
LOGIN_TTL_S = 15 * 60
"""A login link works once, within this many seconds of being made."""
SESSION_TTL_S = 12 * 3600
"""A dashboard session ends this long after the login (the cookie's Max-Age too)."""
def check_key_name(name: Any) -> str:
    """A key's name: optional text for people (:data:`KEY_NAME_PATTERN`)."""
    if name is None:
        return ""
    if not isinstance(name, str):
        raise InputError("field 'name' must be a string", "InvalidType")
    if not re.match(KEY_NAME_PATTERN, name):
        raise InputError("a key name is at most 80 characters, none of them a control "
                         "character", "InvalidName")
    return name


def _key(record: KeyRecord) -> ApiKey:
    return ApiKey(record.id, Role(record.role), record.name, record.created)


class Keyring:
    """Create, list, revoke and verify API keys; open and check dashboard sessions."""

    def __init__(self, store: Store, box: SecretBox, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._keys = store.apikeys
        self._box = box
        self._clock = clock
        self._verified: dict[str, tuple[float, ApiKey]] = {}  # secret digest -> (until, key)
        self._sessions: dict[str, tuple[float, ApiKey]] = {}  # token digest -> (until, key)

    # -- keys ----------------------------------------------------------------------------

    async def create(self, role: Role, name: str | None = None) -> tuple[ApiKey, str]:
        """A new key of ``role``; returns it and its secret (shown to its owner once)."""
        secret = _new_secret()
        return await self.put(new_key_id(), secret, role, name), secret

    async def put(self, key_id: str, secret: str, role: Role, name: str | None = None) -> ApiKey:
        """Set key ``key_id`` to ``secret`` and ``role`` (made if new; bootstrapping)."""
        check_key_id(key_id)
        check_secret(secret)
        old = await self._keys.get(key_id)
        created = old.created if old is not None else iso(now_ms())
        record = KeyRecord(id=key_id, name=check_key_name(name), role=role.value,
                           created=created, sealed=self._box.encrypt(secret),
                           digest=digest(secret))
        await self._keys.put(record)
        self._forget(key_id)
        return _key(record)

    async def list(self) -> list[ApiKey]:
        """Every key, oldest first (never a secret)."""
        return sorted((_key(r) for r in await self._keys.all()), key=lambda k: (k.created, k.id))

    async def get(self, key_id: str) -> ApiKey | None:
        record = await self._keys.get(key_id)
        return None if record is None else _key(record)

    async def revoke(self, key_id: str) -> bool:
        """Delete a key: at once on this process, within :data:`CACHE_S` on others."""
        self._forget(key_id)
        return await self._keys.delete(key_id)

    async def secret(self, key_id: str) -> str | None:
        """A key's secret in clear (to check a signature made with it), or None."""
        record = await self._keys.get(key_id)
        return None if record is None else self._box.decrypt(record.sealed)

    async def verify(self, secret: str) -> ApiKey | None:
        """The key whose secret this is, or None."""
        hashed = digest(secret)

        async def load() -> ApiKey | None:
            record = await self._keys.by_digest(hashed)
            return None if record is None else _key(record)

        return await self._cached(self._verified, hashed, load)

    # -- dashboard: login links and sessions ------------------------------------------------

    async def login_token(self, key: ApiKey) -> str:
        """A token for a one-time login link that opens a session of ``key``."""
        token = _new_secret()
        await self._keys.issue_login(digest(token), key.id, LOGIN_TTL_S)
        return token

    async def redeem_login(self, token: str) -> ApiKey | None:
        """The key a login token was made for (the token is spent), or None."""
        key_id = await self._keys.redeem_login(digest(token))
        return None if key_id is None else await self.get(key_id)

    async def open_session(self, key: ApiKey) -> str:
        """A new session of ``key``; returns the token its cookie carries."""
        token = _new_secret()
        await self._keys.open_session(digest(token), key.id, SESSION_TTL_S)
        return token

    async def session(self, token: str) -> ApiKey | None:
        """The key of a live session (None when it ended or its key was revoked)."""
        hashed = digest(token)

        async def load() -> ApiKey | None:
            key_id = await self._keys.session(hashed)
            return None if key_id is None else await self.get(key_id)

        return await self._cached(self._sessions, hashed, load)

    async def close_session(self, token: str) -> None:
        hashed = digest(token)
        self._sessions.pop(hashed, None)
        await self._keys.close_session(hashed)

    # -- the cache ------------------------------------------------------------------------

    async def _cached(self, cache: dict[str, tuple[float, ApiKey]], hashed: str,
                      load: Callable[[], Awaitable[ApiKey | None]]) -> ApiKey | None:
        """The key ``cache`` holds for ``hashed`` while fresh, else ``load()``'s (kept for
        :data:`CACHE_S`; a miss is not kept, so a new key works at once)."""
        now = self._clock()
        cached = cache.get(hashed)
        if cached is not None and cached[0] > now:
            return cached[1]
        key = await load()
        if key is None:
            cache.pop(hashed, None)
            return None
        self._remember(cache, hashed, key, now)
        return key

    def _remember(self, cache: dict[str, tuple[float, ApiKey]], hashed: str, key: ApiKey,
                  now: float) -> None:
        if len(cache) >= CACHE_ENTRIES:
            cache.clear()  # rare (that many distinct keys within CACHE_S): start over
        cache[hashed] = (now + CACHE_S, key)

    def _forget(self, key_id: str) -> None:
        for cache in (self._verified, self._sessions):
            for hashed in [h for h, (_, key) in cache.items() if key.id == key_id]:
                del cache[hashed]
