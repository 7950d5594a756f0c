"""``cli.py serve`` (the REST API plus in-process workers) and ``cli.py worker``.

``serve`` without ``--redis-url`` or ``REDIS_URL`` starts a private ``redis-server``
(see :mod:`statemachine.runtime.embedded`), registers every definition file found in
``--definitions`` as a state machine named after the file's stem (a new version only
when the file changed), and prints the URL to open.  Only the folder's own
``*.yaml``/``*.yml``/``*.json`` files that hold a state machine (a ``States`` object) are
registered: subfolders (such as ``inputs/``), hidden files and other files are ignored.
``${Name}`` placeholders in them are replaced with the values of the folder's
``substitutions.env`` (``KEY=VALUE`` lines, ``#`` comments), then of ``--sub K=V``.

Shutdown on Ctrl-C or SIGTERM is graceful and ordered: the HTTP server stops accepting
and lets in-flight requests finish (waiting activity polls end with 204), the workers
stop taking work and finish or hand back what they hold, the service disconnects, and
the private Redis, if any, stops last.  A second signal exits at once (work in hand is
then recovered by other workers after its lease, like after a crash).

Both commands run on uvloop's event loop when it is installed (``STATEMACHINE_EVENT_LOOP=
asyncio`` keeps the standard one) and freeze the heap built while starting up out of the
garbage collector's sight, so no full collection stalls a request for tens of milliseconds.

Every route but the open ones needs an API key (see :mod:`statemachine.api.auth`): at
each start ``serve`` sets the admin key (``STATEMACHINE_ADMIN_KEY``, else
``<data-dir>/admin.key``, made on first start; :mod:`statemachine.cli.access`) and prints a
one-time link that logs the dashboard in.  ``--metrics-public`` opens ``/metrics``;
``--insecure-no-auth`` turns keys off, allowed on a loopback address only, with a warning
at every start.

``--mock-config F`` runs the test cases of a Step Functions Local mock config
(:mod:`statemachine.cli.mock_config`).

Exit codes: 0 after a clean shutdown, 1 when a worker crashed, 2 for bad usage or when
no Redis can be had.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from statemachine.cli import storage, time_skipping
from statemachine.cli.egress import (
    add_egress_arguments,
    announce,
    check_egress,
    endpoint,
    with_egress,
)
from statemachine.cli.mock_config import (
    add_mock_config_argument,
    check_mock_config,
    load_mock_config_option,
)
from statemachine.cli.registration import register_definitions
from statemachine.cli.start_up import exit_at_once, unless_stopped
from statemachine.errors import StoreError
from statemachine.language.substitutions import SUBSTITUTIONS_FILE, read_substitutions
from statemachine.runtime.log_lines import LogFormat, format_from_env
from statemachine.runtime.log_lines import configure as configure_logs

__all__ = ["configure", "main", "read_substitutions", "register_definitions", "run_loop"]

DEFAULT_DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
HTTP_SHUTDOWN_SECONDS = 10.0
EVENT_LOOP_ENV = "STATEMACHINE_EVENT_LOOP"
LISTEN_BACKLOG = 1024
"""Connections the kernel queues before they are accepted (aiohttp's 128 drops bursts)."""

log = logging.getLogger("statemachine.serve")


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    """Options of ``serve`` or of ``worker`` (the same module serves both commands)."""
    parser.add_argument("--redis-url", default=None,
                        help="Redis URL (default: $REDIS_URL, else a private redis-server"
                        + (")" if name == "serve" else " started by a running 'serve')"))
    if name == "serve":
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=8080, help="port to listen on")
        parser.add_argument("--workers", type=_non_negative, default=8,
                            help="in-process worker concurrency (0: the API alone)")
        parser.add_argument("--definitions", type=Path, default=DEFAULT_DEFINITIONS,
                            help="folder of *.yaml/*.yml/*.json definitions to register")
        parser.add_argument("--sub", action="append", default=[], metavar="K=V",
                            help="replace ${K} in the definitions with V (repeatable; wins over "
                            f"the definitions folder's {SUBSTITUTIONS_FILE})")
        parser.add_argument("--metrics-public", action="store_true",
                            help="serve /metrics without a key (for a scraper on a private "
                            "network)")
        parser.add_argument("--insecure-no-auth", action="store_true",
                            help="accept every request without a key (loopback --host only)")
        time_skipping.add_argument(parser)
    else:
        parser.add_argument("--concurrency", type=_positive, default=4,
                            help="work items handled at once")
        parser.add_argument("--drain", action="store_true",
                            help="exit once no work is left (no stream entry on any shard, no "
                            "timer due within STATEMACHINE_DRAIN_TIMERS_MS, default 5 s)")
    parser.add_argument("--queues", type=_queues, default=None, metavar="Q[,Q...]",
                        help="take only the work of these queues (default: $STATEMACHINE_QUEUES, "
                        "else the default queue alone; README 'Worker pools')")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("STATEMACHINE_DATA_DIR") or ".statemachine"),
                        help="data folder: the private redis-server's data, admin.key, and "
                        "secret.key, the key sealing API key secrets and connection credentials unless STATEMACHINE_SECRET_KEY is set "
                        "(default: $STATEMACHINE_DATA_DIR or %(default)s; serve and its workers "
                        "must share it)")
    parser.add_argument("--otlp-endpoint", type=_http_url, default=None, metavar="URL",
                        help="export OpenTelemetry spans over OTLP/HTTP to this collector "
                        "(http://host:4318; POSTed to /v1/traces); default: off unless the "
                        "OTEL_* variables say (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_EXPORTER)")
    add_egress_arguments(parser)
    storage.add_storage_arguments(parser)
    add_mock_config_argument(parser)
    parser.add_argument("--log-level", default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="log verbosity")
    parser.add_argument("--log-format", default=format_from_env(), type=LogFormat,
                        choices=tuple(LogFormat), help="log lines on stdout: one JSON object "
                        "each, or text (default: $STATEMACHINE_LOG_FORMAT or json)")


