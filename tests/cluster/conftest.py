"""Fixtures of the tests on a real local Redis Cluster (tests/cluster/servers.py).

* ``redis_cluster`` — the module's cluster of 6 nodes (3 masters, 3 replicas); tests that
  kill a node get a cluster of their own (``fresh_cluster``);
* ``cluster_url`` — a URL to one of its nodes, every master flushed before the test;
* ``redis_url`` — here, ``cluster_url``: so the runtime's fixtures (tests/runtime/conftest.py:
  ``settings``, ``runtime``, ``gap_free``) run on the cluster as they are (a test module
  that kills nodes overrides it with ``fresh_cluster.url``);
* ``redis`` — a raw cluster client (``redis.asyncio.RedisCluster``) to look at what the store
  wrote.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from tests.cluster.servers import LocalCluster
from tests.runtime.conftest import gap_free, runtime, settings

__all__ = ["gap_free", "runtime", "settings"]  # the runtime's fixtures, on the cluster


def _running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    yield from _running(tmp_path_factory)


@pytest.fixture
def cluster_url(redis_cluster: LocalCluster) -> str:
    redis_cluster.flush()
    return redis_cluster.url


@pytest.fixture
def redis_url(cluster_url: str) -> str:
    """The cluster's URL where the runtime's fixtures ask for a Redis."""
    return cluster_url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.RedisCluster]:
    client = aioredis.RedisCluster.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def fresh_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A cluster of the test's own, for a test that kills nodes."""
    yield from _running(tmp_path_factory)
