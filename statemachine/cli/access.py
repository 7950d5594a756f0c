"""Keys on the command line: ``serve``'s admin key and login link, the client's key.

``serve`` sets an admin key at every start: the one ``STATEMACHINE_ADMIN_KEY=<id>:<secret>``
names (containers, tests, the bench), else the one in ``<data-dir>/admin.key`` (registered
again when Redis lacks it: a fresh Redis), else a new one written there (mode 600, in a
folder made 700).  It then prints a one-time link that logs the dashboard in as that key.

The client commands (start, describe, ..., keys) send the first key they find:
``--api-key``, ``$STATEMACHINE_API_KEY``, the secret of ``$STATEMACHINE_ADMIN_KEY``, then
``.statemachine/admin.key`` of the current folder, then that of the repository (where
``cli.py up`` keeps its data) — so on the machine that runs ``serve``, every command works
with no key given.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from statemachine.security.keys import (
    ADMIN_KEY_ENV,
    API_KEY_ENV,
    KeyFormatError,
    parse_key_pair,
)

__all__ = ["ADMIN_KEY_FILE", "DEFAULT_DATA_DIR", "bootstrap_admin", "find_api_key",
           "is_loopback", "read_key_file"]

ADMIN_KEY_FILE = "admin.key"
DEFAULT_DATA_DIR = Path(".statemachine")
REPOSITORY_DATA_DIR = Path(__file__).resolve().parents[2] / DEFAULT_DATA_DIR
"""The data dir of ``cli.py up``, which serves from the repository's root."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (serve --host) reaches this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_key_file(path: Path) -> tuple[str, str] | None:
    """``(id, secret)`` of an ``admin.key`` file, or None when there is none.

    Raises KeyFormatError for a file that is there but malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyFormatError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return parse_key_pair(text)
    except KeyFormatError as exc:
        raise KeyFormatError(f"{path}: {exc}") from None


def _write_key_file(path: Path, key_id: str, secret: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"{key_id}:{secret}\n")


def find_api_key(given: str | None, environ: Mapping[str, str] | None = None,
                 folders: tuple[Path, ...] = (DEFAULT_DATA_DIR, REPOSITORY_DATA_DIR),
                 ) -> str | None:
    """The secret a client command sends (None: send none, the API will answer 401)."""
    env = os.environ if environ is None else environ
    if given:
        return given
    if env.get(API_KEY_ENV):
        return env[API_KEY_ENV]
    if env.get(ADMIN_KEY_ENV):
        return env[ADMIN_KEY_ENV].partition(":")[2].strip() or None
    for folder in folders:
        try:
            found = read_key_file(folder / ADMIN_KEY_FILE)
        except KeyFormatError:
            continue
        if found is not None:
            return found[1]
    return None


async def bootstrap_admin(keyring: Any, data_dir: Path,
                          environ: Mapping[str, str] | None = None) -> tuple[Any, str]:
    """Set the admin key (see the module's text); returns it and a line to print.

    Raises KeyFormatError for a malformed ``STATEMACHINE_ADMIN_KEY`` or ``admin.key``.
    """
    from statemachine.security.roles import Role

    env = os.environ if environ is None else environ
    if env.get(ADMIN_KEY_ENV):
        try:
            key_id, secret = parse_key_pair(env[ADMIN_KEY_ENV])
        except KeyFormatError as exc:
            raise KeyFormatError(f"{ADMIN_KEY_ENV}: {exc}") from None
        key = await keyring.put(key_id, secret, Role.ADMIN, f"admin ({ADMIN_KEY_ENV})")
        return key, f"statemachine: admin key {key_id} set from ${ADMIN_KEY_ENV}"
    path = data_dir / ADMIN_KEY_FILE
    found = read_key_file(path)
    if found is not None:
        key_id, secret = found
        key = await keyring.verify(secret)
        if key is None or key.id != key_id:  # a fresh Redis: register the file's key again
            key = await keyring.put(key_id, secret, Role.ADMIN, "admin (admin.key)")
            return key, f"statemachine: admin key {key_id} registered again from {path}"
        return key, f"statemachine: admin key {key_id} in {path}"
    key, secret = await keyring.create(Role.ADMIN, "admin (admin.key)")
    _write_key_file(path, key.id, secret)
    return key, (f"statemachine: made an admin key {key.id}; its secret is in {path} (mode "
                 "600), where the client commands find it")
