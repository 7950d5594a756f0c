"""Counters for ``GET /metrics``, written in Prometheus' text exposition format by hand.

The API counts what passes through it (requests, executions started, task callbacks,
activity tasks handed out).  What only the runtime sees (transitions, task invocations,
executions finished) comes from the service when it offers it: any object with an async
``metrics()`` or ``stats()`` method returning ``{metric_name: number}`` or
``{metric_name: {label_value_tuple_or_dict: number}}`` is merged in, so the API never
reaches behind the Service facade; a name ending ``_current`` or ``_pending`` is a gauge,
any other a counter, and :data:`RUNTIME_HELP` gives the names ``Service.stats()`` reports
their help text.  prometheus-client would add a dependency for what is fifty lines here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from statemachine.interpreter.records import Status

__all__ = ["RUNTIME_HELP", "Counter", "Metrics", "from_service", "render"]

Labels = tuple[tuple[str, str], ...]

RUNTIME_HELP: dict[str, str] = {
    "executions_current": "Root executions by status (the status indexes in Redis; finished "
                          "ones stay counted after their records expire).",
    "work_items_waiting_current": "Stream entries not yet delivered to a worker, by kind "
                                  "(ready: transitions, tasks: task dispatches).",
    "work_items_pending": "Stream entries delivered to a worker and not yet acknowledged, by kind.",
    "timers_pending": "Timers set (Wait states, retry intervals, task timeouts) not yet due.",
    "dead_letters_current": "Work items moved to the dead-letter streams, not requeued yet.",
    "executions_stalled_current": "RUNNING root executions held up by a dead letter of theirs "
                                  "(describe shows stalled: true); requeueing it resumes them.",
    "transitions_total": "Transitions committed by all workers (flushed every stats_flush_ms).",
    "tasks_performed_total": "Tasks performed by all workers, by result (sent: a callback "
                             "task whose result comes later).",
    "commit_conflicts_total": "Commits refused by their compare-and-set and retried from a "
                              "fresh load, by all workers.",
    "dead_lettered_total": "Work items moved to a dead-letter stream after max_deliveries "
                           "failed deliveries, by all workers.",
    "worker_errors_total": "Unexpected errors in workers' loops, each logged with its traceback.",
    "replica_ack_shortfalls_total": "Workers' writes fewer Redis replicas acknowledged in time "
                                    "than --min-replicas-ack asks (carried on: a failover then "
                                    "may redo them).",
    "worker_transitions_total": "Transitions committed by this process's in-process workers.",
    "archived_total": "Finished root executions moved from Redis to the archive bucket.",
    "archive_failures_total": "Archive uploads or deletions that failed (the execution stays "
                              "in Redis; tried again later).",
    "archive_deleted_total": "Archived executions deleted from the bucket when their retention "
                             "ended.",
    "shard_backlog_max_current": "The most ready work items (waiting + pending) of any one "
                                 "shard: one shard far above the average is a hot shard "
                                 "(one execution or Map is bound to its shard's master).",
    "redis_used_memory_bytes_current": "Redis used_memory (INFO memory), summed over the "
                                       "nodes; compare with maxmemory (docs/scaling.md).",
    "redis_maxmemory_bytes_current": "Redis maxmemory (0: no limit), summed over the nodes.",
    "queue_work_current": "Work of each queue not yet done: work items and task dispatches "
                          "waiting or in hand, and timers due but not promoted (README "
                          "Worker pools).",
    "queue_workers_current": "Live workers taking each queue's work (announced every 5 s); 0 "
                             "with work waiting: no worker takes that queue.",
}


@dataclass
class Counter:
    """One metric family: a name, help text, type and values by label set."""

    name: str
    help: str
    kind: str = "counter"
    values: dict[Labels, float] = field(default_factory=lambda: defaultdict(float))

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        self.values[tuple(sorted(labels.items()))] += amount

    def set(self, value: float, **labels: str) -> None:
        self.values[tuple(sorted(labels.items()))] = value


class Metrics:
    """The API layer's counters (one instance per application)."""

    def __init__(self) -> None:
        self.requests = Counter(
            "statemachine_http_requests_total", "HTTP requests served, by route and status."
        )
        self.started = Counter(
            "statemachine_executions_started_total",
            "Executions started through the API (idempotent repeats not counted).",
        )
        self.observed_finished = Counter(
            "statemachine_executions_observed_finished_total",
            "Executions seen in a final status by the API (each execution counted once).",
        )
        self.callbacks = Counter(
            "statemachine_task_callbacks_total",
            "SendTaskSuccess/Failure/Heartbeat calls, by kind and outcome.",
        )
        self.activity_tasks = Counter(
            "statemachine_activity_tasks_total", "Activity tasks handed to pollers."
        )
        self.up = Counter("statemachine_redis_up", "1 when Redis answers PING.", kind="gauge")
        self._finished_seen: set[str] = set()

    def families(self) -> list[Counter]:
        return [self.requests, self.started, self.observed_finished, self.callbacks,
                self.activity_tasks, self.up]

    def saw_execution(self, execution: Mapping[str, Any]) -> None:
        """Count an execution the first time the API sees it in a final status."""
        status = execution.get("status")
        execution_id = execution.get("executionId")
        if status in (None, Status.RUNNING) or not isinstance(execution_id, str):
            return
        if execution_id in self._finished_seen:
            return
        if len(self._finished_seen) > 100_000:
            self._finished_seen.clear()
        self._finished_seen.add(execution_id)
        self.observed_finished.inc(status=str(status))


def from_service(stats: Mapping[str, Any]) -> list[Counter]:
    """Turn a service's ``{name: number | {labels: number}}`` mapping into metric families."""
    families: list[Counter] = []
    for name, value in sorted(stats.items()):
        help_text = RUNTIME_HELP.get(name, f"Reported by the runtime: {name}.")
        metric = Counter(_metric_name(name), help_text,
                         kind="gauge" if name.endswith(("_current", "_pending")) else "counter")
        if isinstance(value, Mapping):
            for labels, number in value.items():
                metric.set(float(number), **_labels(labels))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            metric.set(float(value))
        else:
            continue
        families.append(metric)
    return families


def _labels(key: Any) -> dict[str, str]:
    if isinstance(key, Mapping):
        return {str(k): str(v) for k, v in key.items()}
    if isinstance(key, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in key):
        return {str(k): str(v) for k, v in key}
    return {"key": str(key)}


def _metric_name(name: str) -> str:
    clean = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return clean if clean.startswith("statemachine_") else f"statemachine_{clean}"


def render(families: Iterable[Counter]) -> str:
    """Prometheus text format 0.0.4: HELP, TYPE, then one line per label set."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in sorted(family.values.items()):
            lines.append(f"{family.name}{_format_labels(labels)} {_format_value(value)}")
    return "\n".join(lines) + "\n"


def _format_labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() else repr(value)
