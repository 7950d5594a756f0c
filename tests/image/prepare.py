"""What the image test needs before it runs, each step skipped when already done: Debian's
container tools, a Docker engine, the stand-in base image, and the project's image built on
it (a cache hit when nothing changed).

``python3 -m tests.image.prepare`` does it all (``cli.py test`` starts it in the background at
the beginning of a whole run, so the slow cold steps overlap the rest of the suite; its log is
``STATE_DIR/prepare.log``); the test's fixture calls :func:`prepare` too, which waits for a
preparation in progress (a file lock) and then finds everything made.
``python3 -m tests.image.prepare --stop`` stops the dockerd that a background run started.
Standard library only: it runs before the virtualenv exists.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.image import base, host_pip
from tests.image.engine import (
    STATE_DIR,
    Engine,
    EngineUnavailable,
    connect_or_start,
    stop_ours,
)

ROOT = Path(__file__).resolve().parents[2]
LOCK = STATE_DIR / "prepare.lock"
#: Left by a background run that started dockerd: ``--stop`` stops it after the tests.
STARTED_IN_BACKGROUND = STATE_DIR / "started-in-background"
LOG = STATE_DIR / "prepare.log"
BUILD_SECONDS = 900
#: The Dockerfile's label of the project's image.
IMAGE_LABEL = "org.opencontainers.image.title=statemachine"


@dataclass(frozen=True)
class Prepared:
    engine: Engine
    base: str
    """The stand-in base image's tag (also the compose test's Redis image)."""
    image: str
    """The project's image, built from this checkout on the stand-in base."""


def image_tag(root: Path = ROOT) -> str:
    """One tag per checkout, so that two worktrees on one machine do not overwrite each
    other's image."""
    return f"statemachine-test:{hashlib.sha256(str(root).encode()).hexdigest()[:12]}"


def prepare(say: base.Say) -> Prepared:
    """Engine, stand-in base and image, after any preparation in progress has finished.
    Raises :class:`tests.image.engine.EngineUnavailable` when no engine can be had."""
    with _locked():
        return _prepare(say)


def _prepare(say: base.Say) -> Prepared:
    started = time.monotonic()
    engine = connect_or_start()
    say(f"engine {engine.host} ({'started' if engine.started else 'running'}) "
        f"{time.monotonic() - started:.1f} s")
    pip = host_pip.read()
    step = time.monotonic()
    stand_in = base.ensure_base(engine, pip.ca_bundle(), say)
    say(f"base ready {time.monotonic() - step:.1f} s")
    step = time.monotonic()
    image = build(engine, stand_in, pip, say)
    say(f"image {image} built {time.monotonic() - step:.1f} s "
        f"(all {time.monotonic() - started:.1f} s)")
    return Prepared(engine, stand_in, image)


def build(engine: Engine, stand_in: str, pip: host_pip.HostPip, say: base.Say) -> str:
    """``docker build`` of this checkout on ``stand_in``, pip reaching the host's index."""
    tag = image_tag()
    args = ["build", "--network", "host", "--progress", "plain",
            "--build-arg", f"BASE={stand_in}", "--tag", tag]
    for name, value in pip.build_args().items():
        args += ["--build-arg", f"{name}={value}"]
    built = engine.run(*args, str(ROOT), timeout=BUILD_SECONDS, check=False)
    if built.returncode != 0:
        raise RuntimeError(f"docker build failed ({built.returncode}):\n"
                           f"{built.stderr.strip()[-4000:]}")
    cached = built.stderr.count(" CACHED")
    # The images this tag named before (untagged now), and only those: the engine may be
    # a developer's own.
    engine.run("image", "prune", "--force", "--filter", f"label={IMAGE_LABEL}")
    say(f"build: {cached} steps from the cache")
    return tag


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _background() -> int:
    """The whole preparation, logged to :data:`LOG`, Debian's tools installed when missing."""
    from statemachine.cli.bootstrap import ensure_container_tools

    STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    with LOG.open("w") as log:
        sys.stdout = sys.stderr = log

        def say(message: str) -> None:
            print(f"{time.strftime('%H:%M:%S')} {message}", file=log, flush=True)

        try:
            with _locked():  # the test waits for the tools too
                ensure_container_tools()
                prepared = _prepare(say)
        except (EngineUnavailable, RuntimeError, OSError, subprocess.SubprocessError,
                SystemExit) as exc:  # the test repeats the failed step and reports it
            say(f"preparation failed: {exc}")
            return 1
        if prepared.engine.started:
            STARTED_IN_BACKGROUND.touch()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.image.prepare")
    parser.add_argument("--stop", action="store_true",
                        help="stop the dockerd that a background preparation started")
    args = parser.parse_args(argv)
    if args.stop:
        if STARTED_IN_BACKGROUND.exists():
            stop_ours()
            STARTED_IN_BACKGROUND.unlink()
        return 0
    # cli.py test ends us with SIGTERM if the tests finish first: unwind (temporary folders).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return _background()


if __name__ == "__main__":
    sys.exit(main())
