"""The state machine catalog (service.catalog, service.aliases) against a real Redis:
revisions, published versions, aliases with weighted routing, tags, delete; starts pinned
to a version or an alias keep their revision while the machine changes."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from statemachine.errors import Conflict, InputError, NotFound
from statemachine.service import Service

from .conftest import MakeRuntime

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:"
ROLE = "arn:aws:iam::123456789012:role/demo"


def _machine(result: str) -> str:
    return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result,
                                                      "End": True}}})


def _code(error: pytest.ExceptionInfo[InputError]) -> str:
    return error.value.code


async def test_create_is_idempotent_and_describes_like_aws(runtime: MakeRuntime) -> None:
    async with runtime() as rt:
        catalog = rt.service.catalog
        made = await catalog.create("m", _machine("one"), ROLE, type="EXPRESS",
                                    tags=[{"key": "team", "value": "a"}])
        assert made["stateMachineArn"] == ARN + "m" and "stateMachineVersionArn" not in made
        again = await catalog.create("m", _machine("one"), ROLE + "2", type="EXPRESS")
        assert again["stateMachineArn"] == made["stateMachineArn"]
        assert again["creationDate"] == made["creationDate"]
        with pytest.raises(Conflict) as other:
            await catalog.create("m", _machine("two"), ROLE, type="EXPRESS")
        assert _code(other) == "StateMachineAlreadyExists"
        with pytest.raises(Conflict):
            await catalog.create("m", _machine("one"), ROLE)  # another type
        described = await catalog.describe(ARN + "m")
        assert described["type"] == "EXPRESS" and described["status"] == "ACTIVE"
        assert described["roleArn"] == ROLE and json.loads(described["definition"])["StartAt"] == "P"
        assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
        assert described["tracingConfiguration"] == {"enabled": False}
        assert described["revisionId"]
        assert (await rt.service.get_machine("m"))["type"] == "EXPRESS"
        assert (await catalog.list_tags(ARN + "m"))["tags"] == [{"key": "team", "value": "a"}]
        for bad, code in ((lambda: catalog.create("x", _machine("a"), "not-a-role"), "InvalidArn"),
                          (lambda: catalog.create("x y", _machine("a"), ROLE), "InvalidName"),
                          (lambda: catalog.create("x", _machine("a"), ROLE, type="BIG"),
                           "ValidationException"),
                          (lambda: catalog.create("x", _machine("a"), ROLE,
                                                  loggingConfiguration={"level": "ALL"}),
                           "InvalidLoggingConfiguration"),
                          (lambda: catalog.create("x", _machine("a"), ROLE, tags=[
                              {"key": f"k{i}", "value": ""} for i in range(51)]), "TooManyTags"),
                          (lambda: catalog.describe(ARN + "nope"), "StateMachineDoesNotExist"),
                          (lambda: catalog.describe("arn:aws:states:x"), "InvalidArn")):
            with pytest.raises(InputError) as refused:
                await bad()
            assert _code(refused) == code
        assert [m["name"] for m in (await catalog.list())["stateMachines"]] == ["m"]


async def test_update_publish_and_versions(runtime: MakeRuntime) -> None:
    async with runtime() as rt:
        catalog = rt.service.catalog
        made = await catalog.create("m", _machine("one"), ROLE, publish=True,
                                    versionDescription="first")
        assert made["stateMachineVersionArn"] == ARN + "m:1"
        first = (await catalog.describe(ARN + "m"))["revisionId"]
        same = await catalog.update(ARN + "m", roleArn=ROLE)  # nothing changes
        assert same["revisionId"] == first
        updated = await catalog.update(ARN + "m", definition=_machine("two"), publish=True,
                                       versionDescription="second")
        assert updated["revisionId"] != first and updated["stateMachineVersionArn"] == ARN + "m:2"
        again = await catalog.publish(ARN + "m")  # the current revision is version 2 already
        assert again["stateMachineVersionArn"] == ARN + "m:2"
        with pytest.raises(Conflict) as stale:
            await catalog.publish(ARN + "m", revisionId=first)
        assert _code(stale) == "ConflictException"
        v1 = await catalog.describe(ARN + "m:1")
        assert v1["stateMachineArn"] == ARN + "m:1" and v1["description"] == "first"
        assert json.loads(v1["definition"])["States"]["P"]["Result"] == "one"
        listed = await catalog.list_versions(ARN + "m")
        assert [v["stateMachineVersionArn"] for v in listed["stateMachineVersions"]] == [
            ARN + "m:2", ARN + "m:1"]
        await catalog.delete_version(ARN + "m:2")
        await catalog.delete_version(ARN + "m:2")  # idempotent
        with pytest.raises(NotFound):
            await catalog.describe(ARN + "m:2")
        await catalog.update(ARN + "m", tracingConfiguration={"enabled": True})
        assert (await catalog.publish(ARN + "m"))["stateMachineVersionArn"] == ARN + "m:3"
        with pytest.raises(InputError) as missing:
            await catalog.update(ARN + "m")
        assert _code(missing) == "MissingRequiredParameter"
        with pytest.raises(NotFound):
            await catalog.update(ARN + "nope", definition=_machine("x"))


async def test_paging_of_machines_and_versions(runtime: MakeRuntime) -> None:
    async with runtime() as rt:
        catalog = rt.service.catalog
        for i in range(7):
            await catalog.create(f"m{i}", _machine(str(i)), ROLE)
        seen, token = [], None
        while True:
            page = await catalog.list(maxResults=3, nextToken=token)
            seen += [m["name"] for m in page["stateMachines"]]
            token = page["nextToken"]
            if token is None:
                break
        assert seen == [f"m{i}" for i in range(7)]
        with pytest.raises(InputError) as bad:
            await catalog.list(nextToken="garbage")
        assert _code(bad) == "InvalidToken"
        for i in range(5):
            await catalog.update(ARN + "m0", definition=_machine(f"v{i}"), publish=True)
        first = await catalog.list_versions(ARN + "m0", maxResults=2)
        second = await catalog.list_versions(ARN + "m0", maxResults=2,
                                             nextToken=first["nextToken"])
        assert [v["stateMachineVersionArn"][-1] for v in first["stateMachineVersions"] +
                second["stateMachineVersions"]] == ["5", "4", "3", "2"]


async def test_aliases_route_starts_by_weight(runtime: MakeRuntime) -> None:
    async with runtime() as rt:
        catalog, aliases = rt.service.catalog, rt.service.aliases
        await catalog.create("m", _machine("one"), ROLE, publish=True)
        await catalog.update(ARN + "m", definition=_machine("two"), publish=True)
        routing = [{"stateMachineVersionArn": ARN + "m:1", "weight": 80},
                   {"stateMachineVersionArn": ARN + "m:2", "weight": 20}]
        made = await aliases.create("live", routing, description="canary")
        assert made["stateMachineAliasArn"] == ARN + "m:live"
        assert (await aliases.create("live", routing, description="canary")) == made
        with pytest.raises(Conflict):
            await aliases.create("live", routing[:1] and [{**routing[0], "weight": 100}])
        for bad in ([{**routing[0], "weight": 50}], routing + routing[:1],
                    [{"stateMachineVersionArn": ARN + "m", "weight": 100}]):
            with pytest.raises(InputError) as refused:
                await aliases.create("other", bad)
            assert _code(refused) == "ValidationException"
        with pytest.raises(InputError) as digits:
            await aliases.create("123", routing)
        assert _code(digits) == "InvalidName"
        with pytest.raises(NotFound) as absent:
            await aliases.create("x", [{"stateMachineVersionArn": ARN + "m:9", "weight": 100}])
        assert _code(absent) == "ResourceNotFound"
        revisions = {int(v["stateMachineVersionArn"][-1]): (await catalog.describe(
            v["stateMachineVersionArn"]))["revisionId"] for v in routing}
        assert revisions[1] != revisions[2]
        described = await aliases.describe(ARN + "m:live")
        assert described["routingConfiguration"] == routing and described["description"] == "canary"
        counts: Counter[int] = Counter()
        for _ in range(1000):
            started = await rt.service.start("m", {}, qualifier="live")
            counts[started["version"]] += 1
        by_version = sorted(counts.items())
        assert len(by_version) == 2
        assert 750 <= by_version[0][1] <= 850, counts  # revision of version 1: 80 % +- 5 %
        with pytest.raises(Conflict) as routed:
            await catalog.delete_version(ARN + "m:1")
        assert _code(routed) == "ConflictException"
        await aliases.update(ARN + "m:live", routingConfiguration=[
            {"stateMachineVersionArn": ARN + "m:2", "weight": 100}])
        await catalog.delete_version(ARN + "m:1")
        listed = await aliases.list(ARN + "m")
        assert [a["stateMachineAliasArn"] for a in listed["stateMachineAliases"]] == [ARN + "m:live"]
        assert (await aliases.list(ARN + "m:2"))["stateMachineAliases"] == listed["stateMachineAliases"]
        await aliases.delete(ARN + "m:live")
        with pytest.raises(NotFound) as gone:
            await aliases.describe(ARN + "m:live")
        assert _code(gone) == "ResourceNotFound"


async def test_pinned_executions_keep_their_revision(runtime: MakeRuntime) -> None:
    async with runtime() as rt:
        service: Service = rt.service
        await service.catalog.create("m", _machine("one"), ROLE, publish=True)
        await service.aliases.create("prod", [{"stateMachineVersionArn": ARN + "m:1",
                                               "weight": 100}])
        await service.catalog.update(ARN + "m", definition=_machine("two"))
        by_version = await service.start("m", {}, qualifier=1)
        by_alias = await service.start("m", {}, qualifier="prod")
        latest = await service.start("m", {})
        assert by_version["version"] == by_alias["version"] != latest["version"]
        await rt.drain()
        one = await service.describe(by_version["executionId"])
        assert one["output"] == "one" and one["stateMachineVersionArn"] == ARN + "m:1"
        assert "stateMachineAliasArn" not in one
        via = await service.describe(by_alias["executionId"])
        assert via["output"] == "one" and via["stateMachineAliasArn"] == ARN + "m:prod"
        plain = await service.describe(latest["executionId"])
        assert plain["output"] == "two" and "stateMachineVersionArn" not in plain
        listed = await service.list_executions("m")
        assert sum("stateMachineAliasArn" in e for e in listed["executions"]) == 1
        for qualifier in (7, "nope"):
            with pytest.raises(NotFound) as missing:
                await service.start("m", {}, qualifier=qualifier)
            assert _code(missing) == "StateMachineDoesNotExist"


async def test_delete_keeps_running_executions_and_frees_the_name(runtime: MakeRuntime) -> None:
    async with runtime() as rt:
        service = rt.service
        await service.catalog.create("m", json.dumps({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 0, "Next": "P"},
            "P": {"Type": "Pass", "Result": "old", "End": True}}}), ROLE, publish=True)
        await service.catalog.tag(ARN + "m", [{"key": "k", "value": "v"}])
        running = await service.start("m", {})
        await service.catalog.delete(ARN + "m")
        await service.catalog.delete(ARN + "m")  # idempotent
        for call in (lambda: service.catalog.describe(ARN + "m"),
                     lambda: service.start("m", {}), lambda: service.get_machine("m"),
                     lambda: service.start("m", {}, qualifier=1)):
            with pytest.raises(NotFound) as gone:
                await call()
            assert _code(gone) == "StateMachineDoesNotExist"
        with pytest.raises(NotFound):
            await service.catalog.list_tags(ARN + "m")
        assert (await service.catalog.list())["stateMachines"] == []
        assert (await rt.finished(running["executionId"]))["output"] == "old"
        await service.catalog.create("m", _machine("new"), ROLE)
        assert (await service.catalog.list_tags(ARN + "m"))["tags"] == []
        assert (await service.catalog.list_versions(ARN + "m"))["stateMachineVersions"] == []
        fresh = await service.start("m", {})
        assert (await rt.finished(fresh["executionId"]))["output"] == "new"


async def test_tags_of_machines_and_activities(runtime: MakeRuntime) -> None:
    async with runtime() as rt:
        catalog = rt.service.catalog
        await catalog.create("m", _machine("one"), ROLE)
        activity = (await rt.service.create_activity("act"))["activityArn"]
        for arn in (ARN + "m", activity):
            await catalog.tag(arn, [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
            await catalog.tag(arn, [{"key": "a", "value": "3"}])
            await catalog.untag(arn, ["b", "zzz"])
            assert (await catalog.list_tags(arn))["tags"] == [{"key": "a", "value": "3"}]
        await catalog.tag(ARN + "m", [{"key": f"k{i}", "value": ""} for i in range(49)])
        with pytest.raises(InputError) as many:
            await catalog.tag(ARN + "m", [{"key": "one-more", "value": ""}])
        assert _code(many) == "TooManyTags"
        await catalog.tag(ARN + "m", [{"key": "a", "value": "overwrite is fine"}])
        cases: list[tuple[Any, str]] = [
            (lambda: catalog.tag(ARN + "nope", [{"key": "a", "value": ""}]), "ResourceNotFound"),
            (lambda: catalog.list_tags(ARN + "m:1"), "InvalidArn"),
            (lambda: catalog.tag(ARN + "m", [{"key": "x" * 129, "value": ""}]),
             "ValidationException"),
            (lambda: catalog.tag(ARN + "m", [{"key": "k", "value": "v" * 257}]),
             "ValidationException")]
        for call, code in cases:
            with pytest.raises(InputError) as refused:
                await call()
            assert _code(refused) == code


async def test_a_machine_defined_before_the_catalog_is_adopted(runtime: MakeRuntime,
                                                               redis: Any) -> None:
    async with runtime() as rt:
        await rt.service.define("old", json.loads(_machine("one")))
        await redis.delete("sm:catalog:old")  # as a define before the catalog left it
        assert (await rt.service.catalog.describe(ARN + "old"))["type"] == "STANDARD"
        published = await rt.service.catalog.publish(ARN + "old")
        assert published["stateMachineVersionArn"] == ARN + "old:1"
        await redis.delete("sm:catalog:old")
        await rt.service.catalog.publish(ARN + "old")
        made = await rt.service.aliases.create("a", [{"stateMachineVersionArn": ARN + "old:1",
                                                      "weight": 100}])
        assert made["stateMachineAliasArn"] == ARN + "old:a"
