"""A real local Redis Cluster for the tests: the bench's (:mod:`statemachine.bench.cluster`:
6 ``redis-server`` processes, 3 masters + 3 replicas, made with ``redis-cli --cluster
create``; a master ``kill -9``ed, its replica promoted, the killed node rejoining), plus
what a resharding test needs: an added master and the nodes' cluster ids.
"""

from __future__ import annotations

import subprocess

import redis

from statemachine.bench.cluster import LocalCluster as BenchCluster
from statemachine.bench.cluster import Node, cluster_port, redis_cli, until

__all__ = ["LocalCluster", "Node"]


class LocalCluster(BenchCluster):
    """The bench's cluster, which a test may grow by a master."""

    def add_master(self, timeout: float = 30.0) -> Node:
        """A new, empty master joined to the cluster (``redis-cli --cluster add-node``), as
        an operator adds one before moving slots to it."""
        node = Node(cluster_port(), self.dir / f"node{len(self.nodes)}")
        node.start()
        subprocess.run(
            [redis_cli(), "--cluster", "add-node", f"127.0.0.1:{node.port}",
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
        until(known, "the added node did not join the cluster", timeout)
        return node

    def node_id(self, node: Node) -> str:
        """``node``'s cluster node id (what ``CLUSTER SETSLOT`` and ``--cluster-from`` take)."""
        return str(node.client().execute_command("CLUSTER", "MYID").decode())
