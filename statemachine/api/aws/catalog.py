"""The AWS operations of the state machine catalog: state machines, versions, aliases, tags.

Each is a thin translation onto ``service.catalog`` / ``service.aliases``
(:mod:`statemachine.service.catalog`, :mod:`statemachine.service.aliases`), which already
take ARNs and answer with AWS's field names; the REST API's catalog routes call the same.
The dispatcher has checked the body against the operation's input shape before a handler
runs.
"""

from __future__ import annotations

from typing import Any

from statemachine.api.aws.call import Call, Operation
from statemachine.security.roles import Role

__all__ = ["OPERATIONS"]


async def create_state_machine(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.catalog.create(  # type: ignore[no-any-return]
        body["name"], body["definition"], body["roleArn"], type=body.get("type", "STANDARD"),
        loggingConfiguration=body.get("loggingConfiguration"),
        tracingConfiguration=body.get("tracingConfiguration"), tags=body.get("tags"),
        publish=bool(body.get("publish")), versionDescription=body.get("versionDescription"))


async def describe_state_machine(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.catalog.describe(body["stateMachineArn"])  # type: ignore[no-any-return]


async def update_state_machine(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.catalog.update(  # type: ignore[no-any-return]
        body["stateMachineArn"], definition=body.get("definition"), roleArn=body.get("roleArn"),
        loggingConfiguration=body.get("loggingConfiguration"),
        tracingConfiguration=body.get("tracingConfiguration"),
        publish=bool(body.get("publish")), versionDescription=body.get("versionDescription"))


async def delete_state_machine(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.catalog.delete(body["stateMachineArn"])  # type: ignore[no-any-return]


async def list_state_machines(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.catalog.list(  # type: ignore[no-any-return]
        body.get("maxResults", 0), body.get("nextToken"))


async def publish_state_machine_version(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.catalog.publish(  # type: ignore[no-any-return]
        body["stateMachineArn"], body.get("revisionId"), body.get("description"))


async def list_state_machine_versions(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.catalog.list_versions(  # type: ignore[no-any-return]
        body["stateMachineArn"], body.get("maxResults", 0), body.get("nextToken"))


async def delete_state_machine_version(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.catalog.delete_version(  # type: ignore[no-any-return]
        body["stateMachineVersionArn"])


async def create_state_machine_alias(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.aliases.create(  # type: ignore[no-any-return]
        body["name"], body["routingConfiguration"], body.get("description"))


async def describe_state_machine_alias(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.aliases.describe(  # type: ignore[no-any-return]
        body["stateMachineAliasArn"])


async def update_state_machine_alias(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.aliases.update(  # type: ignore[no-any-return]
        body["stateMachineAliasArn"], body.get("description"), body.get("routingConfiguration"))


async def delete_state_machine_alias(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.aliases.delete(  # type: ignore[no-any-return]
        body["stateMachineAliasArn"])


async def list_state_machine_aliases(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.aliases.list(  # type: ignore[no-any-return]
        body["stateMachineArn"], body.get("maxResults", 0), body.get("nextToken"))


async def tag_resource(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.catalog.tag(body["resourceArn"], body["tags"])  # type: ignore[no-any-return]


async def untag_resource(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.catalog.untag(  # type: ignore[no-any-return]
        body["resourceArn"], body["tagKeys"])


async def list_tags_for_resource(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    return await call.service.catalog.list_tags(body["resourceArn"])  # type: ignore[no-any-return]


OPERATIONS: dict[str, Operation] = {
    "CreateStateMachine": Operation(create_state_machine, Role.ADMIN),
    "DescribeStateMachine": Operation(describe_state_machine, Role.VIEWER),
    "UpdateStateMachine": Operation(update_state_machine, Role.ADMIN),
    "DeleteStateMachine": Operation(delete_state_machine, Role.ADMIN),
    "ListStateMachines": Operation(list_state_machines, Role.VIEWER),
    "PublishStateMachineVersion": Operation(publish_state_machine_version, Role.ADMIN),
    "ListStateMachineVersions": Operation(list_state_machine_versions, Role.VIEWER),
    "DeleteStateMachineVersion": Operation(delete_state_machine_version, Role.ADMIN),
    "CreateStateMachineAlias": Operation(create_state_machine_alias, Role.ADMIN),
    "DescribeStateMachineAlias": Operation(describe_state_machine_alias, Role.VIEWER),
    "UpdateStateMachineAlias": Operation(update_state_machine_alias, Role.ADMIN),
    "DeleteStateMachineAlias": Operation(delete_state_machine_alias, Role.ADMIN),
    "ListStateMachineAliases": Operation(list_state_machine_aliases, Role.VIEWER),
    "TagResource": Operation(tag_resource, Role.ADMIN),
    "UntagResource": Operation(untag_resource, Role.ADMIN),
    "ListTagsForResource": Operation(list_tags_for_resource, Role.VIEWER),
}
