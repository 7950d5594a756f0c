"""A real local Redis Cluster: 6 ``redis-server`` processes in cluster mode (3 masters,
3 replicas), created with ``redis-cli --cluster create`` as an operator would.

``cli.py bench --cluster`` runs on one (the durable baseline's settings: AOF on,
``appendfsync everysec``; the default node timeout here, 2 s, is the tests'), and so do the
tests of tests/cluster/ (whose servers.py adds what a resharding needs).
:class:`LocalCluster` starts the nodes on free ports, creates the cluster, waits until every
node says ``cluster_state:ok`` and every master's replica acknowledges (``WAIT 1``), can
``kill -9`` a master and wait for its replica to take over, and start the killed node
again as a replica.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from statemachine.runtime.embedded import MEMORY_SETTINGS
from statemachine.runtime.store import servers

NODE_TIMEOUT_MS = 2_000
"""How long a master may be silent before the cluster fails it over (the tests')."""
MASTERS = 3


__all__ = ["MASTERS", "NODE_TIMEOUT_MS", "LocalCluster", "Node", "cluster_port", "redis_cli",
           "until"]


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too, so below 55536."""
    while True:
        port = random.randrange(20_000, 55_000)
        if all(_free(p) for p in (port, port + 10_000)):
            return port


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def redis_cli() -> str:
    return _exe("redis-cli")


def _exe(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed (install redis-server and redis-cli)")
    return found


@dataclass
class Node:
    """One redis-server of the cluster, in a directory of its own."""

    port: int
    dir: Path
    proc: subprocess.Popen[bytes] | None = None
    node_timeout_ms: int = NODE_TIMEOUT_MS

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Any:
        """A synchronous redis-py client of this node."""
        return servers.client(self.port)

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [_exe("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--cluster-enabled", "yes",
             "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", str(self.node_timeout_ms),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
             "--protected-mode", "no", "--logfile", str(self.dir / "redis.log"), *MEMORY_SETTINGS],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until(lambda: servers.answers(self.port), f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        """``kill -9``: no shutdown, no last write to disk."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def role(self) -> str:
        """``master``, ``slave`` (or ``unreachable``)."""
        return servers.role(self.port)


@dataclass
class LocalCluster:
    """Six nodes: three masters with one replica each, in ``dir``."""

    dir: Path
    nodes: list[Node] = field(default_factory=list)
    node_timeout_ms: int = NODE_TIMEOUT_MS

    @property
    def url(self) -> str:
        """Any node's URL: the service finds the rest."""
        return self.nodes[0].url

    def start(self) -> LocalCluster:
        self.nodes = [Node(cluster_port(), self.dir / f"node{n}",
                           node_timeout_ms=self.node_timeout_ms) for n in range(2 * MASTERS)]
        try:
            for node in self.nodes:
                node.start()
            subprocess.run(
                [redis_cli(), "--cluster", "create",
                 *(f"127.0.0.1:{node.port}" for node in self.nodes),
                 "--cluster-replicas", "1", "--cluster-yes"],
                check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=60)
            self.wait_ok()
            self.wait_replicas()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every live node says the cluster is ok and at least three masters serve it."""
        def ok() -> bool:
            live = [n.port for n in self.nodes if n.proc is not None]
            return servers.cluster_ok(live) and len(self.masters()) >= MASTERS
        until(ok, "the cluster did not become ok", timeout)

    def wait_replicas(self, timeout: float = 30.0) -> None:
        """Until every master's replica acknowledges its stream (``WAIT 1`` is answered)."""
        until(lambda: all(servers.acking_replicas(n.port) >= 1 for n in self.masters()),
               "a master has no replica in sync", timeout)

    def masters(self) -> list[Node]:
        return [n for n in self.nodes if n.proc is not None and n.role() == "master"]

    def replica_of(self, master: Node) -> Node:
        """The node replicating ``master``."""
        port = servers.replica_port(master.port)
        return next(n for n in self.nodes if n.port == port)

    def fail_over(self, master: Node, timeout: float = 30.0,
                  killed: Callable[[], object] | None = None) -> Node:
        """``kill -9`` ``master``; returns its replica once that serves as master.
        ``killed`` runs right after the kill, before the replica takes over (what the
        replica holds then is what survives)."""
        before = {n.port for n in self.masters()} | {master.port}  # it may be dead already
        master.kill()
        if killed is not None:
            killed()

        def promoted() -> bool:
            now = {n.port for n in self.masters()}
            return len(now) == len(before) and master.port not in now
        until(promoted, "no replica took over the killed master", timeout)
        self.wait_ok(timeout)
        (port,) = {n.port for n in self.masters()} - before
        return next(n for n in self.nodes if n.port == port)

    def rejoin(self, node: Node, timeout: float = 30.0) -> None:
        """Start a killed node again (its nodes.conf makes it a replica of the master that
        took over) and wait until every master has a replica in sync again."""
        node.start()
        self.wait_ok(timeout)
        self.wait_replicas(timeout)

    def flush(self) -> None:
        for node in self.masters():
            servers.flush(node.port)

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


def until(check: Callable[[], bool], message: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(message)
