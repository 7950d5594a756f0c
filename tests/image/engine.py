"""A Docker engine for the image test: one that already answers, else Debian's ``dockerd``
started here without a bridge or iptables rules (containers then use ``--network host``, so
no traffic leaves loopback), with its own data root, kept between runs as the image cache.

Standard library only: ``cli.py test`` runs this (through :mod:`tests.image.prepare`) before
the virtualenv exists.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: Where our own dockerd keeps its socket, pid file and run state (a root's /run; another
#: user's temporary folder, where a dockerd of its own will not start anyway).
STATE_DIR = (Path("/run/statemachine-docker") if os.geteuid() == 0
             else Path(tempfile.gettempdir()) / f"statemachine-docker-{os.geteuid()}")
#: The images and build cache of our own dockerd: kept, so that a second run finds the
#: stand-in base image and the dependency layer already made.
DATA_ROOT = (Path("/var/lib/statemachine-docker") if os.geteuid() == 0
             else STATE_DIR / "data")
SOCKET = STATE_DIR / "docker.sock"
PIDFILE = STATE_DIR / "dockerd.pid"
LOG = STATE_DIR / "dockerd.log"
DEFAULT_SOCKET = Path("/var/run/docker.sock")
#: Debian's docker.io puts its client here; a client found first on PATH may be another
#: build (one without the BuildKit plug-in, say) than the engine's own.
ENGINE_CLIENT = Path("/usr/bin/docker")
START_SECONDS = 60.0
STOP_SECONDS = 20.0
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")
_STARTED: list[subprocess.Popen[bytes]] = []


class EngineUnavailable(Exception):
    """No Docker engine answers and none could be started here (the message says why)."""


@dataclass(frozen=True)
class Engine:
    """A Docker engine that answers on ``host`` (a DOCKER_HOST value)."""

    host: str
    client: str
    started: bool
    """True when this process started the dockerd (and so stops it: :func:`stop_ours`)."""

    @property
    def env(self) -> dict[str, str]:
        """The environment of a docker (or docker-compose) command aimed at this engine."""
        return dict(os.environ, DOCKER_HOST=self.host, DOCKER_BUILDKIT="1")

    def run(self, *args: str, timeout: float = 120, check: bool = True,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``docker ARGS`` against this engine, output captured."""
        done = subprocess.run([self.client, *args], env={**self.env, **(extra_env or {})},
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args[:2])} failed ({done.returncode}): "
                               f"{done.stderr.strip()[-2000:]}")
        return done


def find_executable(name: str) -> str | None:
    """``name`` on PATH or in the sbin folders (where Debian puts dockerd and debootstrap)."""
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))


def client() -> str | None:
    return str(ENGINE_CLIENT) if ENGINE_CLIENT.exists() else find_executable("docker")


def connect_or_start() -> Engine:
    """An engine that answers: $DOCKER_HOST's, ours from an earlier run, the system's, or a
    dockerd started now.  Raises :class:`EngineUnavailable` with the reason otherwise."""
    docker = client()
    if docker is None:
        raise EngineUnavailable("no docker client: install Debian's docker.io "
                                "(python3 cli.py test installs it)")
    candidates = [os.environ["DOCKER_HOST"]] if os.environ.get("DOCKER_HOST") else []
    candidates += [f"unix://{SOCKET}", f"unix://{DEFAULT_SOCKET}"]
    for host in candidates:
        if _answers(docker, host):
            return Engine(host, docker, started=False)
    return _start(docker)


def _answers(docker: str, host: str) -> bool:
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        return False
    try:
        probe = subprocess.run([docker, "version", "--format", "{{.Server.Version}}"],
                               env=dict(os.environ, DOCKER_HOST=host), capture_output=True,
                               timeout=10, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


def _start(docker: str) -> Engine:
    dockerd = find_executable("dockerd")
    if dockerd is None:
        raise EngineUnavailable("no dockerd: install Debian's docker.io "
                                "(python3 cli.py test installs it)")
    STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    DATA_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
    host = f"unix://{SOCKET}"
    with LOG.open("ab") as log:
        proc = subprocess.Popen(
            [dockerd, "--bridge=none", "--iptables=false", "--ip-masq=false",
             "--data-root", str(DATA_ROOT), "--exec-root", str(STATE_DIR / "exec"),
             "--pidfile", str(PIDFILE), "--host", host],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True)  # outlives this process: the next one reuses it
    _STARTED.append(proc)  # held, so that no warning says it was left running
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EngineUnavailable(f"dockerd exited with {proc.returncode}: {_log_tail()}")
        if _answers(docker, host):
            return Engine(host, docker, started=True)
        time.sleep(0.2)
    proc.terminate()
    raise EngineUnavailable(f"dockerd did not answer within {START_SECONDS:.0f} s: "
                            f"{_log_tail()}")


def stop_ours() -> None:
    """Stop the dockerd this module started (by its pid file), waiting for it to exit."""
    try:
        pid = int(PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # ours: reap it, or it stays a zombie
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def _log_tail() -> str:
    try:
        return " / ".join(LOG.read_text(errors="replace").strip().splitlines()[-3:])
    except OSError:
        return "(no log)"
