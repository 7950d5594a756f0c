"""The stand-in for the Dockerfile's base image, where no image registry can be reached:
Debian bookworm made by ``debootstrap --variant=minbase`` from the machine's own apt source,
with Python and pip (``python`` linked to ``python3``, pip allowed to install system-wide,
trusting the host's CA bundle) and redis-server (so the same image stands in for compose's
Redis), imported with ``docker import``.

It is made once per content key (the recipe, the apt mirror and the CA bundle) and found
again with ``docker image inspect``: a warm run costs one inspect.  Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.image.engine import DATA_ROOT, Engine, find_executable

SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates", "redis-server")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
REPOSITORY = "statemachine-test-base"
#: pip inside images of this base: system-wide installs (Debian marks its Python as managed
#: by apt, PEP 668), and the host's CA bundle, wherever a PyPI certifi would point pip.
PIP_CONF = ("[global]\nbreak-system-packages = true\n"
            "cert = /etc/ssl/certs/ca-certificates.crt\n")
#: Changes whenever the steps of :func:`_make_rootfs` change, so that old bases are not reused.
RECIPE = "1"
DEBOOTSTRAP_SECONDS = 900

Say = Callable[[str], None]


def apt_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The machine's apt source for Debian's ``SUITE`` ``main``, in either format (one-line
    ``sources.list`` files or deb822 ``.sources``); Debian's own mirror when none is found."""
    for path in [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]:
        try:
            text = path.read_text()
        except OSError:
            continue
        if path.name.endswith(".list"):
            found = _one_line_mirror(text)
        elif path.name.endswith(".sources"):
            found = _deb822_mirror(text)
        else:  # disabled or foreign files
            continue
        if found:
            return found
    return DEFAULT_MIRROR


def _one_line_mirror(text: str) -> str | None:
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()  # no [options]
        if words[:1] == ["deb"] and len(words) >= 4 and words[2] == SUITE and "main" in words[3:]:
            return words[1]
    return None


def _deb822_mirror(text: str) -> str | None:
    for paragraph in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in paragraph.splitlines():
            if line and not line.startswith(("#", " ", "\t")) and ":" in line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        if ("deb" in fields.get("types", "").split()
                and SUITE in fields.get("suites", "").split()
                and "main" in fields.get("components", "").split()
                and fields.get("enabled", "yes").lower() != "no"
                and fields.get("uris")):
            return fields["uris"].split()[0]
    return None


def content_key(mirror: str, ca_bundle: bytes) -> str:
    recipe = json.dumps([RECIPE, SUITE, PACKAGES, mirror, PIP_CONF])
    return hashlib.sha256(recipe.encode() + hashlib.sha256(ca_bundle).digest()).hexdigest()


def ensure_base(engine: Engine, ca_bundle: Path, say: Say) -> str:
    """The stand-in base's tag, made now unless an image of the same content key exists."""
    mirror = apt_mirror()
    tag = f"{REPOSITORY}:{content_key(mirror, ca_bundle.read_bytes())[:16]}"
    if engine.run("image", "inspect", tag, check=False).returncode == 0:
        say(f"stand-in base {tag}: cached")
        return tag
    say(f"stand-in base {tag}: debootstrap {SUITE} from {mirror}")
    DATA_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="base-", dir=DATA_ROOT) as work:
        rootfs = Path(work) / "rootfs"
        _make_rootfs(rootfs, mirror, ca_bundle, say)
        tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        imported = subprocess.run(
            [engine.client, "import", "--change", "ENV LANG=C.UTF-8",
             "--change", 'CMD ["bash"]', "-", tag],
            stdin=tar.stdout, env=engine.env, capture_output=True, text=True, check=False)
        assert tar.stdout is not None
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise RuntimeError(f"docker import of the stand-in base failed: {imported.stderr}")
    say(f"stand-in base {tag}: imported")
    return tag


def _make_rootfs(rootfs: Path, mirror: str, ca_bundle: Path, say: Say) -> None:
    debootstrap = find_executable("debootstrap")
    if debootstrap is None:
        raise RuntimeError("no debootstrap: install Debian's debootstrap "
                           "(python3 cli.py test installs it)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    done = subprocess.run(
        [*sudo, debootstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE,
         str(rootfs), mirror],
        capture_output=True, text=True, timeout=DEBOOTSTRAP_SECONDS, stdin=subprocess.DEVNULL,
        check=False)
    if done.returncode != 0:
        raise RuntimeError(f"debootstrap failed ({done.returncode}): "
                           f"{(done.stdout + done.stderr).strip()[-2000:]}")
    say("debootstrap done")
    (rootfs / "usr/bin/python").symlink_to("python3")
    (rootfs / "etc/pip.conf").write_text(PIP_CONF)
    shutil.copyfile(ca_bundle, rootfs / "etc/ssl/certs/ca-certificates.crt")
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (rootfs / cache).glob("*"):
            if entry.is_file():
                entry.unlink()
