"""The Logs tab of an execution's page, in headless Chromium over a real service: it shows
the events the state machine's ``loggingConfiguration`` logs (those ``GET
/v1/executions/{id}/logs`` gives), beside the History tab, and says when the machine logs
nothing."""

from __future__ import annotations

import json
from typing import Any

from tests.api.client import Api
from tests.web.chromium import Browser
from tests.web.conftest import login_link

FLOW = {"StartAt": "Check", "States": {
    "Check": {"Type": "Pass", "Next": "Boom"},
    "Boom": {"Type": "Fail", "Error": "Custom.Boom", "Cause": "<b>not markup</b>"}}}
LOG_ROWS = "[...document.querySelectorAll('#logs-body .history-row')]"


async def failed_execution(api: Api, name: str, logging: dict[str, Any]) -> dict[str, Any]:
    status, made = await api.call("POST", "/v1/state-machines", json={
        "name": name, "definition": FLOW, "loggingConfiguration": logging})
    assert status == 201, made
    execution = await api.finished((await api.start(name, {"n": 1}))["executionId"])
    assert execution["status"] == "FAILED"
    return execution


def shown(execution: dict[str, Any]) -> str:
    """Whether the page shows ``execution`` (not the one before it) with its History tab."""
    return (f"document.querySelector('h1')?.textContent.includes({json.dumps(execution['name'])})"
            " && document.querySelector('#history-body .history-row') !== null")


async def test_the_logs_tab_shows_what_the_machine_logs(api: Api, page: Browser) -> None:
    errors = await failed_execution(api, "errors", {"level": "ERROR"})
    quiet = await failed_execution(api, "quiet", {"level": "OFF"})
    status, log = await api.call("GET", f"/v1/executions/{errors['executionId']}/logs")
    assert status == 200 and [e["type"] for e in log["events"]] == ["FailStateEntered",
                                                                    "ExecutionFailed"]
    base = str(api.client.make_url("/ui/"))
    await page.open(await login_link(api))
    await page.until("location.search === '' && document.getElementById('who')?.textContent")

    await page.open(f"{base}#/executions/{errors['executionId']}")
    await page.until(shown(errors))
    assert await page.eval("document.getElementById('tab-history').getAttribute("
                           "'aria-selected')") == "true"
    await page.eval("document.getElementById('tab-logs').click()")
    await page.until(f"{LOG_ROWS}.length === 2")
    rows = await page.eval(f"{LOG_ROWS}.map(r => [r.children[0].textContent, "
                           "r.children[2].textContent, r.className])")
    assert [(row[0], row[1]) for row in rows] == [(e["id"], e["type"]) for e in log["events"]]
    assert "bad" in rows[1][2]
    assert "ERROR" in await page.eval("document.getElementById('logs-config').textContent")
    details = await page.eval(f"{LOG_ROWS}[1].querySelector('pre').textContent")
    assert json.loads(details) == log["events"][1]["details"]  # shown as text, not markup
    assert await page.eval("document.querySelector('#logs-body b')") is None
    await page.eval("document.getElementById('tab-history').click()")
    await page.until("document.querySelector('#history-body .history-row') !== null")

    await page.open(f"{base}#/executions/{quiet['executionId']}")
    await page.until(shown(quiet))
    await page.eval("document.getElementById('tab-logs').click()")
    await page.until("document.getElementById('logs-off') !== null")
    assert page.errors == []
