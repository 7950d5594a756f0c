"""Fixtures of the API tests: the REST API over a real Service, with and without a Worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

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


@pytest.fixture
def own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The service key (what seals connections' credentials) in the test's own data dir:
    ``pytestmark = pytest.mark.usefixtures("own_data_dir")`` before ``api`` starts."""
    monkeypatch.setenv("STATEMACHINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("STATEMACHINE_SECRET_KEY", raising=False)
    return tmp_path
