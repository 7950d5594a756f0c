"""What the image test's preparation reads off the machine: the apt source debootstrap uses,
and the package index pip inside the build must reach (no Docker engine needed)."""

from __future__ import annotations

from pathlib import Path

from tests.image import base, host_pip


def _apt(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_mirror_comes_from_a_deb822_source_of_the_suite(tmp_path: Path) -> None:
    apt = _apt(tmp_path, {
        "sources.list.d/other.sources": "Types: deb\nURIs: https://example.test/node\n"
                                         "Suites: nodistro\nComponents: main\n",
        "sources.list.d/debian.sources": (
            "Types: deb-src\nURIs: http://src.test/debian\nSuites: bookworm\nComponents: main\n"
            "\n"
            "Types: deb\n# http://snapshot.test/archive\nURIs: http://mirror.test/debian\n"
            "Suites: bookworm bookworm-updates\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"),
    })
    assert base.apt_mirror(apt) == "http://mirror.test/debian"


def test_the_mirror_comes_from_a_one_line_source_and_disabled_files_are_ignored(
        tmp_path: Path) -> None:
    apt = _apt(tmp_path, {
        "sources.list": "# deb http://old.test/debian bookworm main\n"
                        "deb [signed-by=/k.gpg arch=amd64] http://one.test/debian bookworm main contrib\n",
        "sources.list.d/x.list.disabled": "deb http://disabled.test/debian bookworm main\n",
    })
    assert base.apt_mirror(apt) == "http://one.test/debian"


def test_without_a_source_of_the_suite_debians_own_mirror_is_used(tmp_path: Path) -> None:
    apt = _apt(tmp_path, {"sources.list": "deb http://ubuntu.test/ubuntu jammy main\n"})
    assert base.apt_mirror(apt) == base.DEFAULT_MIRROR


def test_the_content_key_changes_with_the_mirror_and_the_ca_bundle() -> None:
    key = base.content_key("http://a.test/debian", b"bundle")
    assert key == base.content_key("http://a.test/debian", b"bundle")
    assert key != base.content_key("http://b.test/debian", b"bundle")
    assert key != base.content_key("http://a.test/debian", b"bundle + one more CA")


def test_pip_settings_pass_on_remote_indexes_only(tmp_path: Path) -> None:
    (tmp_path / "pip").mkdir()
    (tmp_path / "pip" / "pip.conf").write_text(
        "[global]\nindex-url = https://mirror.test/simple\n"
        "extra-index-url = file:///opt/local/simple https://extra.test/simple\n"
        "cert = /etc/ssl/certs/ca-certificates.crt\n"
        "[install]\ntrusted-host = mirror.test\n")
    pip = host_pip.read({"XDG_CONFIG_DIRS": str(tmp_path), "HOME": str(tmp_path / "home")})
    assert pip.build_args() == {"PIP_INDEX_URL": "https://mirror.test/simple",
                                "PIP_EXTRA_INDEX_URL": "https://extra.test/simple",
                                "PIP_TRUSTED_HOST": "mirror.test"}


def test_pip_variables_win_over_files_and_nothing_is_passed_for_pypi(tmp_path: Path) -> None:
    (tmp_path / "pip").mkdir()
    (tmp_path / "pip" / "pip.conf").write_text("[global]\nindex-url = https://mirror.test/simple\n")
    environ = {"XDG_CONFIG_DIRS": str(tmp_path), "HOME": str(tmp_path / "home"),
               "PIP_INDEX_URL": "https://env.test/simple", "PIP_FIND_LINKS": "/opt/wheels"}
    assert host_pip.read(environ).build_args() == {"PIP_INDEX_URL": "https://env.test/simple"}
    plain = {"XDG_CONFIG_DIRS": str(tmp_path / "none"), "HOME": str(tmp_path / "home")}
    assert host_pip.read(plain).build_args() == {}
