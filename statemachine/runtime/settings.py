"""Runtime settings: where Redis is, how workers lease, claim, block and batch.

``Settings.from_env(**overrides)`` reads ``STATEMACHINE_*`` variables (and ``REDIS_URL``);
keyword arguments win over the environment.  Every field has a default that suits one
machine; the crash tests shorten ``lease_ms`` so that a killed worker's items come back
within a second.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from statemachine.language.arns import DEFAULT_ACCOUNT, DEFAULT_PLACE, DEFAULT_REGION, Place
from statemachine.language.mocks import MockConfig
from statemachine.language.queues import DEFAULT_QUEUE, lane_name, queue_problem
from statemachine.runtime.invokers.base import InvokerSettings
from statemachine.runtime.redaction import names_from_env
from statemachine.runtime.tracing.config import TracingSettings

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redacted_url(url: str) -> str:
    """``url`` with its password masked, to print or log (``redis://user:***@host:6379/0``)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
    except ValueError:  # a malformed URL (a bad port...): say nothing of what it holds
        return "<a malformed Redis URL>"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))

def parse_queues(text: str) -> tuple[str, ...]:
    """``payments,default`` as a tuple of queue names (checked by :class:`Settings`)."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


_ENV: dict[str, str] = {
    "redis_url": "REDIS_URL",
    "shards": "STATEMACHINE_SHARDS",
    "lease_ms": "STATEMACHINE_LEASE_MS",
    "block_ms": "STATEMACHINE_BLOCK_MS",
    "read_count": "STATEMACHINE_READ_COUNT",
    "retention_s": "STATEMACHINE_RETENTION_S",
    "timer_max_sleep_ms": "STATEMACHINE_TIMER_MAX_SLEEP_MS",
    "concurrency": "STATEMACHINE_CONCURRENCY",
    "invoke_concurrency": "STATEMACHINE_INVOKE_CONCURRENCY",
    "max_per_destination": "STATEMACHINE_MAX_PER_DESTINATION",
    "children_in_flight": "STATEMACHINE_CHILDREN_IN_FLIGHT",
    "consumer": "STATEMACHINE_CONSUMER",
    "max_deliveries": "STATEMACHINE_MAX_DELIVERIES",
    "stats_flush_ms": "STATEMACHINE_STATS_FLUSH_MS",
    "timings_flush_ms": "STATEMACHINE_TIMINGS_FLUSH_MS",
    "sweep_interval_ms": "STATEMACHINE_SWEEP_INTERVAL_MS",
    "drain_timers_ms": "STATEMACHINE_DRAIN_TIMERS_MS",
    "data_dir": "STATEMACHINE_DATA_DIR",
    "max_sync_executions": "STATEMACHINE_MAX_SYNC_EXECUTIONS",
    "region": "STATEMACHINE_REGION",
    "account": "STATEMACHINE_ACCOUNT",
    "min_replicas_ack": "STATEMACHINE_MIN_REPLICAS_ACK",
    "min_replicas_timeout_ms": "STATEMACHINE_MIN_REPLICAS_TIMEOUT_MS",
    "archive_url": "STATEMACHINE_ARCHIVE_URL",
    "archive_after_s": "STATEMACHINE_ARCHIVE_AFTER_S",
    "archive_endpoint": "STATEMACHINE_ARCHIVE_ENDPOINT",
    "archive_interval_ms": "STATEMACHINE_ARCHIVE_INTERVAL_MS",
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the store, the workers and the service need besides the code.

    ``shards``              shard count used when Redis holds none yet (fixed at first start)
    ``lease_ms``            a work item or dispatch idle this long is taken over (XAUTOCLAIM);
                            items in hand are refreshed every third of it, so a slow HTTP
                            call is not stolen from a live worker
    ``block_ms``            how long one XREADGROUP blocks (also bounds ``stop()``)
    ``read_count``          entries asked for per XREADGROUP / XAUTOCLAIM
    ``retention_s``         finished executions (record, history, name) expire after this
    ``timer_max_sleep_ms``  the scheduler's longest sleep: a safety net only, since a commit
                            setting a shard's earliest timer wakes every scheduler (PUBLISH);
                            a timer whose wake-up was lost is promoted at most this late
    ``timer_batch``         timers promoted per shard per script call
    ``concurrency``         work items in flight per worker process
    ``invoke_concurrency``  task dispatches in flight per worker process
    ``max_per_destination`` task dispatches in flight per destination (``host:port``) per
                            worker process, so a hanging service cannot take every slot;
                            0: a quarter of ``invoke_concurrency`` (at least 1)
    ``children_in_flight``  cap on children started at once when MaxConcurrency is 0
    ``input_chunk``         Map inputs written/read per Redis call
    ``commit_retries``      compare-and-set attempts before an item is left for a retry
    ``max_input_bytes``     the largest execution input or callback output (AWS: 256 KiB)
    ``consumer``            consumer name in the groups (default ``<host>:<pid>``)
    ``max_deliveries``      deliveries of a work item or dispatch whose handling raised each
                            time (a bug, a corrupt record) before it is moved to its shard's
                            dead-letter stream ``sm:T:dead`` instead of being taken over
                            after every lease forever; 0 never moves one
    ``stats_flush_ms``      how often a worker adds its counters (transitions, tasks, refused
                            commits, dead letters) to ``sm:stats`` for ``GET /metrics``
    ``timings_flush_ms``    how often a worker or API process adds its latency histograms'
                            buckets to Redis (``sm:{timings}:*``, runtime/timings.py)
    ``sweep_interval_ms``   how often a worker drops the listing-index entries of finished
                            executions whose records have expired (``sweep.lua``)
    ``data_dir``            the service's data folder (``serve --data-dir``): its
                            ``secret.key`` seals connection credentials unless
                            ``STATEMACHINE_SECRET_KEY`` is set; ``serve`` and every
                            ``worker`` must share it (or that variable)
    ``redact_headers``      header names masked in ``TaskScheduled`` events besides
                            Authorization, Proxy-Authorization, Cookie and X-Api-Key
                            (``STATEMACHINE_REDACT_HEADERS``, comma-separated; see
                            :mod:`statemachine.runtime.redaction`)
    ``max_sync_executions`` runs an API process makes at once in process
                            (``StartSyncExecution``, ``TestState``); one more is refused with
                            ``ThrottlingException`` (HTTP 429 on the REST API), as AWS
                            throttles, rather than let them take the process's memory
    ``region``, ``account`` what the ARNs the service writes carry (``STATEMACHINE_REGION``,
                            ``STATEMACHINE_ACCOUNT``; :attr:`place`)
    ``min_replicas_ack``    N > 0: every write is followed by ``WAIT N`` on its node, so a
                            write is acknowledged (to an API caller, or taken as done by a
                            worker) only once N replicas hold it: the loss of a master then
                            loses no acknowledged transition (``--min-replicas-ack``)
    ``min_replicas_timeout_ms`` how long a write waits for those replicas; when fewer answer
                            in time an API call answers "unavailable" (the write may stand:
                            a retry is idempotent) and a worker carries on, counting it
    ``drain_timers_ms``     a draining worker (``Worker.run(drain=True)``, ``cli.py worker
                            --drain``) waits for the timers due within this much; it returns
                            once no work is left but later timers
    ``archive_url``         ``s3://bucket/prefix``: finished root executions move there
                            ``archive_after_s`` after they end ("" keeps them in Redis until
                            ``retention_s``); see :mod:`statemachine.runtime.archive`
    ``archive_endpoint``    the S3 endpoint (MinIO, a test server; "" AWS, or botocore's
                            ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``)
    ``archive_interval_ms`` how often each worker looks for executions to archive (and for
                            archived ones whose retention ended, to delete)
    ``archive_batch``       executions archived per shard per round
    ``archive_concurrency`` uploads in flight per worker process
    ``queues``              the queues whose work this process's workers take (``worker
                            --queues``, ``STATEMACHINE_QUEUES``, comma-separated; the default
                            queue alone by default): see the README's Worker pools
    ``tracing``             where spans go (:mod:`statemachine.runtime.tracing`); None (the
                            default): tracing off, nothing of OpenTelemetry loaded.  From
                            ``--otlp-endpoint`` or the ``OTEL_*`` variables
                            (:meth:`TracingSettings.from_env`)
    ``mock_config``         the loaded mock config (``serve``/``worker --mock-config F`` or
                            ``STATEMACHINE_MOCK_CONFIG``; Step Functions Local's format): starts
                            may name its test cases, whose mocked states the workers answer
                            (:mod:`statemachine.runtime.mocking`); None: no test cases
    """

    redis_url: str = field(default=DEFAULT_REDIS_URL, repr=False)  # may hold a password
    shards: int = 16
    lease_ms: int = 10_000
    block_ms: int = 1_000
    read_count: int = 64
    retention_s: int = 7 * 24 * 3600
    timer_max_sleep_ms: int = 10_000
    timer_batch: int = 500
    concurrency: int = 32
    invoke_concurrency: int = 64
    max_per_destination: int = 0
    children_in_flight: int = 500
    input_chunk: int = 1_000
    commit_retries: int = 50
    max_input_bytes: int = 256 * 1024
    consumer: str | None = None
    max_deliveries: int = 5
    stats_flush_ms: int = 5_000
    timings_flush_ms: int = 1_000
    sweep_interval_ms: int = 60_000
    drain_timers_ms: int = 5_000
    data_dir: str = ".statemachine"
    redact_headers: tuple[str, ...] = ()
    max_sync_executions: int = 1_000
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    min_replicas_ack: int = 0
    min_replicas_timeout_ms: int = 1_000
    invokers: InvokerSettings = field(default_factory=InvokerSettings)
    archive_url: str = ""
    archive_after_s: int = 3600
    archive_endpoint: str = ""
    archive_interval_ms: int = 10_000
    archive_batch: int = 200
    archive_concurrency: int = 16
    queues: tuple[str, ...] = (DEFAULT_QUEUE,)
    tracing: TracingSettings | None = None
    mock_config: MockConfig | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        Place(self.region, self.account)  # ValueError naming the bad one
        if not self.queues:
            raise ValueError("a worker takes the work of one queue at least")
        for queue in self.queues:
            if problem := queue_problem(queue):
                raise ValueError(problem)

    @property
    def lanes(self) -> tuple[str | None, ...]:
        """The queues as the store's lanes name them (None: the default queue), each once."""
        return tuple(dict.fromkeys(lane_name(q) for q in self.queues))

    @property
    def place(self) -> Place:
        return Place(self.region, self.account)

    @property
    def record_place(self) -> str | None:
        """What a new record's ``place`` field holds: None for the default place."""
        place = self.place
        return None if place == DEFAULT_PLACE else f"{place.region}:{place.account}"

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Defaults, then the environment, then ``overrides`` (``None`` values are ignored)."""
        values: dict[str, Any] = {}
        types = {f.name: f.type for f in fields(cls)}
        for name, var in _ENV.items():
            raw = os.environ.get(var)
            if raw:
                values[name] = int(raw) if types[name] == "int" else raw
        values["invokers"] = InvokerSettings.from_env()
        values["redact_headers"] = names_from_env()
        if queues := os.environ.get("STATEMACHINE_QUEUES"):
            values["queues"] = parse_queues(queues)
        values["tracing"] = TracingSettings.from_env()
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
