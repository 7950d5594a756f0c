"""What the launchers of local ``redis-server`` processes ask them, one server by port.

The bench's private Redis Cluster (:mod:`statemachine.bench.cluster`, which the cluster
tests use too) starts its nodes, then waits until they answer, until the cluster says it is
ok, and asks which node is a master; these are those questions, synchronous (the launcher
is), on loopback.
"""

from __future__ import annotations

from typing import Any

import redis

__all__ = ["acking_replicas", "answers", "client", "cluster_ok", "flush", "replica_port",
           "role"]


def client(port: int) -> Any:
    """A synchronous client of the redis-server on 127.0.0.1:``port`` (for tests)."""
    return redis.Redis(port=port, socket_timeout=5)


def answers(port: int) -> bool:
    """Whether it answers PING."""
    try:
        with client(port) as node:
            return bool(node.ping())
    except redis.RedisError:
        return False


def role(port: int) -> str:
    """``master``, ``slave``, or ``unreachable`` when it does not answer."""
    try:
        with client(port) as node:
            return str(node.info("replication")["role"])
    except redis.RedisError:
        return "unreachable"


def replica_port(port: int) -> int:
    """The port of the first replica of this master."""
    with client(port) as node:
        return int(node.info("replication")["slave0"]["port"])


def acking_replicas(port: int, wanted: int = 1, timeout_ms: int = 1_000) -> int:
    """How many replicas of this master acknowledge (``WAIT``, up to ``timeout_ms`` for
    ``wanted`` of them: a replica counts once it has acknowledged the master's stream,
    which it does once a second, while ``INFO`` may already call it online)."""
    try:
        with client(port) as node:
            return int(node.execute_command("WAIT", wanted, timeout_ms))
    except redis.RedisError:
        return 0


def cluster_ok(ports: list[int]) -> bool:
    """Whether every one of these cluster nodes says ``cluster_state:ok``."""
    try:
        for port in ports:
            with client(port) as node:
                if node.cluster("info")["cluster_state"] != "ok":
                    return False
    except redis.RedisError:
        return False
    return True


def flush(port: int) -> None:
    """Empty every database of the server (a master: its replicas follow)."""
    with client(port) as node:
        node.flushall()
