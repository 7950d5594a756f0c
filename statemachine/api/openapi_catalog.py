"""The OpenAPI description of the catalog routes (:mod:`.versions`: versions, aliases, tags,
delete), merged into :mod:`.openapi`'s document.

Plain data, so that :mod:`.openapi` can import it without a circle.
"""

from __future__ import annotations

from statemachine.api.openapi_parts import (
    NAME,
    Schema,
    errors,
    json_body,
    obj,
    ok,
    path_param,
    query,
    ref,
)
from statemachine.api.versions import MAX_CURSOR, MAX_DESCRIPTION, MAX_TAG_KEY, MAX_VERSION

__all__ = ["PATHS", "SCHEMAS"]

_DATE: Schema = {"type": "string", "format": "date-time"}
_ARN: Schema = {"type": "string"}
_DESCRIPTION: Schema = {"type": "string", "maxLength": MAX_DESCRIPTION}
_ALIAS: Schema = {"type": "string", "minLength": 1, "maxLength": 80,
                  "pattern": "^(?=.*[a-zA-Z_\\-.])[a-zA-Z0-9_\\-.]+$"}
_VERSION: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_VERSION}
_ROUTING: Schema = {"type": "array", "minItems": 1, "maxItems": 2, "items": obj(
    ["version", "weight"], {"version": _VERSION,
                            "weight": {"type": "integer", "minimum": 0, "maximum": 100}}),
    "description": "One or two published versions and the percentage of starts each gets "
                   "(the weights sum to 100)"}
_NEXT: Schema = {"type": ["string", "null"],
                 "description": "The cursor of the next page (null: this was the last)"}
_VERSION_ITEM = obj(["stateMachineVersionArn", "creationDate"],
                    {"stateMachineVersionArn": _ARN, "creationDate": _DATE})
_ALIAS_ITEM = obj(["stateMachineAliasArn", "creationDate"],
                  {"stateMachineAliasArn": _ARN, "creationDate": _DATE})

SCHEMAS: dict[str, Schema] = {
    "PublishVersion": obj([], {
        "description": _DESCRIPTION,
        "revisionId": {"type": "string", "maxLength": MAX_CURSOR,
                       "description": "Publish only if this is still the current revision "
                                      "(INITIAL: the machine was never updated)"},
    }),
    "VersionPublished": _VERSION_ITEM,
    "VersionList": obj(["versions", "nextCursor"], {
        "versions": {"type": "array", "items": _VERSION_ITEM}, "nextCursor": _NEXT}),
    "CreateAlias": obj(["name", "routing"], {
        "name": _ALIAS, "routing": _ROUTING, "description": _DESCRIPTION}),
    "UpdateAlias": {**obj([], {"routing": _ROUTING, "description": _DESCRIPTION}),
                    "minProperties": 1},
    "AliasCreated": _ALIAS_ITEM,
    "AliasUpdated": obj(["updateDate"], {"updateDate": _DATE}),
    "Alias": obj(["stateMachineAliasArn", "name", "routingConfiguration", "creationDate",
                  "updateDate"], {
        "stateMachineAliasArn": _ARN, "name": {"type": "string"}, "description": _DESCRIPTION,
        "routingConfiguration": {"type": "array", "items": obj(
            ["stateMachineVersionArn", "weight"],
            {"stateMachineVersionArn": _ARN, "weight": {"type": "integer"}})},
        "creationDate": _DATE, "updateDate": _DATE}),
    "AliasList": obj(["aliases", "nextCursor"], {
        "aliases": {"type": "array", "items": _ALIAS_ITEM}, "nextCursor": _NEXT}),
    "Tags": obj(["tags"], {"tags": {"type": "object", "additionalProperties": {"type": "string"}}}),
    "TagStateMachine": obj(["tags"], {"tags": {
        "type": "object", "maxProperties": 50,
        "propertyNames": {"minLength": 1, "maxLength": MAX_TAG_KEY,
                          "not": {"pattern": "^[aA][wW][sS]:"}},
        "additionalProperties": {"type": "string", "maxLength": 256},
        "description": "Tags to add or overwrite (a machine has at most 50; keys starting "
                       "with aws: are reserved)"}}),
}

