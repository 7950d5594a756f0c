"""The private redis-server of ``cli.py serve``: a password, a private data folder.

What ``serve`` does end to end with it (a worker joining through ``redis.url``) is in
tests/api/test_serve_redis.py; here the parts, on :class:`EmbeddedRedis` itself.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from statemachine.runtime.embedded import EmbeddedRedis, running_url
from tests.conftest import RedisServer
from tests.runtime.redis_servers import assert_private, modes


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "data")
    try:
        yield server
    finally:
        server.stop()


def test_the_server_needs_its_password_and_keeps_it_off_the_command_line(
        embedded: EmbeddedRedis) -> None:
    url = embedded.start()
    password = embedded.password_file.read_text().strip()
    assert len(password) >= 40 and f":{password}@" in url
    with redis.Redis(port=embedded.port) as anonymous, pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    cli = subprocess.run(["redis-cli", "-p", str(embedded.port), "ping"], capture_output=True,
                         text=True, timeout=10, check=False)
    assert "NOAUTH" in cli.stdout + cli.stderr
    with redis.Redis.from_url(url) as client:
        assert client.ping()
        # nothing of ours needs the administrative commands: they are refused
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.config_set("dir", "/tmp")
        assert client.config_get("appendfsync") == {"appendfsync": "always"}  # to look: kept
    assert embedded.proc is not None
    for source in ("cmdline", "environ"):
        seen = Path(f"/proc/{embedded.proc.pid}/{source}").read_bytes()
        assert password.encode() not in seen
    assert running_url(embedded.data_dir) == url  # what 'cli.py worker' joins with


def test_the_data_folder_is_private(embedded: EmbeddedRedis) -> None:
    url = embedded.start()
    with redis.Redis.from_url(url) as client:
        client.hset("sm:meta", "probe", "x" * 1000)
    assert (embedded.data_dir / "appendonlydir").is_dir()
    assert {"redis.url", "redis.password", "lock", "redis.pid", "redis.log",
            "appendonlydir"} <= set(os.listdir(embedded.data_dir))
    assert_private(embedded.data_dir)


def test_a_data_folder_of_the_previous_version_is_reused_and_made_private(
        tmp_path: Path) -> None:
    """The previous version ran Redis without a password, umask 022, and wrote redis.url
    and lock 644 in a 755 folder: its AOF is kept, a password is made, the modes fixed."""
    data = tmp_path / "data"
    data.mkdir()
    old = RedisServer(data)
    old.start()
    with redis.Redis.from_url(old.url) as client:
        client.hset("sm:meta", "shards", 16)
        client.hset("sm:machines", "hello", 1)
    old.stop()
    (data / "redis.url").write_text(old.url + "\n")
    (data / "lock").touch()
    for path in [data, *data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert modes(data)["appendonlydir"] == 0o755

    embedded = EmbeddedRedis(data)
    try:
        url = embedded.start()
        with redis.Redis.from_url(url) as client:
            assert client.hget("sm:machines", "hello") == b"1"  # the AOF, reused
        with redis.Redis(port=embedded.port) as anonymous, pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        assert_private(data)
    finally:
        embedded.stop()
    # and once more: the password made on the upgrade is the one kept
    again = EmbeddedRedis(data)
    try:
        password = again.password_file.read_text()
        assert f":{password.strip()}@" in again.start()
    finally:
        again.stop()


def test_a_link_in_the_data_folder_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "shared.txt"
    outside.write_text("someone else's")
    outside.chmod(0o644)
    data = tmp_path / "data"
    data.mkdir()
    (data / "link").symlink_to(outside)
    embedded = EmbeddedRedis(data)
    try:
        embedded.start()
    finally:
        embedded.stop()
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
