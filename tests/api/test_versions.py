"""The REST routes of the catalog (api/versions.py) end to end: versions, aliases, starts
through them, tags, delete; every answer conforms to the OpenAPI document."""

from __future__ import annotations

from typing import Any

from tests.api.client import Api
from tests.api.contract import conforms

BASE = "/v1/state-machines/m"
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:m"


def _pass(result: str) -> dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}}


async def test_versions_aliases_and_pinned_starts(api: Api) -> None:
    await api.define("m", _pass("one"))
    status, first = await api.call("POST", f"{BASE}/versions", json={"description": "first"})
    assert status == 201 and first["stateMachineVersionArn"] == ARN + ":1", first
    conforms("VersionPublished", first)
    await api.define("m", _pass("two"))
    status, second = await api.call("POST", f"{BASE}/versions")
    assert status == 201 and second["stateMachineVersionArn"] == ARN + ":2"
    status, listed = await api.call("GET", f"{BASE}/versions", params={"limit": "1"})
    assert status == 200 and listed["nextCursor"], listed
    conforms("VersionList", listed)
    status, rest = await api.call("GET", f"{BASE}/versions",
                                  params={"cursor": listed["nextCursor"]})
    assert [v["stateMachineVersionArn"] for v in listed["versions"] + rest["versions"]] == [
        ARN + ":2", ARN + ":1"] and rest["nextCursor"] is None

    status, alias = await api.call("POST", f"{BASE}/aliases", json={
        "name": "prod", "routing": [{"version": 1, "weight": 100}]})
    assert status == 201 and alias["stateMachineAliasArn"] == ARN + ":prod", alias
    conforms("AliasCreated", alias)
    status, clash = await api.call("POST", f"{BASE}/aliases", json={
        "name": "prod", "routing": [{"version": 2, "weight": 100}]})
    assert status == 409 and clash["error"] == "ConflictException"
    status, bad = await api.call("POST", f"{BASE}/aliases", json={
        "name": "x", "routing": [{"version": 1, "weight": 60}]})
    assert status == 400 and bad["error"] == "ValidationException"
    status, described = await api.call("GET", f"{BASE}/aliases/prod")
    assert status == 200 and described["routingConfiguration"] == [
        {"stateMachineVersionArn": ARN + ":1", "weight": 100}]
    conforms("Alias", described)
    status, aliases = await api.call("GET", f"{BASE}/aliases")
    assert status == 200 and [a["stateMachineAliasArn"] for a in aliases["aliases"]] == [
        ARN + ":prod"]
    conforms("AliasList", aliases)

    by_alias = await api.start("m", {}, alias="prod")
    by_version = await api.start("m", {}, version=2)
    latest = await api.start("m", {})
    done = await api.finished(by_alias["executionId"])
    assert done["output"] == "one" and done["stateMachineAliasArn"] == ARN + ":prod"
    assert done["stateMachineVersionArn"] == ARN + ":1"
    assert (await api.finished(by_version["executionId"]))["output"] == "two"
    assert (await api.finished(latest["executionId"]))["output"] == "two"
    status, both = await api.call("POST", f"{BASE}/executions",
                                  json={"version": 1, "alias": "prod"})
    assert status == 400, both
    status, missing = await api.call("POST", f"{BASE}/executions", json={"version": 9})
    assert status == 404 and missing["error"] == "StateMachineDoesNotExist"

    status, refused = await api.call("DELETE", f"{BASE}/versions/1")
    assert status == 409 and refused["error"] == "ConflictException"
    status, updated = await api.call("PATCH", f"{BASE}/aliases/prod", json={
        "routing": [{"version": 2, "weight": 100}], "description": "moved"})
    assert status == 200, updated
    conforms("AliasUpdated", updated)
    assert (await api.call("DELETE", f"{BASE}/versions/1"))[0] == 200
    assert (await api.call("DELETE", f"{BASE}/aliases/prod"))[0] == 200
    assert (await api.call("GET", f"{BASE}/aliases/prod"))[0] == 404
    assert (await api.call("DELETE", f"{BASE}/aliases/prod"))[0] == 404


async def test_tags_and_delete(api: Api) -> None:
    await api.define("m", _pass("one"))
    status, tags = await api.call("POST", f"{BASE}/tags", json={"tags": {"team": "a", "x": "1"}})
    assert status == 200 and tags == {"tags": {"team": "a", "x": "1"}}
    conforms("Tags", tags)
    status, tags = await api.call("DELETE", f"{BASE}/tags/x")
    assert status == 200 and tags == {"tags": {"team": "a"}}
    status, many = await api.call("POST", f"{BASE}/tags",
                                  json={"tags": {f"k{i}": "" for i in range(50)}})
    assert status == 400 and many["error"] == "TooManyTags"
    assert (await api.call("GET", "/v1/state-machines/nope/tags"))[0] == 404

    started = await api.start("m", {})
    status, gone = await api.call("DELETE", BASE)
    assert status == 200 and gone == {}
    assert (await api.call("GET", BASE))[0] == 404
    assert (await api.call("GET", f"{BASE}/tags"))[0] == 404
    assert (await api.call("POST", f"{BASE}/executions", json={}))[0] == 404
    assert (await api.finished(started["executionId"]))["status"] == "SUCCEEDED"
    assert (await api.call("DELETE", BASE))[0] == 200  # idempotent
    again = await api.define("m", _pass("again"))
    assert again["version"] > 1
    status, tags = await api.call("GET", f"{BASE}/tags")
    assert status == 200 and tags == {"tags": {}}
