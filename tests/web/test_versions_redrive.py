"""Redrive, versions and aliases on the dashboard, in headless Chromium over a real service.

An execution's page shows its redrive count (0 when describe has none) and, for a FAILED,
TIMED_OUT or ABORTED execution, a Redrive button that calls ``POST
/v1/executions/{id}/redrive``; a state machine's page lists its published versions and its
aliases (``GET /v1/state-machines/{name}/versions`` and ``/aliases``); an execution started
through an alias shows the version and alias ARNs describe gives it.

The dashboard asks /openapi.json (which lists exactly the routes served) whether the server
has those routes, and leaves out what it has not. The tests marked ``needs`` drive routes
that other parts add (the redrive route, the catalog's REST routes): they run as soon as the
server has them.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from statemachine.api.routes import ROUTES
from tests.api.client import Api
from tests.web.chromium import Browser, DumpDom
from tests.web.conftest import login_link
from tests.web.test_trace import keep

REDRIVE = ("POST", "/v1/executions/{id}/redrive")
VERSIONS = ("GET", "/v1/state-machines/{name}/versions")
ALIASES = ("GET", "/v1/state-machines/{name}/aliases")
ALIAS = ("GET", "/v1/state-machines/{name}/aliases/{alias}")


def served(method: str, path: str) -> bool:
    return any((route.method, route.path) == (method, path) for route in ROUTES)


def needs(*routes: tuple[str, str]) -> pytest.MarkDecorator:
    missing = [" ".join(route) for route in routes if not served(*route)]
    return pytest.mark.skipif(bool(missing), reason=f"the server has no {', '.join(missing)} "
                              "yet (another part of issue 10 adds it; runs once merged)")


async def snap(page: Browser, path: Path) -> None:
    """A PNG of the page as shown (kept in $STATEMACHINE_SCREENSHOTS when set)."""
    shot = await page.command("Page.captureScreenshot", format="png")
    path.write_bytes(base64.b64decode(shot["data"]))
    keep(path)


def charge_machine(base: str) -> dict[str, Any]:
    return {"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Result": {"amount": 5}, "Next": "Charge"},
        "Charge": {"Type": "Task", "Resource": f"{base}/charge", "Next": "Done"},
        "Done": {"Type": "Pass", "End": True}}}


def payments(down: dict[str, bool]) -> web.Application:
    """A payments service that answers 500 while ``down["now"]``."""

    async def charge(request: web.Request) -> web.Response:
        if down["now"]:
            return web.json_response({"error": "database away"}, status=500)
        return web.json_response({"charged": True})

    app = web.Application()
    app.router.add_post("/charge", charge)
    return app


async def test_the_redrive_count_and_what_the_server_offers(
        api: Api, serve_app: Any, dump_dom: DumpDom, tmp_path: Path) -> None:
    """Redrives 0 on a new execution; the Redrive button on a FAILED one when the server can
    redrive, never on a SUCCEEDED one; the versions and aliases card says what it can show."""
    down = {"now": True}
    async with serve_app(payments(down)) as base:
        await api.define("pay", charge_machine(base))
        failed = await api.finished((await api.start("pay", {}))["executionId"])
        down["now"] = False
        ok = await api.finished((await api.start("pay", {}))["executionId"])
        assert (failed["status"], ok["status"]) == ("FAILED", "SUCCEEDED")
        shot = tmp_path / "failed-run.png"
        failed_page, ok_page, machine_page = await asyncio.gather(
            dump_dom(f"#/executions/{failed['executionId']}", screenshot=shot),
            dump_dom(f"#/executions/{ok['executionId']}"),
            dump_dom("#/machines/pay"))
    keep(shot)
    for page, execution in ((failed_page, failed), (ok_page, ok)):
        assert page.by_id("x-redrives").text() == str(execution.get("redriveCount", 0))
        assert not page.find_all(id="x-version-arn") and not page.find_all(id="x-alias-arn")
    assert bool(failed_page.find_all("button", id="redrive")) == served(*REDRIVE)
    assert not ok_page.find_all("button", id="redrive")
    for body, route in (("versions-body", VERSIONS), ("aliases-body", ALIASES)):
        text = machine_page.by_id(body).text()
        assert ("not on this server" in text) == (not served(*route)), text


@needs(REDRIVE)
async def test_the_redrive_button_resumes_a_failed_execution(
        api: Api, serve_app: Any, page: Browser, tmp_path: Path) -> None:
    """The payments service is down: the run FAILED in Charge. Once it is back, Redrive
    resumes the run in Charge (Prepare is not run again) and it succeeds: the count is 1,
    Charge is green, its first bar red and its second green."""
    down = {"now": True}
    async with serve_app(payments(down)) as base:
        await api.define("pay", charge_machine(base))
        xid = (await api.start("pay", {}))["executionId"]
        assert (await api.finished(xid))["status"] == "FAILED"
        await page.open(await login_link(api, f"#/executions/{xid}"))
        await page.until("document.getElementById('redrive') !== null")
        assert await page.eval("document.getElementById('x-redrives').textContent") == "0"
        down["now"] = False
        await page.eval("window.confirm = () => true; document.getElementById('redrive').click()")
        await page.until("document.querySelector('h1 .badge').textContent === 'SUCCEEDED'",
                         timeout=30)
    assert (await api.finished(xid))["redriveCount"] == 1
    assert (await page.eval("document.getElementById('x-redrives').textContent")).startswith("1")
    assert await page.eval("document.getElementById('redrive')") is None
    charge = await page.eval("document.querySelector('#graph .node[data-state=Charge]')"
                             ".getAttribute('class')")
    assert "visited" in charge.split() and "failed" not in charge.split(), charge
    bars = await page.eval("[...document.querySelectorAll('#timeline .tl-row')].slice(1)"
                           ".map(r => [r.querySelector('.tl-label').textContent,"
                           " r.querySelector('.bar').className])")
    assert bars == [["Prepare", "bar o-succeeded"], ["Charge", "bar o-failed"],
                    ["Charge #2", "bar o-succeeded"], ["Done", "bar o-succeeded"]], bars
    await snap(page, tmp_path / "redriven.png")
    assert page.errors == []


@needs(VERSIONS, ALIASES, ALIAS)
async def test_versions_aliases_and_a_start_through_an_alias(api: Api, page: Browser,
                                                             tmp_path: Path) -> None:
    """Two published versions and an alias sending every start to v2: the machine's page
    lists them (the alias with its routing), its Start form offers them, and an execution
    started there through the alias shows the version and alias ARNs."""
    hello = {"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "End": True}}}
    await api.define("greet", hello)
    assert (await api.call("POST", "/v1/state-machines/greet/versions",
                           json={"description": "first"}))[0] == 201
    await api.define("greet", {**hello, "Comment": "second"})
    status, v2 = await api.call("POST", "/v1/state-machines/greet/versions",
                                json={"description": "second"})
    assert status == 201
    status, alias = await api.call("POST", "/v1/state-machines/greet/aliases", json={
        "name": "live", "routing": [{"version": 2, "weight": 100}], "description": "prod"})
    assert status == 201

    await page.open(await login_link(api, "#/machines/greet"))
    await page.until("document.querySelectorAll('#versions-body .version-row').length === 2")
    assert await page.eval("[...document.querySelectorAll('#versions-body .version-row')]"
                           ".map(r => r.dataset.version).sort()") == ["1", "2"]
    await page.until("document.querySelector('#aliases-body .alias-row') !== null")
    assert await page.eval("[...document.querySelectorAll('#aliases-body .alias-row')]"
                           ".map(r => [r.dataset.alias, r.querySelector('.routing').textContent])"
                           ) == [["live", "v2 100%"]]
    await snap(page, tmp_path / "machine-versions.png")

    # The Start form runs the latest revision, a published version or an alias.
    assert await page.eval("[...document.querySelectorAll('#start-target option')]"
                           ".map(o => o.value)") == ["", "version:2", "version:1", "alias:live"]
    await page.eval("document.getElementById('start-target').value = 'alias:live';"
                    "document.getElementById('start-form').requestSubmit()")
    await page.until("location.hash.startsWith('#/executions/')")
    await page.until("document.getElementById('x-alias-arn') !== null")
    assert await page.eval("document.getElementById('x-alias-arn').textContent") == \
        alias["stateMachineAliasArn"]
    assert await page.eval("document.getElementById('x-version-arn').textContent") == \
        v2["stateMachineVersionArn"]
    assert page.errors == []
