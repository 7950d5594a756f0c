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
import json
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
ROLE = "arn:aws:iam::123456789012:role/statemachine"


def served(method: str, path: str) -> bool:
    return any((route.method, route.path) == (method, path) for route in ROUTES)


def needs(*routes: tuple[str, str]) -> pytest.MarkDecorator:
    missing = [" ".join(route) for route in routes if not served(*route)]
    return pytest.mark.skipif(bool(missing), reason=f"the server has no {', '.join(missing)} "
                              "yet (another part of issue 10 adds it; runs once merged)")


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
        api: Api, serve_app: Any, page: Browser) -> None:
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
    assert page.errors == []


@needs(VERSIONS, ALIASES)
async def test_versions_aliases_and_a_start_through_an_alias(api: Api, page: Browser) -> None:
    """Two published versions and an alias on v2 (made with boto3, as a user would); the
    machine's page lists them, and an execution started through the alias shows both ARNs."""
    import boto3

    key = await api.keyring.verify(api.secret)
    assert key is not None
    sfn = boto3.client("stepfunctions", endpoint_url=str(api.client.make_url("/")).rstrip("/"),
                       region_name="us-east-1", aws_access_key_id=key.id,
                       aws_secret_access_key=api.secret)
    first = {"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "End": True}}}
    second = {**first, "Comment": "second"}

    def publish() -> tuple[str, str, str]:
        made = sfn.create_state_machine(name="greet", definition=json.dumps(first), roleArn=ROLE,
                                        publish=True, versionDescription="first")
        arn = made["stateMachineArn"]
        v2 = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(second),
                                      publish=True, versionDescription="second")
        alias = sfn.create_state_machine_alias(name="live", routingConfiguration=[
            {"stateMachineVersionArn": v2["stateMachineVersionArn"], "weight": 100}])
        sfn.start_execution(stateMachineArn=alias["stateMachineAliasArn"], name="via-alias")
        return arn, v2["stateMachineVersionArn"], alias["stateMachineAliasArn"]

    _, v2_arn, alias_arn = await asyncio.to_thread(publish)
    await page.open(await login_link(api, "#/machines/greet"))
    await page.until("document.querySelectorAll('#versions-body .version-row').length === 2")
    assert await page.eval("[...document.querySelectorAll('#versions-body .version-row')]"
                           ".map(r => r.dataset.version).sort()") == ["1", "2"]
    assert await page.eval("[...document.querySelectorAll('#aliases-body .alias-row')]"
                           ".map(r => r.dataset.alias)") == ["live"]

    status, listed = await api.call("GET", "/v1/executions?stateMachine=greet")
    assert status == 200
    [xid] = [x["executionId"] for x in listed["executions"] if x["name"] == "via-alias"]
    await page.open(str(api.client.make_url("/ui/")) + f"#/executions/{xid}")
    await page.until("document.getElementById('x-alias-arn') !== null")
    assert await page.eval("document.getElementById('x-alias-arn').textContent") == alias_arn
    assert await page.eval("document.getElementById('x-version-arn').textContent") == v2_arn
    assert page.errors == []
