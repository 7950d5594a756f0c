"""The catalog's AWS operations through boto3 (and the aws CLI, aiobotocore) against a real
``cli.py serve``: state machines, versions, aliases (1,000 starts at 80/20 land within 5 %),
tags, paging, and each operation's error codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.aws.conftest import AwsService
from tests.aws.helpers import code as _code

PREFIX = "arn:aws:states:us-east-1:123456789012"
ROLE = "arn:aws:iam::123456789012:role/sfn"


def _arn(name: str, qualifier: int | str | None = None) -> str:
    base = f"{PREFIX}:stateMachine:{name}"
    return base if qualifier is None else f"{base}:{qualifier}"


def _definition(result: str) -> str:
    return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result,
                                                      "End": True}}})




def _refused(call: Any, code: str, **kwargs: Any) -> None:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    assert _code(refused) == code, refused.value.response


def test_create_describe_update_delete(sfn: Any, wait_done: Any) -> None:
    made = sfn.create_state_machine(
        name="crud", definition=_definition("one"), roleArn=ROLE, type="STANDARD",
        loggingConfiguration={"level": "OFF"}, tracingConfiguration={"enabled": True},
        tags=[{"key": "team", "value": "core"}], publish=True, versionDescription="v1")
    assert made["stateMachineArn"] == _arn("crud")
    assert made["stateMachineVersionArn"] == _arn("crud", 1)
    again = sfn.create_state_machine(name="crud", definition=_definition("one"), roleArn=ROLE,
                                     tracingConfiguration={"enabled": True}, publish=True,
                                     versionDescription="v1")
    assert again["stateMachineArn"] == made["stateMachineArn"]
    assert again["creationDate"] == made["creationDate"]
    _refused(sfn.create_state_machine, "StateMachineAlreadyExists", name="crud",
             definition=_definition("two"), roleArn=ROLE)
    described = sfn.describe_state_machine(stateMachineArn=_arn("crud"))
    assert described["name"] == "crud" and described["status"] == "ACTIVE"
    assert described["type"] == "STANDARD" and described["roleArn"] == ROLE
    assert described["tracingConfiguration"] == {"enabled": True}
    assert described["loggingConfiguration"]["level"] == "OFF"
    assert json.loads(described["definition"])["States"]["P"]["Result"] == "one"
    version = sfn.describe_state_machine(stateMachineArn=_arn("crud", 1))
    assert version["description"] == "v1" and version["revisionId"] == described["revisionId"]

    updated = sfn.update_state_machine(stateMachineArn=_arn("crud"),
                                       definition=_definition("two"), publish=True,
                                       versionDescription="v2")
    assert updated["stateMachineVersionArn"] == _arn("crud", 2)
    assert updated["revisionId"] != described["revisionId"] and updated["updateDate"]
    started = sfn.start_execution(stateMachineArn=_arn("crud"))
    assert json.loads(wait_done(started["executionArn"])["output"]) == "two"
    _refused(sfn.update_state_machine, "MissingRequiredParameter", stateMachineArn=_arn("crud"))
    _refused(sfn.update_state_machine, "StateMachineDoesNotExist",
             stateMachineArn=_arn("nothing"), definition=_definition("x"))
    _refused(sfn.update_state_machine, "InvalidDefinition", stateMachineArn=_arn("crud"),
             definition='{"StartAt": "Nowhere", "States": {}}')

    listed = sfn.list_state_machines()["stateMachines"]
    item = next(m for m in listed if m["name"] == "crud")
    assert (item["stateMachineArn"], item["type"]) == (_arn("crud"), "STANDARD")
    assert item["creationDate"] == made["creationDate"]
    sfn.delete_state_machine(stateMachineArn=_arn("crud"))
    sfn.delete_state_machine(stateMachineArn=_arn("crud"))  # idempotent
    _refused(sfn.describe_state_machine, "StateMachineDoesNotExist", stateMachineArn=_arn("crud"))
    _refused(sfn.describe_state_machine, "StateMachineDoesNotExist",
             stateMachineArn=_arn("crud", 1))
    _refused(sfn.start_execution, "StateMachineDoesNotExist", stateMachineArn=_arn("crud"))
    assert all(m["name"] != "crud" for m in sfn.list_state_machines()["stateMachines"])
    sfn.create_state_machine(name="crud", definition=_definition("fresh"), roleArn=ROLE,
                             type="EXPRESS")
    assert sfn.describe_state_machine(stateMachineArn=_arn("crud"))["type"] == "EXPRESS"
    sfn.delete_state_machine(stateMachineArn=_arn("crud"))


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"name": "bad name"}, "InvalidName"),
    ({"roleArn": "not-a-role"}, "InvalidArn"),
    ({"definition": "{}"}, "InvalidDefinition"),
    ({"definition": "not json"}, "InvalidDefinition"),
    ({"loggingConfiguration": {"level": "ALL"}}, "InvalidLoggingConfiguration"),
    ({"type": "LARGE"}, "ValidationException"),
    ({"versionDescription": "without publish"}, "ValidationException"),
    ({"tags": [{"key": f"k{i}", "value": ""} for i in range(51)]}, "TooManyTags"),
])
def test_create_refusals(sfn: Any, kwargs: dict[str, Any], code: str) -> None:
    _refused(sfn.create_state_machine, code, **{
        "name": "refused", "definition": _definition("x"), "roleArn": ROLE, **kwargs})


def test_describe_delete_refusals(sfn: Any) -> None:
    _refused(sfn.describe_state_machine, "InvalidArn", stateMachineArn="arn:aws:states:nope")
    _refused(sfn.describe_state_machine, "InvalidArn",
             stateMachineArn=f"{PREFIX}:activity:nope")
    _refused(sfn.delete_state_machine, "ValidationException", stateMachineArn=_arn("x", 3))
    _refused(sfn.delete_state_machine_version, "ValidationException",
             stateMachineVersionArn=_arn("x"))


def test_paging(sfn: Any) -> None:
    for i in range(5):
        sfn.create_state_machine(name=f"page{i}", definition=_definition(str(i)), roleArn=ROLE)
    names, token = [], None
    while True:
        page = sfn.list_state_machines(maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["stateMachines"]) <= 2
        names += [m["name"] for m in page["stateMachines"]]
        token = page.get("nextToken")
        if token is None:
            break
    assert [n for n in names if n.startswith("page")] == [f"page{i}" for i in range(5)]
    assert names == sorted(names)
    paginated = sfn.get_paginator("list_state_machines").paginate(
        PaginationConfig={"PageSize": 3})
    assert [m["name"] for p in paginated for m in p["stateMachines"]] == names
    _refused(sfn.list_state_machines, "InvalidToken", nextToken="bogus")

    for i in range(4):
        sfn.update_state_machine(stateMachineArn=_arn("page0"), definition=_definition(f"v{i}"),
                                 publish=True)
    first = sfn.list_state_machine_versions(stateMachineArn=_arn("page0"), maxResults=3)
    rest = sfn.list_state_machine_versions(stateMachineArn=_arn("page0"), maxResults=3,
                                           nextToken=first["nextToken"])
    assert "nextToken" not in rest
    assert [v["stateMachineVersionArn"] for v in first["stateMachineVersions"] +
            rest["stateMachineVersions"]] == [_arn("page0", n) for n in (4, 3, 2, 1)]
    _refused(sfn.list_state_machine_versions, "InvalidToken", stateMachineArn=_arn("page0"),
             nextToken=first["nextToken"].swapcase())


def test_versions(sfn: Any) -> None:
    sfn.create_state_machine(name="ver", definition=_definition("one"), roleArn=ROLE)
    current = sfn.describe_state_machine(stateMachineArn=_arn("ver"))["revisionId"]
    first = sfn.publish_state_machine_version(stateMachineArn=_arn("ver"), revisionId="INITIAL",
                                              description="first")
    assert first["stateMachineVersionArn"] == _arn("ver", 1)
    same = sfn.publish_state_machine_version(stateMachineArn=_arn("ver"), revisionId=current)
    assert same["stateMachineVersionArn"] == _arn("ver", 1)  # this revision is version 1
    assert same["creationDate"] == first["creationDate"]
    sfn.update_state_machine(stateMachineArn=_arn("ver"), definition=_definition("two"))
    _refused(sfn.publish_state_machine_version, "ConflictException",
             stateMachineArn=_arn("ver"), revisionId=current)
    second = sfn.publish_state_machine_version(stateMachineArn=_arn("ver"))
    assert second["stateMachineVersionArn"] == _arn("ver", 2)
    sfn.delete_state_machine_version(stateMachineVersionArn=_arn("ver", 2))
    sfn.delete_state_machine_version(stateMachineVersionArn=_arn("ver", 2))  # idempotent
    sfn.update_state_machine(stateMachineArn=_arn("ver"), definition=_definition("three"))
    third = sfn.publish_state_machine_version(stateMachineArn=_arn("ver"))
    assert third["stateMachineVersionArn"] == _arn("ver", 3)  # 2 is never given again
    _refused(sfn.publish_state_machine_version, "StateMachineDoesNotExist",
             stateMachineArn=_arn("nothing"))
    _refused(sfn.publish_state_machine_version, "ValidationException",
             stateMachineArn=_arn("ver", 1))
    _refused(sfn.describe_state_machine, "StateMachineDoesNotExist",
             stateMachineArn=_arn("ver", 2))


def test_aliases_route_by_weight(sfn: Any, wait_done: Any) -> None:
    sfn.create_state_machine(name="canary", definition=_definition("one"), roleArn=ROLE,
                             publish=True)
    sfn.update_state_machine(stateMachineArn=_arn("canary"), definition=_definition("two"),
                             publish=True)
    routing = [{"stateMachineVersionArn": _arn("canary", 1), "weight": 80},
               {"stateMachineVersionArn": _arn("canary", 2), "weight": 20}]
    made = sfn.create_state_machine_alias(name="live", routingConfiguration=routing,
                                          description="80/20")
    assert made["stateMachineAliasArn"] == _arn("canary", "live")
    again = sfn.create_state_machine_alias(name="live", routingConfiguration=routing,
                                           description="80/20")
    assert again["creationDate"] == made["creationDate"]
    _refused(sfn.create_state_machine_alias, "ConflictException", name="live",
             routingConfiguration=routing[:1] and [{**routing[0], "weight": 100}])
    described = sfn.describe_state_machine_alias(stateMachineAliasArn=_arn("canary", "live"))
    assert described["routingConfiguration"] == routing and described["name"] == "live"
    assert described["description"] == "80/20" and described["updateDate"]

    counts: Counter[str] = Counter()
    arns = []
    for i in range(1000):
        started = sfn.start_execution(stateMachineArn=_arn("canary", "live"), name=f"r{i}")
        arns.append(started["executionArn"])
    for arn in arns[:5]:
        wait_done(arn)
    for arn in arns:
        counts[sfn.describe_execution(executionArn=arn)["stateMachineVersionArn"]] += 1
    assert sum(counts.values()) == 1000
    assert 750 <= counts[_arn("canary", 1)] <= 850, counts
    sample = sfn.describe_execution(executionArn=arns[0])
    assert sample["stateMachineAliasArn"] == _arn("canary", "live")
    output = json.loads(wait_done(arns[0])["output"])
    assert output == ("one" if sample["stateMachineVersionArn"] == _arn("canary", 1) else "two")
    pinned = sfn.start_execution(stateMachineArn=_arn("canary", 2))
    assert json.loads(wait_done(pinned["executionArn"])["output"]) == "two"
    assert "stateMachineAliasArn" not in sfn.describe_execution(
        executionArn=pinned["executionArn"])

    _refused(sfn.delete_state_machine_version, "ConflictException",
             stateMachineVersionArn=_arn("canary", 1))
    sfn.update_state_machine_alias(stateMachineAliasArn=_arn("canary", "live"),
                                   routingConfiguration=[routing[1] | {"weight": 100}])
    sfn.delete_state_machine_version(stateMachineVersionArn=_arn("canary", 1))
    sfn.create_state_machine_alias(name="beta", routingConfiguration=[
        {"stateMachineVersionArn": _arn("canary", 2), "weight": 100}])
    listed = sfn.list_state_machine_aliases(stateMachineArn=_arn("canary"), maxResults=1)
    assert len(listed["stateMachineAliases"]) == 1 and listed["nextToken"]
    rest = sfn.list_state_machine_aliases(stateMachineArn=_arn("canary"),
                                          nextToken=listed["nextToken"])
    assert {a["stateMachineAliasArn"] for a in listed["stateMachineAliases"] +
            rest["stateMachineAliases"]} == {_arn("canary", "live"), _arn("canary", "beta")}
    sfn.delete_state_machine_alias(stateMachineAliasArn=_arn("canary", "beta"))
    _refused(sfn.describe_state_machine_alias, "ResourceNotFound",
             stateMachineAliasArn=_arn("canary", "beta"))
    _refused(sfn.delete_state_machine_alias, "ResourceNotFound",
             stateMachineAliasArn=_arn("canary", "beta"))
    _refused(sfn.update_state_machine_alias, "ResourceNotFound",
             stateMachineAliasArn=_arn("canary", "beta"), description="x")
    _refused(sfn.list_state_machine_aliases, "StateMachineDoesNotExist",
             stateMachineArn=_arn("nothing"))


@pytest.mark.parametrize(("routing", "code"), [
    ([{"stateMachineVersionArn": _arn("alias-errors", 1), "weight": 50}], "ValidationException"),
    ([{"stateMachineVersionArn": _arn("alias-errors", 9), "weight": 100}], "ResourceNotFound"),
    ([{"stateMachineVersionArn": _arn("alias-errors"), "weight": 100}], "ValidationException"),
    ([{"stateMachineVersionArn": "arn:nope", "weight": 100}], "InvalidArn"),
    ([{"stateMachineVersionArn": _arn("alias-errors", 1), "weight": 50},
      {"stateMachineVersionArn": _arn("alias-errors", 1), "weight": 50}], "ValidationException"),
])
def test_alias_refusals(sfn: Any, routing: list[dict[str, Any]], code: str) -> None:
    try:
        sfn.create_state_machine(name="alias-errors", definition=_definition("x"),
                                 roleArn=ROLE, publish=True)
    except ClientError:
        pass  # created by an earlier case
    _refused(sfn.create_state_machine_alias, code, name="a", routingConfiguration=routing)


def test_tags(aws_service: AwsService, sfn: Any) -> None:
    sfn.create_state_machine(name="tagged", definition=_definition("x"), roleArn=ROLE)
    activity = sfn.create_activity(name="tagged")["activityArn"] if _has_activities(sfn) else None
    for arn in [_arn("tagged")] + ([activity] if activity else []):
        sfn.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"},
                                                {"key": "b", "value": "2"}])
        sfn.untag_resource(resourceArn=arn, tagKeys=["b"])
        assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "a", "value": "1"}]
    sfn.tag_resource(resourceArn=_arn("tagged"),
                     tags=[{"key": f"k{i}", "value": ""} for i in range(49)])
    _refused(sfn.tag_resource, "TooManyTags", resourceArn=_arn("tagged"),
             tags=[{"key": "one-too-many", "value": ""}])
    _refused(sfn.tag_resource, "ResourceNotFound", resourceArn=_arn("nothing"),
             tags=[{"key": "a", "value": ""}])
    _refused(sfn.list_tags_for_resource, "ResourceNotFound", resourceArn=_arn("nothing"))
    _refused(sfn.untag_resource, "ResourceNotFound", resourceArn=_arn("nothing"), tagKeys=["a"])
    _refused(sfn.list_tags_for_resource, "InvalidArn", resourceArn="arn:aws:states:x")
    _refused(sfn.list_tags_for_resource, "InvalidArn", resourceArn=_arn("tagged", 1))


def test_a_queue_tag_names_the_workers_of_a_machine(sfn: Any, wait_done: Any) -> None:
    """The statemachine:queue tag (AWS has no field for it): its value is checked, and the
    machine's executions wait for a worker of that queue (the service's run the default
    queue only), while an untagged machine's finish."""
    queue = [{"key": "statemachine:queue", "value": "payments"}]
    _refused(sfn.create_state_machine, "ValidationException", name="queued",
             definition=_definition("x"), roleArn=ROLE,
             tags=[{"key": "statemachine:queue", "value": "no spaces"}])
    sfn.create_state_machine(name="queued", definition=_definition("x"), roleArn=ROLE, tags=queue)
    sfn.create_state_machine(name="unqueued", definition=_definition("x"), roleArn=ROLE)
    assert sfn.list_tags_for_resource(resourceArn=_arn("queued"))["tags"] == queue
    held = sfn.start_execution(stateMachineArn=_arn("queued"))["executionArn"]
    done = sfn.start_execution(stateMachineArn=_arn("unqueued"))["executionArn"]
    assert wait_done(done)["status"] == "SUCCEEDED"
    assert sfn.describe_execution(executionArn=held)["status"] == "RUNNING"
    _refused(sfn.tag_resource, "ValidationException", resourceArn=_arn("queued"),
             tags=[{"key": "statemachine:queue", "value": "{s1}"}])


