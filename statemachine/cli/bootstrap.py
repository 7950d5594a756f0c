"""``cli.py up`` and ``cli.py test``: the README's two commands, for a fresh Debian/Ubuntu machine.

Standard library only: this runs before anything is installed.  It makes ``.venv``,
installs the package into it (with the test extras for ``test``), installs
``redis-server`` (and, for ``test``, ``chromium``) with apt-get when missing, then hands over
to ``cli.py serve`` or, for ``test``, mypy, ruff and ``pytest`` inside the venv.  Re-running
is cheap: the install step is skipped while pyproject.toml is unchanged.  A whole ``test`` run
also prepares the container image test in the background (Debian's docker.io, debootstrap
and docker-compose when missing, a Docker engine, the stand-in base image, the first build:
``tests/image/prepare.py``), and stops the engine it started when the tests end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"


#: What ``test`` runs besides pytest when given no arguments: the type checker (strict, as
#: configured in pyproject.toml) over the package, and the linter over the repository.
STATIC_CHECKS = (["mypy", "statemachine"], ["ruff", "check", "."])

#: The dispatcher passes options it does not know on to us (``up --port 9000``).
PASSTHROUGH = True


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("rest", nargs="*",
                        help="arguments passed on to 'serve' (up) or to pytest (test)")


def _say(message: str) -> None:
    print(f"[statemachine {Path(sys.argv[0]).name}] {message}", file=sys.stderr, flush=True)


def _run(cmd: list[str], **kwargs: object) -> None:
    _say("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def _apt_install(*packages: str) -> None:
    if shutil.which("apt-get") is None:
        raise SystemExit(f"please install {' '.join(packages)} with your package manager, then run this again")
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(prefix + ["apt-get", "update"], env=env, stdin=subprocess.DEVNULL)
    _run(prefix + ["apt-get", "install", "-y", *packages], env=env, stdin=subprocess.DEVNULL)


def ensure_redis() -> None:
    """redis-server, and redis-cli, with which the cluster tests and ``bench --cluster``
    create a local Redis Cluster (Debian's redis-tools, which redis-server brings along)."""
    if shutil.which("redis-server") is None:
        _say("redis-server is missing: installing it with apt-get")
        _apt_install("redis-server")
    if shutil.which("redis-cli") is None:
        _say("redis-cli is missing: installing it with apt-get")
        _apt_install("redis-tools")


def ensure_chromium() -> None:
    """Headless Chromium, which the dashboard tests (tests/web) drive; only ``test`` needs it."""
    if not Path("/usr/bin/chromium").exists():
        _say("/usr/bin/chromium is missing: installing it with apt-get (for the dashboard tests)")
        _apt_install("chromium")


#: Debian's packages the container image test (tests/image) uses, by the program each brings.
CONTAINER_TOOLS = {"dockerd": "docker.io", "debootstrap": "debootstrap",
                   "docker-compose": "docker-compose"}
#: The image test's preparation, which ``test`` starts in the background (its own log).
IMAGE_PREPARATION = ["-m", "tests.image.prepare"]


def ensure_container_tools() -> None:
    """Debian's Docker engine, debootstrap (the stand-in base image) and docker-compose, for
    the image test; only ``test`` needs them, and it installs them in the background."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    missing = [package for program, package in CONTAINER_TOOLS.items()
               if shutil.which(program, path=path) is None]
    if missing:
        _say(f"{', '.join(missing)} missing: installing with apt-get (for the image test)")
        _apt_install(*missing)


def _start_image_preparation() -> subprocess.Popen[bytes] | None:
    """The image test's slow cold steps (apt-get, debootstrap, the first build), started now
    so that they overlap the rest of the suite; the test waits for them."""
    if not (ROOT / "tests" / "image" / "prepare.py").exists():
        return None
    _say("preparing the container image test in the background")
    return subprocess.Popen([sys.executable, *IMAGE_PREPARATION], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _end_image_preparation(preparing: subprocess.Popen[bytes] | None) -> None:
    """Stop the preparation if the tests ended before it, and the dockerd it started."""
    if preparing is None:
        return
    if preparing.poll() is None:
        preparing.terminate()
        preparing.wait(30)
    subprocess.call([sys.executable, *IMAGE_PREPARATION, "--stop"], cwd=ROOT,
                    stdin=subprocess.DEVNULL)


def ensure_venv(extras: str) -> None:
    if not PYTHON.exists():
        try:
            _run([sys.executable, "-m", "venv", str(VENV)])
        except subprocess.CalledProcessError:
            _apt_install("python3-venv")
            shutil.rmtree(VENV, ignore_errors=True)
            _run([sys.executable, "-m", "venv", str(VENV)])
    stamp = VENV / f".installed{extras or ''}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    _run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], cwd=ROOT)
    target = f".{extras}" if extras else "."
    _run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", target], cwd=ROOT)
    stamp.write_text(digest)


def main(args: argparse.Namespace) -> int:
    rest = [a for a in args.rest if a != "--"]
    if args.command == "up":
        ensure_redis()
        ensure_venv("")
        _say("starting the service: python cli.py serve " + " ".join(rest))
        os.chdir(ROOT)
        os.execv(str(PYTHON), [str(PYTHON), str(ROOT / "cli.py"), "serve", *rest])
    ensure_redis()
    ensure_chromium()
    preparing = None if rest else _start_image_preparation()
    try:
        return _check_and_test(rest)
    finally:
        _end_image_preparation(preparing)


def _check_and_test(rest: list[str]) -> int:
    ensure_venv("[test]")
    os.chdir(ROOT)
    failed = 0
    if not rest:  # the whole run: the static checks too, before the tests so that pytest's
        # summary stays the last line (it is what CI reads)
        for check in STATIC_CHECKS:
            cmd = [str(PYTHON), "-m", *check]
            _say("$ " + " ".join(cmd))
            failed |= subprocess.call(cmd, stdin=subprocess.DEVNULL)
    cmd = [str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", *rest]
    _say("$ " + " ".join(cmd))
    return subprocess.call(cmd, stdin=subprocess.DEVNULL) or failed