def main(args: argparse.Namespace) -> int:
    # Until the graceful handlers are in place (_stop_event), SIGTERM ends the process at
    # once: as a container's PID 1 it would otherwise be ignored, and `docker stop` during
    # start-up would wait for its SIGKILL.
    signal.signal(signal.SIGTERM, exit_at_once)
    # Every line of the process, to stdout; the audit trail and the executions' lines (as
    # their machines' loggingConfiguration says) whatever --log-level says.
    configure_logs(args.log_format, args.log_level)
    problem = (load_mock_config_option(args) or check_egress(args)
               or storage.archive_problem(_settings(args)))
    if problem:
        _say(f"statemachine {args.command}: {problem}")
        return 2
    if args.command == "worker":
        return _worker_main(args)
    return _serve_main(args)


# serve ----------------------------------------------------------------------------------


def _serve_main(args: argparse.Namespace) -> int:
    from statemachine.cli.access import is_loopback
    from statemachine.runtime.embedded import EmbeddedRedis, EmbeddedRedisError

    if problem := time_skipping.refusal(args, _settings(args)):
        _say(f"statemachine serve: {problem}")
        return 2
    if args.time_skipping:
        _say(time_skipping.WARNING)
    if args.insecure_no_auth:
        if not is_loopback(args.host):
            _say(f"statemachine serve: --insecure-no-auth is allowed on a loopback address "
                 f"only (127.0.0.1, ::1, localhost), not --host {args.host}")
            return 2
        _say("statemachine: WARNING: --insecure-no-auth: the API, the dashboard and /metrics "
             "answer every request without a key; any program or web page on this machine "
             "can define, start and stop state machines")
    try:
        args.substitutions = read_substitutions(args.definitions / SUBSTITUTIONS_FILE, args.sub)
    except (ValueError, OSError) as exc:
        _say(f"statemachine serve: {exc}")
        return 2
    url = args.redis_url or os.environ.get("REDIS_URL")
    embedded: EmbeddedRedis | None = None
    if not url:
        embedded = EmbeddedRedis(args.data_dir)
        try:
            url = embedded.start()  # in the main thread: PDEATHSIG is tied to this thread
        except EmbeddedRedisError as exc:
            _say(f"statemachine serve: {exc}")
            return 2
        _say(f"statemachine: no --redis-url or REDIS_URL given; started a private redis-server "
             f"(pid {embedded.proc.pid if embedded.proc else '?'}) at {embedded.display_url} "
             f"(password in {embedded.password_file}), data in "
             f"{embedded.data_dir} (AOF, appendfsync always)")
    try:
        return run_loop(_serve(args, url))
    finally:
        if embedded is not None:
            embedded.stop()
            _say("statemachine: private redis-server stopped")


