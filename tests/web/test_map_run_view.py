"""The dashboard's Map Run view: the parent's page links its Map Runs, the run's page shows
its status, counts by status and a progress bar, and lists its children, each a link to the
child's own execution page (which links back to its Map Run)."""

from __future__ import annotations

import asyncio

from tests.api.client import Api
from tests.web.chromium import DumpDom

MACHINE = {"StartAt": "Each", "States": {"Each": {
    "Type": "Map", "ItemsPath": "$.items", "Label": "Orders", "ToleratedFailureCount": 1,
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                      "StartAt": "Check", "States": {
                          "Check": {"Type": "Choice", "Choices": [
                              {"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
                              "Default": "Good"},
                          "Bad": {"Type": "Fail", "Error": "Two"},
                          "Good": {"Type": "Pass", "End": True}}},
    "End": True}}}


async def test_map_run_pages_link_parent_run_and_children(api: Api, dump_dom: DumpDom) -> None:
    await api.define("fan", MACHINE)
    xid = (await api.start("fan", {"items": [1, 2, 3]}))["executionId"]
    assert (await api.finished(xid))["status"] == "SUCCEEDED"
    _, listed = await api.call("GET", f"/v1/executions/{xid}/map-runs")
    [run] = listed["mapRuns"]
    _, children = await api.call("GET", f"/v1/map-runs/{run['mapRunId']}/executions")
    child = children["executions"][0]

    parent_page, run_page, child_page = await asyncio.gather(
        dump_dom(f"#/executions/{xid}"), dump_dom(f"#/map-runs/{run['mapRunId']}"),
        dump_dom(f"#/executions/{child['name']}"))

    [to_run] = parent_page.by_id("x-map-runs").find_all("a", cls="map-run-link")
    assert to_run.attrs["href"] == f"#/map-runs/{run['mapRunId']}"

    assert run_page.by_id("x-run-arn").text() == run["mapRunArn"]
    assert run_page.by_id("x-run-parent").attrs["href"] == f"#/executions/{xid}"
    counts = {td.attrs["data-count"]: td.text()
              for td in run_page.by_id("run-counts").find_all("td") if "data-count" in td.attrs}
    assert (counts["succeeded"], counts["failed"], counts["total"]) == ("2", "1", "3")
    progress = run_page.by_id("x-progress")
    assert (progress.attrs["aria-valuenow"], progress.attrs["aria-valuemax"]) == ("3", "3")
    links = run_page.by_id("run-children").find_all("a", cls="run-child")
    assert sorted(a.attrs["href"] for a in links) == sorted(
        f"#/executions/{c['name']}" for c in children["executions"])

    assert child_page.by_id("x-map-run").attrs["href"] == f"#/map-runs/{run['mapRunId']}"
    assert child_page.by_id("x-map-run").text() == "Orders"
    assert "ExecutionStarted" in child_page.text()  # its own history
