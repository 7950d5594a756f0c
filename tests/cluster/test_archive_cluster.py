"""The archive on a Redis Cluster: the archive's own tests (tests/archive), the runtime on
a cluster's nodes (tests/cluster/conftest.py) and moto's S3 server.  Archiving, reading an
archived execution back and restoring it for a redrive touch one shard's keys at a time,
so they run unchanged where each shard lives on its own master."""

from __future__ import annotations

from typing import Any

from tests.archive.conftest import bucket  # noqa: F401 -- the bucket fixture
from tests.archive.test_archive_runtime import (
    test_a_redrive_restores_an_archived_execution_first as redrive_restores,
)
from tests.archive.test_archive_runtime import (
    test_archived_executions_read_as_before_and_leave_a_stub as reads_as_before,
)


async def test_archived_executions_read_as_before_on_a_cluster(
        runtime: Any, redis: Any, moto_url: str, bucket: str) -> None:  # noqa: F811
    await reads_as_before(runtime, redis, moto_url, bucket)


async def test_a_redrive_restores_an_archived_execution_on_a_cluster(
        runtime: Any, redis: Any, moto_url: str, bucket: str) -> None:  # noqa: F811
    await redrive_restores(runtime, redis, moto_url, bucket)
