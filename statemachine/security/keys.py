"""API keys as values: the public id, the secret, its digest, and the texts that carry them.

A key is a public id (``SMK`` + 17 characters, 20 in all, shaped like an AWS access key
id so the SigV4 API of a later release can take it as one) and a secret of 256 random
bits (``secrets.token_urlsafe(32)``, 43 characters).  The service keeps the secret only
encrypted (see :mod:`.secretbox`) plus its SHA-256 digest, by which a Bearer secret is
looked up: a digest cannot be turned back into the secret, and a 256-bit secret needs no
slow hash (there is nothing to guess).

Session and login tokens of the dashboard are secrets of the same size; the store keeps
only their digests too.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass

from statemachine.security.roles import Role

__all__ = ["ADMIN_KEY_ENV", "API_KEY_ENV", "ApiKey", "KeyFormatError", "bearer_secret", "digest",
           "new_key_id", "new_secret", "parse_key_pair"]

ADMIN_KEY_ENV = "STATEMACHINE_ADMIN_KEY"
"""``<id>:<secret>``: the admin key ``serve`` sets at start (containers, tests, the bench)."""
API_KEY_ENV = "STATEMACHINE_API_KEY"
"""The secret the command line's client commands send (``--api-key`` wins)."""

KEY_ID_PREFIX = "SMK"
MIN_SECRET_LENGTH = 32
"""A secret given from outside (``STATEMACHINE_ADMIN_KEY``) must have at least this many
characters: ours have 43 (256 bits)."""
MAX_SECRET_LENGTH = 256
_KEY_ID = re.compile(r"SMK[A-Z2-7]{17}")
KEY_NAME_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f]{0,80}$"
"""A key's name: optional text for people, at most 80 characters, no control characters
(the OpenAPI document states this same pattern)."""
_SECRET = re.compile(r"[A-Za-z0-9_\-.~+/=]+")


class KeyFormatError(ValueError):
    """A key id, a secret or an ``<id>:<secret>`` pair that is not well formed."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """What the service knows of a key besides its secret."""

    id: str
    role: Role
    name: str
    created: str

    def public(self) -> dict[str, str]:
        """The key as the API shows it (never with its secret)."""
        return {"id": self.id, "name": self.name, "role": self.role.value,
                "created": self.created}


def new_key_id() -> str:
    """``SMK`` + 17 base32 characters (85 random bits: ids are public, only unique)."""
    return KEY_ID_PREFIX + base64.b32encode(secrets.token_bytes(11)).decode()[:17]


def new_secret() -> str:
    """256 random bits, URL-safe text (43 characters), never starting with ``-`` (which a
    command line would read as an option)."""
    while (secret := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return secret


def digest(secret: str) -> str:
    """The SHA-256 of a secret (hex): how a key, a session or a login token is looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_key_id(text: str) -> str:
    if not _KEY_ID.fullmatch(text):
        raise KeyFormatError(f"malformed key id {text[:40]!r}: expected SMK and 17 characters "
                             "of A-Z and 2-7")
    return text


def check_secret(text: str) -> str:
    if not MIN_SECRET_LENGTH <= len(text) <= MAX_SECRET_LENGTH or not _SECRET.fullmatch(text):
        raise KeyFormatError(f"a key secret must be {MIN_SECRET_LENGTH}-{MAX_SECRET_LENGTH} "
                             "characters of letters, digits and -_.~+/=")
    return text


def parse_key_pair(text: str) -> tuple[str, str]:
    """``<id>:<secret>`` (the form of ``STATEMACHINE_ADMIN_KEY`` and of ``admin.key``)."""
    key_id, sep, secret = text.strip().partition(":")
    if not sep:
        raise KeyFormatError("expected <key id>:<secret>")
    return check_key_id(key_id), check_secret(secret)


def bearer_secret(header: str | None) -> str | None:
    """The secret of ``Authorization: Bearer <secret>``, or None (absent, another scheme)."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    return value if 0 < len(value) <= MAX_SECRET_LENGTH else None
