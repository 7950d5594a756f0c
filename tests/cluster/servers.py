"""A real local Redis Cluster for the tests: 6 ``redis-server`` processes in cluster mode
(3 masters, 3 replicas), created with ``redis-cli --cluster create`` as an operator would.

:class:`LocalCluster` starts the nodes on free ports (AOF on, a short node timeout so a
failover takes seconds), creates the cluster, waits until every node says
``cluster_state:ok``, and can ``kill -9`` a master and wait for its replica to take over.
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

import pytest
import redis

from statemachine.runtime.embedded import MEMORY_SETTINGS

NODE_TIMEOUT_MS = 2_000
"""How long a master may be silent before the cluster fails it over."""


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


def _exe(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (.ci/run installs redis-server and redis-cli)")
    return found


@dataclass
class Node:
    port: int
    dir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [_exe("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--cluster-enabled", "yes",
             "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
             "--protected-mode", "no", "--logfile", str(self.dir / "redis.log"), *MEMORY_SETTINGS],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _until(lambda: self._pong(), f"redis-server on port {self.port} did not start")

    def _pong(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """``kill -9``: no shutdown, no last write to disk."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def role(self) -> str:
        return str(self.client().info("replication")["role"])


@dataclass
class LocalCluster:
    """Six nodes: three masters with one replica each."""

    dir: Path
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Any node's URL: the service finds the rest."""
        return self.nodes[0].url

    def start(self) -> None:
        self.nodes = [Node(cluster_port(), self.dir / f"node{n}") for n in range(6)]
        for node in self.nodes:
            node.start()
        subprocess.run(
            [_exe("redis-cli"), "--cluster", "create",
             *(f"127.0.0.1:{node.port}" for node in self.nodes),
             "--cluster-replicas", "1", "--cluster-yes"],
            check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=60)
        self.wait_ok()
        self.wait_replicas()

    def wait_replicas(self, timeout: float = 30.0) -> None:
        """Until every master has a replica in sync (``WAIT 1`` can then be answered)."""
        def synced(master: Node) -> bool:
            info = master.client().info("replication")
            replica = info.get("slave0")
            return isinstance(replica, dict) and replica.get("state") == "online"

        def ok() -> bool:
            try:
                return all(synced(m) for m in self.masters())
            except redis.RedisError:
                return False
        _until(ok, "a master has no replica in sync", timeout)

    def rejoin(self, node: Node, timeout: float = 30.0) -> None:
        """Start a killed node again (its nodes.conf makes it a replica of the master that
        took over) and wait until every master has a replica in sync again."""
        node.start()
        self.wait_ok(timeout)
        self.wait_replicas(timeout)

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every live node says the cluster is ok and three masters serve it."""
        def ok() -> bool:
            try:
                live = [n for n in self.nodes if n.proc is not None]
                states = [n.client().cluster("info")["cluster_state"] for n in live]
                return all(s == "ok" for s in states) and len(self.masters()) == 3
            except redis.RedisError:
                return False
        _until(ok, "the cluster did not become ok", timeout)

    def masters(self) -> list[Node]:
        return [n for n in self.nodes if n.proc is not None and n.role() == "master"]

    def replica_of(self, master: Node) -> Node:
        """The node replicating ``master``."""
        info = master.client().info("replication")
        port = int(info["slave0"]["port"])
        return next(n for n in self.nodes if n.port == port)

    def fail_over(self, master: Node, timeout: float = 30.0,
                  killed: Callable[[], object] | None = None) -> Node:
        """``kill -9`` ``master``; returns its replica once that serves as master.
        ``killed`` runs right after the kill, before the replica takes over (what the
        replica holds then is what survives)."""
        before = {n.port for n in self.masters()}
        master.kill()
        if killed is not None:
            killed()
        def promoted() -> bool:
            try:
                now = {n.port for n in self.masters()}
            except redis.RedisError:
                return False
            return len(now) == 3 and now != before
        _until(promoted, "no replica took over the killed master", timeout)
        self.wait_ok(timeout)
        (port,) = {n.port for n in self.masters()} - before
        return next(n for n in self.nodes if n.port == port)

    def add_master(self, timeout: float = 30.0) -> Node:
        """A new, empty master joined to the cluster (``redis-cli --cluster add-node``), as
        an operator adds one before moving slots to it."""
        node = Node(cluster_port(), self.dir / f"node{len(self.nodes)}")
        node.start()
        subprocess.run(
            [_exe("redis-cli"), "--cluster", "add-node", f"127.0.0.1:{node.port}",
             f"127.0.0.1:{self.nodes[0].port}"],
            check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=60)
        self.nodes.append(node)
        node_id = self.node_id(node)

        def known() -> bool:
            try:
                live = [n for n in self.nodes if n.proc is not None]
                return all(node_id.encode() in n.client().execute_command("CLUSTER", "NODES")
                           and n.client().cluster("info")["cluster_state"] == "ok"
                           for n in live)
            except redis.RedisError:
                return False
        _until(known, "the added node did not join the cluster", timeout)
        return node

    def node_id(self, node: Node) -> str:
        """``node``'s cluster node id (what ``CLUSTER SETSLOT`` and ``--cluster-from`` take)."""
        return str(node.client().execute_command("CLUSTER", "MYID").decode())

    def flush(self) -> None:
        for node in self.masters():
            node.client().flushall()

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


def _until(check: object, message: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise RuntimeError(message)
