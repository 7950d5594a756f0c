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

Safety of the data (executions' inputs and outputs are in the AOF):

- the server needs a password: a random one made on the first start (and on the first
  start of a data folder from a version without one: the AOF is reused as it is), kept in
  ``.statemachine/redis.password``.  It reaches the child on its standard input as a
  config line (only its SHA-256 in fact), never on the command line, which ``ps`` shows
  to every user; ``redis.url`` holds the URL with it, for ``cli.py worker``;
- the data folder is 700 and everything in it 600 (700 for folders): the child runs with
  umask 077 (the AOF folder and its files), our own files are created 600, and the modes
  of files left by an older version are fixed on start;
- the default user may run every command but the administrative ones (``-@admin``:
  CONFIG SET, MODULE, DEBUG, REPLICAOF, SHUTDOWN, MONITOR, ACL SETUSER...), which nothing
  of ours sends; CONFIG GET, CLIENT LIST, SLOWLOG GET and LATENCY LATEST stay, to look.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import secrets
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
URL_FILE = "redis.url"
PASSWORD_FILE = "redis.password"
LOCK_FILE = "lock"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
ACL_RULES = "~* &* +@all -@admin +config|get +client|list +slowlog|get +latency|latest"
"""What the default user may do, besides needing the password (see the module's docstring)."""


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
    url_file = data_dir / URL_FILE
    lock_file = data_dir / LOCK_FILE
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
        self._password = ""

    @property
    def url(self) -> str:
        """The URL to connect with, password included (keep it out of logs: ``display_url``)."""
        return f"redis://:{self._password}@127.0.0.1:{self.port}/0"

    @property
    def display_url(self) -> str:
        """The URL without its password, to print."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def password_file(self) -> Path:
        return self.data_dir / PASSWORD_FILE

    def start(self, timeout: float = 15.0) -> str:
        """Start the child and wait until it answers PING; returns its URL."""
        if self.binary is None:
            raise EmbeddedRedisError(
                "no redis-server found: install one (sudo apt-get install redis-server) "
                "or pass --redis-url redis://HOST:PORT/0 (or set REDIS_URL)"
            )
        self.data_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        _make_private(self.data_dir)
        self._take_lock()
        self._password = _password(self.password_file)
        for _ in range(3):  # a free port can be taken between choosing and binding it
            self.port = _free_port()
            self.proc = subprocess.Popen(
                self._command(), cwd=self.data_dir, stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_child_setup,  # noqa: PLW1509 -- no thread yet
            )
            self._send_config()
            if self._wait_ready(timeout):
                _write_private(self.data_dir / URL_FILE, self.url + "\n")
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
            os.remove(self.data_dir / URL_FILE)
        self._release_lock()

    def _command(self) -> list[str]:
        assert self.binary is not None
        return [
            self.binary, "-",  # "-": more config from stdin (_send_config), then these
            "--port", str(self.port), "--bind", "127.0.0.1", "--protected-mode", "yes",
            "--dir", str(self.data_dir), "--daemonize", "no",
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--logfile", str(self.data_dir / "redis.log"),
            "--pidfile", str(self.data_dir / "redis.pid"), *MEMORY_SETTINGS,
            "--enable-protected-configs", "no", "--enable-debug-command", "no",
            "--enable-module-command", "no",
        ]

    def _send_config(self) -> None:
        """The default user's password (as its SHA-256) and rights, on the child's stdin."""
        assert self.proc is not None and self.proc.stdin is not None
        digest = hashlib.sha256(self._password.encode()).hexdigest()
        stdin = self.proc.stdin
        try:
            stdin.write(f"user default on #{digest} {ACL_RULES}\n".encode())
            stdin.flush()
        except BrokenPipeError:  # a child that died at once: _wait_ready sees it
            pass
        finally:
            with contextlib.suppress(BrokenPipeError):
                stdin.close()

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            if ping(self.port, self._password):
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
        path = self.data_dir / LOCK_FILE
        handle = os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                                   PRIVATE_FILE_MODE), "a")
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


def ping(port: int, password: str = "") -> bool:
    """Whether a redis-server answers PING on 127.0.0.1:port (after AUTH with ``password``)."""
    auth = f"AUTH {password}\r\n".encode() if password else b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(auth + b"PING\r\n")
            replies = b""
            while replies.count(b"\r\n") < (2 if auth else 1):
                chunk = sock.recv(64)
                if not chunk:
                    return False
                replies += chunk
            return replies.endswith(b"+PONG\r\n")
    except OSError:
        return False


def _password(path: Path) -> str:
    """The password kept in ``path``, made (random, 256 bits, URL-safe) if there is none."""
    try:
        password = path.read_text().strip()
    except FileNotFoundError:
        password = ""
    if not password:
        password = secrets.token_urlsafe(32)
        _write_private(path, password + "\n")
    return password


def _write_private(path: Path, text: str) -> None:
    """Write ``path`` readable by its owner only, never for a moment by anyone else."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _make_private(folder: Path) -> None:
    """Folders 700, files 600, under ``folder`` (a data folder of an older version had
    644 files in 755 folders).  Symbolic links are left alone, not followed."""
    def restrict(path: str, mode: int) -> None:
        if not os.path.islink(path):
            try:
                os.chmod(path, mode)
            except OSError as exc:
                raise EmbeddedRedisError(f"cannot make {path} private ({exc.strerror}): "
                                         "it should belong to the user running 'serve'") from None

    restrict(str(folder), PRIVATE_DIR_MODE)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            restrict(os.path.join(root, name), PRIVATE_DIR_MODE)
        for name in files:
            restrict(os.path.join(root, name), PRIVATE_FILE_MODE)


def _child_setup() -> None:
    """In the child before exec: umask 077, so every file Redis makes is its owner's only
    (the AOF folder, its files, the log, the pid file); then :func:`_die_with_parent`."""
    os.umask(0o077)
    _die_with_parent()


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM us when the parent dies."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
