"""Secrets at rest: every secret the service keeps (API key secrets, connection
credentials) is stored encrypted with one service key, never in clear.

The key is a Fernet key (AES-128-CBC with an HMAC-SHA256 tag, from the ``cryptography``
package), read from ``STATEMACHINE_SECRET_KEY`` or, when that is unset, from
``<data-dir>/secret.key``, made on first use with mode 600.  Every process that must read a
secret (``serve``, ``worker``) needs the same key: give it the environment variable, or run
it from the folder whose data dir holds the file.  ``STATEMACHINE_SECRET_KEY`` may hold
several keys separated by commas to rotate: the first encrypts, all decrypt.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["KEY_ENV", "KEY_FILE", "SecretBox", "SecretKeyError", "load_secret_box"]

KEY_ENV = "STATEMACHINE_SECRET_KEY"
KEY_FILE = "secret.key"


class SecretKeyError(Exception):
    """The service key is malformed, or a secret was encrypted with another key."""


class SecretBox:
    """Encrypts and decrypts text with the service key(s)."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretKeyError("no secret key given")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError) as exc:
            raise SecretKeyError(
                f"malformed secret key ({exc}); make one with: python -c 'from "
                "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None

    @classmethod
    def generate(cls) -> SecretBox:
        """A box with a new random key (tests, and the first start)."""
        return cls([Fernet.generate_key()])

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def decrypt(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SecretKeyError(
                f"a stored secret cannot be decrypted with this service's key: set {KEY_ENV} "
                "(or the data dir's secret.key) to the key the secret was stored with"
            ) from exc


def load_secret_box(data_dir: Path, environ: Mapping[str, str] | None = None) -> SecretBox:
    """The box of ``$STATEMACHINE_SECRET_KEY``, else of ``data_dir/secret.key`` (made, mode
    600, in a folder made 700, when missing)."""
    env = os.environ if environ is None else environ
    raw = env.get(KEY_ENV, "").strip()
    if raw:
        return SecretBox([part.strip().encode() for part in raw.split(",") if part.strip()])
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: read theirs
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key() + b"\n")
    return SecretBox([path.read_bytes().strip()])
