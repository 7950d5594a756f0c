"""A private ``redis-server`` child for ``cli.py serve`` when no Redis URL is given.

It makes the first run one command: data under ``./.statemachine/`` (kept between runs,
so executions survive a restart of ``serve``), listening on 127.0.0.1 on a free port.

Durability: AOF with ``appendfsync always``.  The product promises that an acknowledged
transition is never lost; ``everysec`` would lose up to a second of acknowledged work on
a power cut or kernel crash.  Redis groups the fsyncs of one event-loop turn, so the cost
on a single machine is modest, and anyone who prefers speed can run their own Redis.

Safety around the child:

- it runs in its own session, so the Ctrl-C that a terminal sends to the whole foreground
  group reaches only ``serve``, which then stops its workers first and Redis last;
- on Linux it gets ``PR_SET_PDEATHSIG``: if ``serve`` is killed with ``kill -9`` the
  child is terminated too instead of lingering;
- an exclusive lock on ``.statemachine/lock`` keeps two ``serve`` processes from running
  two servers over one AOF; the URL in use is written to ``.statemachine/redis.url`` so
  ``cli.py worker`` started without ``--redis-url`` can join.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

__all__ = ["MEMORY_SETTINGS", "EmbeddedRedis", "EmbeddedRedisError", "find_redis_server",
           "running_url"]

MEMORY_SETTINGS = ("--hash-max-listpack-value", "1024")
"""redis-server settings for every server statemachine starts (also advised for your own):
an execution record hash keeps its JSON in one field, which the default limit (64 bytes)
moves to a hash table; under 1 KiB it stays a compact listpack, about 250 bytes smaller
per execution (a parked execution's record is ~430 bytes instead of ~680)."""

DEFAULT_DIR = Path(".statemachine")
_PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(RuntimeError):
    """The private redis-server could not be started (message says why and what to do)."""


def find_redis_server() -> str | None:
    """The ``redis-server`` binary to run, or None.

    ``$STATEMACHINE_REDIS_SERVER`` names one explicitly (and is then the only candidate);
    otherwise PATH is searched, then the usual install folders.
    """
    chosen = os.environ.get("STATEMACHINE_REDIS_SERVER")
    if chosen:
        return chosen if os.path.isfile(chosen) and os.access(chosen, os.X_OK) else None
    found = shutil.which("redis-server")
    if found:
        return found
    for folder in ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/opt/homebrew/bin"):
        candidate = Path(folder) / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def running_url(data_dir: Path = DEFAULT_DIR) -> str | None:
    """The URL of the embedded Redis a running ``serve`` started in ``data_dir``, if any."""
    url_file = data_dir / "redis.url"
    lock_file = data_dir / "lock"
    if not url_file.is_file() or not lock_file.is_file():
        return None
    with lock_file.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return url_file.read_text().strip() or None
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


class EmbeddedRedis:
    """Start, probe and stop one redis-server child over a data directory."""

    def __init__(self, data_dir: Path = DEFAULT_DIR, binary: str | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.binary = binary or find_redis_server()
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock: IO[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> str:
        """Start the child and wait until it answers PING; returns its URL."""
        if self.binary is None:
            raise EmbeddedRedisError(
                "no redis-server found: install one (sudo apt-get install redis-server) "
                "or pass --redis-url redis://HOST:PORT/0 (or set REDIS_URL)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        for _ in range(3):  # a free port can be taken between choosing and binding it
            self.port = _free_port()
            self.proc = subprocess.Popen(
                self._command(), cwd=self.data_dir, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_die_with_parent,  # noqa: PLW1509 -- no thread yet
            )
            if self._wait_ready(timeout):
                (self.data_dir / "redis.url").write_text(self.url + "\n")
                return self.url
            self._reap()
        self._release_lock()
        raise EmbeddedRedisError(
            f"redis-server did not start; see {self.data_dir / 'redis.log'}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Redis fsyncs the AOF and exits), then SIGKILL after ``timeout``."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.data_dir / "redis.url")
        self._release_lock()

    def _command(self) -> list[str]:
        assert self.binary is not None
        return [
            self.binary,
            "--port", str(self.port), "--bind", "127.0.0.1", "--protected-mode", "yes",
            "--dir", str(self.data_dir), "--daemonize", "no",
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--logfile", str(self.data_dir / "redis.log"),
            "--pidfile", str(self.data_dir / "redis.pid"), *MEMORY_SETTINGS,
        ]

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            if ping(self.port):
                return True
            time.sleep(0.05)
        return False

    def _reap(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None

    def _take_lock(self) -> None:
        handle = (self.data_dir / "lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise EmbeddedRedisError(
                f"{self.data_dir} is in use by another 'serve' (its Redis: "
                f"{running_url(self.data_dir) or 'unknown'}); stop it, or pass --redis-url"
            ) from None
        self._lock = handle

    def _release_lock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ping(port: int) -> bool:
    """Whether a redis-server answers PING on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM us when the parent dies."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
