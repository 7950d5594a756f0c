"""The dashboard behind a login, in headless Chromium: the one-time link, the form, the
logout, and a page of another origin whose requests carry the session cookie."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aiohttp import web

from statemachine.security.roles import Role
from tests.api.client import Api
from tests.api.samples import HELLO
from tests.web.chromium import Browser
from tests.web.conftest import login_link

ROWS = "document.querySelectorAll('#executions-body .execution-row').length"


async def test_a_login_link_opens_a_session_once(api: Api, page: Browser) -> None:
    await api.define("hello", HELLO)
    await api.start("hello", {})
    link = await login_link(api)
    await page.open(link)
    await page.until(f"location.pathname === '/ui/' && location.search === '' && {ROWS} === 1")
    assert await page.eval("document.cookie") == ""  # HttpOnly: no script reads the session
    assert "(admin)" in await page.eval("document.getElementById('who').textContent")
    await page.eval("document.getElementById('logout').click()")
    await page.until("document.getElementById('login-form') !== null")
    await page.open(link)  # spent: the page asks for a login instead
    await page.until("document.getElementById('login-form') !== null")
    assert await page.eval("document.getElementById('flash').hidden")


async def test_the_login_form_takes_a_key_secret(api: Api, page: Browser) -> None:
    await api.define("hello", HELLO)
    await api.start("hello", {})
    viewer = await api.key(Role.VIEWER, "reader")
    await page.open(str(api.client.make_url("/ui/")) + "#/machines")
    await page.until("document.getElementById('login-form') !== null")
    await page.eval("document.getElementById('login-secret').value = 'wrong';"
                    "document.querySelector('#login-form button').click()")
    await page.until("document.getElementById('login-message').textContent.includes('secret')")
    await page.eval(f"document.getElementById('login-secret').value = {json.dumps(viewer)};"
                    "document.querySelector('#login-form button').click()")
    await page.until("document.querySelectorAll('#machines-body tr').length === 1")
    assert await page.eval("document.getElementById('who').textContent") == "reader (viewer)"
    assert await page.eval("document.getElementById('login-form')") is None
    await page.open(str(api.client.make_url("/ui/")))  # the session outlives the page
    await page.until(f"{ROWS} === 1")


async def test_a_page_of_another_origin_cannot_use_the_cookie(
        api: Api, page: Browser, serve_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="statemachine.audit")
    await api.define("hello", HELLO)
    target = str(api.client.make_url("/v1/state-machines/hello/executions"))
    # What the probe did: a simple request (text/plain, no-cors: no preflight), sent
    # with the browser's cookies, from a server on another port of the same host.
    script = (f"fetch({json.dumps(target)}, {{method: 'POST', mode: 'no-cors', "
              "credentials: 'include', headers: {'Content-Type': 'text/plain'}, "
              "body: '{}'}).finally(() => { document.title = 'sent'; });")

    async def evil(request: web.Request) -> web.Response:
        return web.Response(text=f"<!doctype html><title>x</title><script>{script}</script>",
                            content_type="text/html")

    other = web.Application()
    other.router.add_get("/", evil)
    await page.open(await login_link(api))
    await page.until("document.getElementById('who')?.textContent")  # the cookie is set
    async with serve_app(other) as elsewhere:
        assert elsewhere.split(":")[-1] != str(api.client.port)
        await page.open(elsewhere + "/")
        await page.until("document.title === 'sent'")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "statemachine.audit"
             and json.loads(r.getMessage())["route"].endswith("/executions")]
    # 403, not 401: the cookie did arrive (same site), and was refused for its origin.
    assert [(line["status"], line["keyId"]) for line in lines] == [(403, "anonymous")]
    assert (await api.call("GET", "/v1/executions"))[1]["executions"] == []