async def _serve(args: argparse.Namespace, url: str) -> int:
    from aiohttp import web

    from statemachine.api import create_app
    from statemachine.runtime.settings import redacted_url
    from statemachine.service import Service

    stop = _stop_event()
    try:
        # The egress rules and the API's own address, for the tasks EXPRESS executions
        # perform in this process (as for the worker's).
        service = await unless_stopped(stop, Service.connect(url, settings=with_egress(
            _settings(args), args, [endpoint(args.host, args.port)])))
    except (StoreError, ValueError) as exc:  # unreachable after the retries, refused, or a
        # malformed URL
        _say(f"statemachine serve: cannot connect to Redis at {redacted_url(url)}: {exc}")
        return 2
    if service is None:
        return 0
    try:
        if problem := (await time_skipping.prepare(service.store.core, args.time_skipping)
                       or await storage.check_bucket(service)):
            _say(f"statemachine serve: {problem}")
            return 2
        access = await _access(args, service)
        if access is None:
            return 2
        auth, admin = access
        for line in await register_definitions(service, args.definitions, args.substitutions):
            _say(line)
        if problem := await check_mock_config(args, service):
            _say(f"statemachine serve: {problem}")
            return 2
        listening = [endpoint(args.host, args.port)]
        worker = _worker(url, args.workers, args, listening)
        app = create_app(service, workers=[worker] if worker is not None else [], auth=auth)
        runner = web.AppRunner(app, shutdown_timeout=HTTP_SHUTDOWN_SECONDS, access_log=None)
        _freeze_heap()
        await runner.setup()
        try:
            await web.TCPSite(runner, args.host, args.port, backlog=LISTEN_BACKLOG).start()
        except OSError as exc:
            await runner.cleanup()
            _say(f"statemachine serve: cannot listen on {args.host}:{args.port}: {exc.strerror}")
            return 2
        announcing = asyncio.create_task(announce(service, listening), name="listeners")
        worker_task = asyncio.create_task(worker.run(), name="worker") if worker else None
        skipping = time_skipping.start(service.store.core) if args.time_skipping else None
        base = f"http://{_display_host(args.host)}:{args.port}"
        pools = f" on queues {','.join(args.queues)}" if args.queues and args.workers else ""
        _say(f"statemachine: API on {base} ({args.workers} in-process workers{pools}); "
             f"dashboard at {base}/ui/; OpenAPI at {base}/openapi.json; "
             "try: python cli.py start hello --input-file definitions/inputs/hello.json --wait")
        if auth.enforce:
            from statemachine.keyring import LOGIN_TTL_S

            token = await auth.keyring.login_token(admin)
            _say(f"statemachine: log the dashboard in with this link (works once, within "
                 f"{LOGIN_TTL_S // 60} minutes): {base}/ui/?login={token}")
        crashed = await _until_stopped(stop, worker_task)
        _say("statemachine: shutting down")
        announcing.cancel()
        if skipping is not None:
            skipping.cancel()
        await runner.cleanup()
        with contextlib.suppress(StoreError):
            await service.withdraw_listeners(listening)
        if worker is not None:
            crashed = await _stop_worker(worker, worker_task) or crashed
        return 1 if crashed else 0
    finally:
        await service.close()


async def _access(args: argparse.Namespace, service: Any) -> tuple[Any, Any] | None:
    """The app's AuthConfig and the admin key, set as :mod:`.access` says (None: refused)."""
    from statemachine.api.auth import AuthConfig
    from statemachine.cli.access import bootstrap_admin
    from statemachine.keyring import Keyring
    from statemachine.security.keys import KeyFormatError
    from statemachine.security.secretbox import SecretKeyError, load_secret_box

    try:
        keyring = Keyring(service.store, load_secret_box(args.data_dir))
        admin, line = await bootstrap_admin(keyring, args.data_dir)
    except (KeyFormatError, SecretKeyError, OSError) as exc:
        _say(f"statemachine serve: {exc}")
        return None
    _say(line)
    public = frozenset(("/metrics",)) if args.metrics_public else frozenset()
    return AuthConfig(keyring, enforce=not args.insecure_no_auth, public=public), admin


def _worker(url: str, concurrency: int, args: argparse.Namespace,
            listening: list[str] | None = None) -> Any:
    """The in-process worker (not yet running), or None for ``--workers 0``.  ``listening``:
    the API's own listeners, which its task requests may not reach."""
    if concurrency == 0:
        return None
    from statemachine.api.aws.local import over_store
    from statemachine.runtime.worker import Worker

    settings = with_egress(_settings(args), args, listening)
    if settings.tracing is not None:
        _say(f"statemachine: tracing on: spans to {settings.tracing.describe()}")
    return Worker(url, settings, concurrency, over_store)


async def _until_stopped(stop: asyncio.Event, worker_task: asyncio.Task[Any] | None,
                         drain: bool = False) -> bool:
    """Wait for a signal (returns False) or for the worker to die on its own (True; False
    for a draining worker that returned, its work done)."""
    waiter = asyncio.create_task(stop.wait())
    waits: set[asyncio.Future[Any]] = {waiter}
    if worker_task is not None:
        waits.add(worker_task)
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if worker_task is not None and worker_task.done():
        exc = None if worker_task.cancelled() else worker_task.exception()
        if drain and exc is None and not worker_task.cancelled():
            _say("statemachine: no work left")
            return False
        log.error("the worker stopped on its own", exc_info=exc)
        return True
    return False


