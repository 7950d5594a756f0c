"""The REST API's activity listing, description and deletion, and a history read newest
first: the same Service operations the AWS API's ListActivities, DescribeActivity,
DeleteActivity and GetExecutionHistory(reverseOrder) use."""

from __future__ import annotations

from tests.api.client import Api
from tests.api.contract import conforms
from tests.api.samples import HELLO


async def test_list_describe_and_delete_activities(api: Api) -> None:
    for name in ("b-review", "a-approve", "c-ship"):
        assert (await api.call("POST", "/v1/activities", json={"name": name}))[0] == 201
    status, first = await api.call("GET", "/v1/activities?limit=2")
    assert status == 200
    conforms("ActivityPage", first)
    assert [a["name"] for a in first["activities"]] == ["a-approve", "b-review"]
    status, rest = await api.call("GET", f"/v1/activities?limit=2&cursor={first['nextCursor']}")
    assert [a["name"] for a in rest["activities"]] == ["c-ship"] and rest["nextCursor"] is None
    status, described = await api.call("GET", "/v1/activities/c-ship")
    assert status == 200 and described["activityArn"].endswith(":activity:c-ship")
    conforms("Activity", described)
    assert (await api.call("DELETE", "/v1/activities/c-ship"))[0] == 204
    assert (await api.call("DELETE", "/v1/activities/c-ship"))[0] == 204  # none: no error
    status, gone = await api.call("GET", "/v1/activities/c-ship")
    assert (status, gone["error"]) == (404, "ActivityDoesNotExist")
    status, poll = await api.call("POST", "/v1/activities/c-ship/poll?timeout=0")
    assert (status, poll["error"]) == (404, "ActivityDoesNotExist")
    status, bad = await api.call("GET", "/v1/activities?cursor=has%20space")
    assert (status, bad["error"]) == (400, "InvalidCursor")


async def test_history_newest_first(api: Api) -> None:
    await api.define("hello", HELLO)
    execution_id = (await api.start("hello", {"who": "x"}))["executionId"]
    await api.finished(execution_id)
    path = f"/v1/executions/{execution_id}/history"
    status, forward = await api.call("GET", path)
    assert status == 200
    status, backward = await api.call("GET", f"{path}?reverse=true&limit=2")
    conforms("History", backward)
    assert backward["events"] == list(reversed(forward["events"]))[:2]
    status, more = await api.call("GET", f"{path}?reverse=true&cursor={backward['nextCursor']}")
    assert backward["events"] + more["events"] == list(reversed(forward["events"]))
    assert more["nextCursor"] is None
    status, bad = await api.call("GET", f"{path}?reverse=maybe")
    assert (status, bad["error"]) == (400, "InvalidValue")
