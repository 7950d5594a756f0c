"""Fixtures of the tests on a real local Redis Cluster (tests/cluster/servers.py).

* ``redis_cluster`` — the module's cluster of 6 nodes (3 masters, 3 replicas); tests that
  kill a node get a cluster of their own (``fresh_cluster``);
* ``cluster_url`` — a URL to one of its nodes, every master flushed before the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.servers import LocalCluster


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster_url(redis_cluster: LocalCluster) -> str:
    redis_cluster.flush()
    return redis_cluster.url


@pytest.fixture
def fresh_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A cluster of the test's own, for a test that kills nodes."""
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
