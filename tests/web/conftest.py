"""Fixtures of the dashboard tests: the API with a Worker, and headless Chromium on it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.client import Api, serve_api
from tests.web import chromium
from tests.web.chromium import Browser, DumpDom
from tests.web.dom import Element


@pytest.fixture
async def api(redis_url: str) -> AsyncIterator[Api]:
    """The API over a real Service with an in-process Worker."""
    async with serve_api(redis_url, 4) as value:
        yield value


async def login_link(api: Api, fragment: str = "") -> str:
    """A one-time link that logs a browser in as the admin key (as ``serve`` prints one)."""
    key = await api.keyring.verify(api.secret)
    assert key is not None
    token = await api.keyring.login_token(key)
    return f"{api.client.make_url('/ui/')}?login={token}{fragment}"


@pytest.fixture
def dump_dom(api: Api, tmp_path: Path) -> DumpDom:
    """Render ``/ui/`` + a fragment once in Chromium (each call with its own profile, logged
    in by a login link)."""
    calls = itertools.count()

    async def dump(fragment: str = "", *, screenshot: Path | None = None) -> Element:
        url = await login_link(api, fragment)
        return await chromium.dump_dom(url, tmp_path / f"chromium-{next(calls)}",
                                       screenshot=screenshot)

    return dump


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Browser]:
    """One Chromium page kept open, driven over the DevTools protocol."""
    async with chromium.browser(tmp_path) as opened:
        yield opened
