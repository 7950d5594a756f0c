"""API keys, dashboard sessions and one-time login tokens, as stored in Redis.

The gateway holds no secret in clear and decides nothing: it stores what
:class:`statemachine.keyring.Keyring` hands it — a key's record with its secret already
encrypted (``sealed``) and the SHA-256 ``digest`` of the secret, by which a Bearer secret
is found — and the digests of session and login tokens (a token itself is never stored).
Keys: ``sm:apikeys``, ``sm:apikeys:digest``, ``sm:session:<digest>``, ``sm:login:<digest>``
(see :mod:`.keys`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from statemachine.runtime.store.client import RedisStore
from statemachine.runtime.store.codec import dumps, loads
from statemachine.runtime.store.keys import API_KEY_DIGESTS, API_KEYS, login_token, session
from statemachine.runtime.store.machines import WAIT_S

__all__ = ["ApiKeys", "KeyRecord"]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One stored key: ``role`` is a :class:`~statemachine.security.roles.Role` value,
    ``sealed`` the secret encrypted by the secret box, ``digest`` its SHA-256 (hex)."""

    id: str
    name: str
    role: str
    created: str
    sealed: str
    digest: str


def _record(raw: bytes | None) -> KeyRecord | None:
    return None if raw is None else KeyRecord(**loads(raw))


class ApiKeys:
    """Store, find and delete keys; open, find and close sessions; issue and redeem logins."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._client = store.client

    async def put(self, record: KeyRecord) -> None:
        """Store ``record`` (a new key, or a new secret/role for an existing id)."""
        client, write = self._client, self._store.write

        async def store() -> None:
            # Key by key, no transaction (the two hashes may live on two cluster nodes): a
            # digest entry is trusted only when its key's record has the same digest
            # (by_digest), so every state in between is safe.
            old = _record(await client.hget(API_KEYS, record.id))
            await write("HSET", API_KEYS, record.id, dumps(asdict(record)))
            await write("HSET", API_KEY_DIGESTS, record.digest, record.id)
            if old is not None and old.digest != record.digest:
                await write("HDEL", API_KEY_DIGESTS, old.digest)

        await self._store.retry(store, give_up_s=WAIT_S)

    async def get(self, key_id: str) -> KeyRecord | None:
        return _record(await self._store.retry(lambda: self._client.hget(API_KEYS, key_id),
                                               give_up_s=WAIT_S))

    async def by_digest(self, digest: str) -> KeyRecord | None:
        """The key whose secret has this SHA-256, or None."""
        key_id = await self._store.retry(lambda: self._client.hget(API_KEY_DIGESTS, digest),
                                         give_up_s=WAIT_S)
        if key_id is None:
            return None
        found = await self.get(key_id.decode())
        return found if found is not None and found.digest == digest else None

    async def all(self) -> list[KeyRecord]:
        raw = await self._store.retry(lambda: self._client.hgetall(API_KEYS), give_up_s=WAIT_S)
        return [KeyRecord(**loads(value)) for value in raw.values()]

    async def delete(self, key_id: str) -> bool:
        """Delete a key (its sessions then find no key and fail); False when there was none."""
        client, write = self._client, self._store.write

        async def delete() -> bool:
            old = _record(await client.hget(API_KEYS, key_id))
            if old is None:
                return False
            await write("HDEL", API_KEYS, key_id)  # first: its digest entry is then dead
            await write("HDEL", API_KEY_DIGESTS, old.digest)
            return True

        return await self._store.retry(delete, give_up_s=WAIT_S)

    # -- sessions and login tokens (by the digest of the token) ----------------------------

    async def open_session(self, digest: str, key_id: str, ttl_s: int) -> None:
        await self._store.retry(lambda: self._client.set(session(digest), key_id, ex=ttl_s),
                                give_up_s=WAIT_S)

    async def session(self, digest: str) -> str | None:
        """The key id of a live session, or None."""
        key_id = await self._store.retry(lambda: self._client.get(session(digest)),
                                         give_up_s=WAIT_S)
        return None if key_id is None else key_id.decode()

    async def close_session(self, digest: str) -> None:
        await self._store.retry(lambda: self._client.delete(session(digest)), give_up_s=WAIT_S)

    async def issue_login(self, digest: str, key_id: str, ttl_s: int) -> None:
        await self._store.retry(lambda: self._client.set(login_token(digest), key_id, ex=ttl_s),
                                give_up_s=WAIT_S)

    async def redeem_login(self, digest: str) -> str | None:
        """The key id of a login token, deleted in the same command (single use), or None."""
        key_id = await self._store.retry(lambda: self._client.getdel(login_token(digest)),
                                         give_up_s=WAIT_S)
        return None if key_id is None else key_id.decode()
