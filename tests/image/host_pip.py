"""What the host's pip is told about package indexes and certificates, so that pip inside the
image build reaches the same index: read from pip's configuration files and ``PIP_*``
variables, in pip's order (later wins; ``[install]`` over ``[global]``).

Only http(s) indexes are passed on: a ``file://`` index or a find-links folder is a path on
this machine that the build cannot see.  Standard library only.
"""

from __future__ import annotations

import configparser
import os
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
KEYS = ("index-url", "extra-index-url", "trusted-host", "cert")


@dataclass(frozen=True)
class HostPip:
    index_url: str | None
    extra_index_urls: tuple[str, ...]
    trusted_hosts: tuple[str, ...]
    cert: str | None

    def build_args(self) -> dict[str, str]:
        """The Dockerfile's PIP_* build arguments (only those with a value)."""
        args = {"PIP_INDEX_URL": self.index_url or "",
                "PIP_EXTRA_INDEX_URL": " ".join(self.extra_index_urls),
                "PIP_TRUSTED_HOST": " ".join(self.trusted_hosts)}
        return {name: value for name, value in args.items() if value}

    def ca_bundle(self) -> Path:
        """The CA bundle the host trusts for the index (pip's ``cert``, else the system's)."""
        for candidate in (self.cert, ssl.get_default_verify_paths().cafile):
            if candidate and Path(candidate).is_file():
                return Path(candidate)
        return DEFAULT_CA_BUNDLE


def config_files(environ: dict[str, str] | None = None) -> list[Path]:
    """pip's configuration files, lowest precedence first."""
    env = os.environ if environ is None else environ
    xdg_dirs = env.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
    home = Path(env.get("HOME", "~")).expanduser()
    files = [Path(d) / "pip" / "pip.conf" for d in reversed(xdg_dirs) if d]
    files += [Path("/etc/pip.conf"), home / ".pip" / "pip.conf",
              Path(env.get("XDG_CONFIG_HOME", str(home / ".config"))) / "pip" / "pip.conf",
              Path(sys.prefix) / "pip.conf"]
    if env.get("PIP_CONFIG_FILE"):
        files.append(Path(env["PIP_CONFIG_FILE"]))
    return files


def read(environ: dict[str, str] | None = None) -> HostPip:
    env = dict(os.environ if environ is None else environ)
    values: dict[str, str] = {}
    for path in config_files(env):
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except (configparser.Error, OSError):
            continue
        for section in ("global", "install"):
            if parser.has_section(section):
                for key, value in parser.items(section):
                    if key.replace("_", "-") in KEYS:
                        values[key.replace("_", "-")] = value
    for key in KEYS:
        if env.get("PIP_" + key.upper().replace("-", "_")):
            values[key] = env["PIP_" + key.upper().replace("-", "_")]
    index = [u for u in values.get("index-url", "").split() if _remote(u)]
    return HostPip(
        index_url=index[0] if index else None,
        extra_index_urls=tuple(u for u in values.get("extra-index-url", "").split()
                               if _remote(u)),
        trusted_hosts=tuple(values.get("trusted-host", "").split()),
        cert=values.get("cert") or None,
    )


def _remote(url: str) -> bool:
    return url.startswith(("http://", "https://"))
