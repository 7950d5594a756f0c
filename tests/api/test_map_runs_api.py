"""Map Runs over the REST API: ``GET /v1/executions/{id}/map-runs``, ``GET|PATCH
/v1/map-runs/{id}``, ``GET /v1/map-runs/{id}/executions``; a child's own execution pages."""

from __future__ import annotations

from typing import Any

from statemachine.security.roles import Role
from tests.api.client import Api
from tests.api.contract import conforms


def _machine(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", **fields,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "Check", "States": {
                              "Check": {"Type": "Choice", "Choices": [
                                  {"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
                                  "Default": "Good"},
                              "Bad": {"Type": "Fail", "Error": "Two"},
                              "Good": {"Type": "Pass", "End": True}}},
        "End": True}}}


async def test_map_runs_over_rest(api: Api) -> None:
    await api.define("runs", _machine(MaxConcurrency=2, ToleratedFailurePercentage=40))
    xid = (await api.start("runs", {"items": [1, 2, 3, 4]}))["executionId"]
    assert (await api.finished(xid))["status"] == "SUCCEEDED"

    status, listed = await api.call("GET", f"/v1/executions/{xid}/map-runs")
    assert status == 200, listed
    conforms("MapRunList", listed)
    [run] = listed["mapRuns"]
    assert run["executionId"] == xid and run["status"] == "SUCCEEDED"
    assert run["mapRunArn"].endswith(f":mapRun:runs/Each:{run['mapRunId']}")
    assert (run["maxConcurrency"], run["toleratedFailurePercentage"]) == (2, 40.0)
    assert run["executionCounts"]["succeeded"] == 3 and run["executionCounts"]["failed"] == 1

    status, described = await api.call("GET", f"/v1/map-runs/{run['mapRunId']}")
    assert status == 200 and described == run
    conforms("MapRun", described)

    status, page = await api.call("GET", f"/v1/map-runs/{run['mapRunId']}/executions?limit=3")
    assert status == 200, page
    assert len(page["executions"]) == 3 and page["nextCursor"] == "3"
    status, rest = await api.call("GET", f"/v1/map-runs/{run['mapRunId']}/executions"
                                         f"?cursor={page['nextCursor']}")
    assert len(rest["executions"]) == 1 and rest["nextCursor"] is None
    status, failed = await api.call("GET", f"/v1/map-runs/{run['mapRunId']}/executions"
                                           "?status=FAILED")
    [child] = failed["executions"]
    assert child["mapRunArn"] == run["mapRunArn"] and child["label"] == "Each"

    # a child's own pages, by its name (its id with "." for "/": a URL path segment)
    status, own = await api.call("GET", f"/v1/executions/{child['name']}")
    assert status == 200 and own["status"] == "FAILED" and own["error"] == "Two"
    assert own["input"] == 2 and own["mapRunArn"] == run["mapRunArn"]
    status, history = await api.call("GET", f"/v1/executions/{child['name']}/history")
    assert [e["type"] for e in history["events"]] == [
        "ExecutionStarted", "ChoiceStateEntered", "ChoiceStateExited", "FailStateEntered",
        "ExecutionFailed"]


async def test_map_run_requests_refused(api: Api) -> None:
    await api.define("runs2", _machine())
    xid = (await api.start("runs2", {"items": [1]}))["executionId"]
    await api.finished(xid)
    status, listed = await api.call("GET", f"/v1/executions/{xid}/map-runs")
    run_id = listed["mapRuns"][0]["mapRunId"]
    viewer = await api.key(Role.VIEWER)
    status, _ = await api.call("PATCH", f"/v1/map-runs/{run_id}", json={"maxConcurrency": 3},
                               auth=viewer)
    assert status == 403
    status, body = await api.call("PATCH", f"/v1/map-runs/{run_id}", json={"maxConcurency": 3})
    assert status == 400 and body["error"] == "UnknownField"
    status, body = await api.call("PATCH", f"/v1/map-runs/{run_id}",
                                  json={"toleratedFailureCount": -1})
    assert status == 400 and body["error"] == "ValidationException"
    status, body = await api.call("PATCH", f"/v1/map-runs/{run_id}", json={})
    assert status == 400
    status, body = await api.call("PATCH", f"/v1/map-runs/{run_id}", json={"maxConcurrency": 5})
    assert status == 400 and body["error"] == "ValidationException"  # it has ended (AWS's)
    status, body = await api.call("GET", f"/v1/map-runs/{run_id}")
    assert status == 200 and body["maxConcurrency"] == 0  # unchanged
    status, body = await api.call("GET", "/v1/map-runs/nope")
    assert status == 404 and body["error"] == "ResourceNotFound"
    status, body = await api.call("GET", f"/v1/map-runs/{run_id}/executions?status=NOPE")
    assert status == 400
    status, body = await api.call("GET", f"/v1/map-runs/{run_id}/executions?cursor=x")
    assert status == 400
    status, body = await api.call("GET", "/v1/executions/nope/map-runs")
    assert status == 404