async def _stop_worker(worker: Any, task: asyncio.Task[Any] | None) -> bool:
    """Ask the worker to stop gracefully and wait for it; True when it had crashed."""
    await worker.stop()
    if task is None:
        return False
    try:
        await task
    except asyncio.CancelledError:
        return False
    except Exception:
        log.exception("the worker failed while stopping")
        return True
    return False


# worker ---------------------------------------------------------------------------------


def _worker_main(args: argparse.Namespace) -> int:
    from statemachine.runtime.embedded import running_url

    url = args.redis_url or os.environ.get("REDIS_URL") or running_url(args.data_dir)
    if not url:
        _say("statemachine worker: no Redis to work on: pass --redis-url URL, set REDIS_URL, "
             "or run 'python cli.py serve' (with its private Redis) from this folder first")
        return 2
    return run_loop(_work(url, args.concurrency, args))


async def _work(url: str, concurrency: int, args: argparse.Namespace) -> int:
    from statemachine.runtime.settings import redacted_url
    from statemachine.service import Service

    drain = bool(args.drain)
    stop = _stop_event()
    try:  # first, so that a refusing or absent Redis is one clear line, not a traceback
        service = await unless_stopped(stop, Service.connect(url, settings=_settings(args)))
    except (StoreError, ValueError) as exc:
        _say(f"statemachine worker: cannot connect to Redis at {redacted_url(url)}: {exc}")
        return 2
    if service is None:
        return 0
    if problem := await time_skipping.prepare(service.store.core, False):
        await service.close()
    if problem := problem or await storage.check_bucket(service, close=True):
        _say(f"statemachine worker: {problem}")
        return 2
    worker = _worker(url, concurrency, args)
    _freeze_heap()
    task = asyncio.create_task(worker.run(drain=drain), name="worker")
    queues = ",".join(worker.settings.queues)
    _say(f"statemachine: worker running against {redacted_url(url)} (concurrency {concurrency}, "
         f"queues {queues}" + (", until no work is left)" if drain else ")"))
    crashed = await _until_stopped(stop, task, drain)
    if not crashed:
        _say("statemachine: worker shutting down")
        crashed = await _stop_worker(worker, task)
    return 1 if crashed else 0


# helpers --------------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> Any:
    """The runtime settings from the environment, the data folder and the command's options
    (replica acknowledgement, archive, retention)."""
    from statemachine.runtime.settings import Settings
    from statemachine.runtime.tracing.config import TracingSettings

    return storage.with_storage(Settings.from_env(data_dir=str(args.data_dir)), args).with_(
        mock_config=getattr(args, "mocks", None), queues=getattr(args, "queues", None),
        tracing=TracingSettings.from_env(endpoint=args.otlp_endpoint))


def _stop_event() -> asyncio.Event:
    """An event set by the first SIGINT/SIGTERM; a second signal exits immediately."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            _say(f"statemachine: second {signal.Signals(signum).name}; exiting now")
            os._exit(128 + signum)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    return stop


def run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run ``main`` on uvloop's event loop when uvloop is installed, else on asyncio's.

    uvloop takes a good part of the per-request and per-round-trip cost out of the loop
    (sockets, callbacks, timers).  ``STATEMACHINE_EVENT_LOOP=asyncio`` keeps the standard
    loop, for debugging.
    """
    if os.environ.get(EVENT_LOOP_ENV, "").lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(main)
    return asyncio.run(main)


YOUNG_GC_THRESHOLD = 20_000


def _freeze_heap() -> None:
    """Move everything allocated while starting up out of the garbage collector's sight.

    The imported modules, compiled schemas and definitions live as long as the process;
    without this every full collection walks them all again (tens of milliseconds in the
    middle of a request).  And collect the young generation every 20,000 allocations
    instead of 700: a step allocates a few hundred short-lived objects, so the default ran
    a collection every couple of steps (7% of a busy worker's CPU in the http workload).
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, older, oldest)


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _queues(text: str) -> tuple[str, ...]:
    """``--queues payments,default``: the queue names, each checked."""
    from statemachine.language.queues import queue_problem
    from statemachine.runtime.settings import parse_queues

    queues = parse_queues(text)
    if not queues:
        raise argparse.ArgumentTypeError("name one queue at least")
    for queue in queues:
        if problem := queue_problem(queue):
            raise argparse.ArgumentTypeError(problem)
    return queues


def _http_url(text: str) -> str:
    if not text.startswith(("http://", "https://")) or len(text) < 10:
        raise argparse.ArgumentTypeError("must be an http:// or https:// URL")
    return text


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