_MACHINE = path_param("name", "State machine name", NAME)
_PAGE = [query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size"),
         query("cursor", {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR},
               "nextCursor of the previous page")]
_ALIAS_PARAMETERS = [_MACHINE, path_param("alias", "Alias name", _ALIAS)]
_BASE = "/v1/state-machines/{name}"


def _operation(operation_id: str, summary: str, tag: str, responses: dict[str, Schema],
               *, parameters: list[Schema] | None = None, body: Schema | None = None,
               statuses: tuple[int, ...] = (404,)) -> Schema:
    """An operation on a machine's catalog: 400 (a bad name in the path...) and
    ``statuses`` besides ``responses``."""
    operation: Schema = {"operationId": operation_id, "tags": [tag], "summary": summary,
                         "parameters": parameters or [_MACHINE],
                         "responses": {**responses, **errors(400, *statuses)}}
    if body is not None:
        operation["requestBody"] = body
    return operation


PATHS: dict[str, Schema] = {
    _BASE: {"delete": _operation(
        "deleteStateMachine", "Delete a state machine with its versions, aliases and tags: "
        "running executions go on, the name can be used again", "state machines",
        {"200": ok(ref("Empty"), "Deleted (or there was no such state machine)")},
        statuses=())},
    _BASE + "/versions": {
        "post": _operation(
            "publishVersion", "Publish the current revision as a numbered, immutable version "
            "(the existing one if it is published already)", "versions",
            {"201": ok(ref("VersionPublished"), "The version")},
            body=json_body(ref("PublishVersion"), "Description and revision guard",
                           required=False), statuses=(404, 409)),
        "get": _operation("listVersions", "List published versions, newest first", "versions",
                          {"200": ok(ref("VersionList"), "Versions")},
                          parameters=[_MACHINE, *_PAGE], statuses=()),
    },
    _BASE + "/versions/{version}": {"delete": _operation(
        "deleteVersion", "Delete a published version (409 while an alias routes to it)",
        "versions", {"200": ok(ref("Empty"), "Deleted (or there was no such version)")},
        parameters=[_MACHINE, path_param("version", "Version number", _VERSION)],
        statuses=(409,))},
    _BASE + "/aliases": {
        "post": _operation(
            "createAlias", "Create an alias routing starts to one or two versions by weight",
            "aliases", {"201": ok(ref("AliasCreated"), "The alias (or the identical one that "
                                                      "existed)")},
            body=json_body(ref("CreateAlias"), "Name, routing and description"),
            statuses=(404, 409)),
        "get": _operation("listAliases", "List aliases, newest first", "aliases",
                          {"200": ok(ref("AliasList"), "Aliases")},
                          parameters=[_MACHINE, *_PAGE]),
    },
    _BASE + "/aliases/{alias}": {
        "get": _operation("describeAlias", "Describe an alias", "aliases",
                          {"200": ok(ref("Alias"), "The alias")},
                          parameters=_ALIAS_PARAMETERS, statuses=(404,)),
        "patch": _operation("updateAlias", "Change an alias's routing or description",
                            "aliases", {"200": ok(ref("AliasUpdated"), "Updated")},
                            parameters=_ALIAS_PARAMETERS,
                            body=json_body(ref("UpdateAlias"), "New routing or description"),
                            statuses=(404,)),
        "delete": _operation("deleteAlias", "Delete an alias", "aliases",
                             {"200": ok(ref("Empty"), "Deleted")},
                             parameters=_ALIAS_PARAMETERS, statuses=(404,)),
    },
    _BASE + "/tags": {
        "get": _operation("listTags", "A state machine's tags", "state machines",
                          {"200": ok(ref("Tags"), "Tags")}),
        "post": _operation("tagStateMachine", "Add or overwrite tags", "state machines",
                           {"200": ok(ref("Tags"), "The tags now")},
                           body=json_body(ref("TagStateMachine"), "Tags")),
    },
    _BASE + "/tags/{key}": {"delete": _operation(
        "untagStateMachine", "Remove a tag", "state machines",
        {"200": ok(ref("Tags"), "The tags now")},
        parameters=[_MACHINE, path_param("key", "Tag key",
                                         {"type": "string", "minLength": 1,
                                          "maxLength": MAX_TAG_KEY})],
        statuses=(404,))},
}
