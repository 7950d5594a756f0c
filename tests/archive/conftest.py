"""Fixtures of the archive's tests: the runtime's (a real redis-server, the service and
workers in process) and moto's S3 server with a bucket."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.runtime.conftest import redis, runtime, settings  # noqa: F401  (fixtures)


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(moto_url: str) -> str:
    """A new bucket on moto's server: its name."""
    name = f"archive-{uuid.uuid4().hex[:12]}"
    s3_client(moto_url).create_bucket(Bucket=name)
    return name
