"""The secret box: secrets round-trip, the key file is private, a wrong key is refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from statemachine.security.roles import Role
from statemachine.security.secretbox import KEY_ENV, SecretBox, SecretKeyError, load_secret_box


def test_a_secret_round_trips_and_is_not_kept_in_clear(tmp_path: Path) -> None:
    box = load_secret_box(tmp_path / "data", {})
    sealed = box.encrypt("hunter2")
    assert "hunter2" not in sealed
    assert box.decrypt(sealed) == "hunter2"


def test_the_key_file_is_made_once_and_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sealed = load_secret_box(data, {}).encrypt("x")
    assert stat.S_IMODE((data / "secret.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert load_secret_box(data, {}).decrypt(sealed) == "x"  # the same key, read back


def test_the_environment_key_wins_and_rotates(tmp_path: Path) -> None:
    k1, k2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_by_k1 = load_secret_box(tmp_path, {KEY_ENV: k1}).encrypt("s")
    rotated = load_secret_box(tmp_path, {KEY_ENV: f"{k2},{k1}"})
    assert rotated.decrypt(sealed_by_k1) == "s"
    assert load_secret_box(tmp_path, {KEY_ENV: k2}).decrypt(rotated.encrypt("t")) == "t"
    assert not (tmp_path / "secret.key").exists()


def test_a_wrong_or_malformed_key_is_a_clear_error(tmp_path: Path) -> None:
    sealed = SecretBox.generate().encrypt("s")
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        SecretBox.generate().decrypt(sealed)
    with pytest.raises(SecretKeyError, match="malformed secret key"):
        load_secret_box(tmp_path, {KEY_ENV: "not-a-key"})


def test_roles_include_the_ones_below() -> None:
    assert Role.ADMIN.allows(Role.OPERATOR) and Role.OPERATOR.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.OPERATOR) and not Role.OPERATOR.allows(Role.ADMIN)


def test_settings_never_print_a_secret() -> None:
    """A Settings object in a log line or a traceback shows neither Redis' password nor the
    AWS secret key the SQS tasks use."""
    from statemachine.runtime.invokers.base import InvokerSettings
    from statemachine.runtime.settings import Settings

    settings = Settings(redis_url="redis://:hunter2@127.0.0.1:6379/0",
                        invokers=InvokerSettings(aws_secret_access_key="wJalrXUtnFEMI"))
    assert "hunter2" not in repr(settings) and "wJalrXUtnFEMI" not in repr(settings)
