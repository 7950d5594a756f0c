"""Fixtures of the API tests: the REST API over a real Service, with and without a Worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.api.client import Api, serve_api


@pytest.fixture
async def api(redis_url: str) -> AsyncIterator[Api]:
    """The API over a real Service with an in-process Worker."""
    async with serve_api(redis_url, 4) as value:
        yield value


@pytest.fixture
async def api_alone(redis_url: str) -> AsyncIterator[Api]:
    """The API with no worker: nothing but the requests themselves writes to Redis."""
    async with serve_api(redis_url, 0) as value:
        yield value