def _has_activities(sfn: Any) -> bool:
    """Whether this service answers CreateActivity yet (the lead's activities module)."""
    try:
        sfn.list_activities(maxResults=1)
    except ClientError:
        return False
    return True


def test_roles(aws_service: AwsService) -> None:
    viewer = aws_service.client(*aws_service.create_key("viewer"))
    viewer.list_state_machines()
    _refused(viewer.create_state_machine, "AccessDeniedException", name="denied",
             definition=_definition("x"), roleArn=ROLE)


def _aws(aws_service: AwsService, *args: str) -> Any:
    """One ``aws stepfunctions`` command against the service; its JSON output."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "aws"), "stepfunctions", *args, "--endpoint-url",
         aws_service.endpoint, "--output", "json"],
        env=aws_service.cli_env(), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_the_aws_cli(aws_service: AwsService) -> None:
    made = _aws(aws_service, "create-state-machine", "--name", "cli", "--definition",
                _definition("cli"), "--role-arn", ROLE, "--publish", "--tags",
                "key=team,value=cli")
    assert made["stateMachineVersionArn"] == _arn("cli", 1)
    _aws(aws_service, "create-state-machine-alias", "--name", "prod", "--routing-configuration",
         f"stateMachineVersionArn={_arn('cli', 1)},weight=100")
    versions = _aws(aws_service, "list-state-machine-versions", "--state-machine-arn", _arn("cli"))
    assert [v["stateMachineVersionArn"] for v in versions["stateMachineVersions"]] == [
        _arn("cli", 1)]
    aliases = _aws(aws_service, "list-state-machine-aliases", "--state-machine-arn", _arn("cli"))
    assert [a["stateMachineAliasArn"] for a in aliases["stateMachineAliases"]] == [
        _arn("cli", "prod")]
    tags = _aws(aws_service, "list-tags-for-resource", "--resource-arn", _arn("cli"))
    assert tags["tags"] == [{"key": "team", "value": "cli"}]
    started = _aws(aws_service, "start-execution", "--state-machine-arn", _arn("cli", "prod"))
    described = _aws(aws_service, "describe-execution", "--execution-arn",
                     started["executionArn"])
    assert described["stateMachineAliasArn"] == _arn("cli", "prod")
    _aws(aws_service, "delete-state-machine", "--state-machine-arn", _arn("cli"))


async def test_aiobotocore(aws_service: AwsService) -> None:
    from aiobotocore.session import get_session

    async with get_session().create_client(
            "stepfunctions", endpoint_url=aws_service.endpoint, region_name="us-east-1",
            aws_access_key_id=aws_service.key_id,
            aws_secret_access_key=aws_service.secret) as client:
        await client.create_state_machine(name="aio", definition=_definition("aio"),
                                          roleArn=ROLE, publish=True)
        published = await client.list_state_machine_versions(stateMachineArn=_arn("aio"))
        assert [v["stateMachineVersionArn"] for v in published["stateMachineVersions"]] == [
            _arn("aio", 1)]
        described = await client.describe_state_machine(stateMachineArn=_arn("aio", 1))
        assert described["name"] == "aio" and described["type"] == "STANDARD"
        await client.delete_state_machine(stateMachineArn=_arn("aio"))
