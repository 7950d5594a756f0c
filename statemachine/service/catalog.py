"""The state machine catalog as AWS has it: create, describe, update, delete and list state
machines, publish and delete versions, tag machines and activities (aliases:
:mod:`.aliases`).  Reached from the facade as ``service.catalog``; both APIs call it.

Each operation takes ARNs and answers in the shape of AWS's output (field names as the
botocore model has them, dates as ISO text).  Underneath (see
:mod:`statemachine.runtime.store.catalog`): every change of a machine's definition, role,
logging or tracing is a new immutable *revision* with a new ``revisionId``; a published
*version* names a revision; running executions keep the revision they started with.

AWS behaviour kept:

* CreateStateMachine is idempotent: the same name, definition, type, logging, tracing,
  publish and versionDescription give back the existing machine (a different roleArn or
  tags are ignored), anything else is ``StateMachineAlreadyExists``.
* PublishStateMachineVersion is idempotent per revision; ``revisionId`` guards it
  (``INITIAL``: the machine was never updated); versions are numbered 1, 2, ... and a
  number is never given again; at most 1,000 versions (``ServiceQuotaExceededException``).
* DeleteStateMachine and DeleteStateMachineVersion are idempotent; a machine's versions,
  aliases and tags go with it, its running executions go on, its name can be used again.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from statemachine.errors import Conflict, InputError, NotFound
from statemachine.interpreter.formats import iso
from statemachine.language.arns import MachineArn
from statemachine.language.queues import definition_queues
from statemachine.runtime.clock import now_ms
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import PublishReply, Store, UnpublishReply
from statemachine.runtime.store.pools import register
from statemachine.service.definitions import check_name, checked_definition
from statemachine.service.express import MachineType
from statemachine.service.queues import tagged
from statemachine.service.resources import (
    MAX_TAGS,
    MAX_VERSIONS,
    check_description,
    logging_config,
    machine_arn,
    not_found,
    page,
    role_arn,
    tag_keys,
    tag_map,
    tag_target,
    too_many_tags,
    tracing_config,
    validation,
)

__all__ = ["TYPES", "Catalog", "new_revision_config"]

TYPES = tuple(t.value for t in MachineType)
INITIAL = "INITIAL"
"""The revisionId PublishStateMachineVersion accepts for a machine never updated."""


def new_revision_config(**config: Any) -> dict[str, Any]:
    """What a new revision stores besides its definition: a fresh revisionId and ``config``."""
    return {"revisionId": str(uuid.uuid4()), **config}


def _no_machine(arn: str) -> NotFound:
    return NotFound(f"State Machine Does Not Exist: '{arn}'", "StateMachineDoesNotExist")


class Catalog:
    """State machines, their revisions and versions, and tags."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.place = settings.place

    # -- state machines ----------------------------------------------------------------------

    async def create(self, name: str, definition: str | dict[str, Any], roleArn: str | None = None,
                     type: str = "STANDARD", loggingConfiguration: Any = None,
                     tracingConfiguration: Any = None, tags: Any = None, publish: bool = False,
                     versionDescription: str | None = None) -> dict[str, Any]:
        """CreateStateMachine: ``{"stateMachineArn", "creationDate", "stateMachineVersionArn"?}``."""
        check_name(name, "state machine name")
        if type not in TYPES:
            raise validation(f"type must be one of {', '.join(TYPES)}")
        role = role_arn(roleArn) if roleArn is not None else self.place.role
        config = {"roleArn": role, "loggingConfiguration": logging_config(loggingConfiguration),
                  "tracingConfiguration": tracing_config(tracingConfiguration)}
        given_tags = tag_map(tags)
        note = check_description(versionDescription, "versionDescription")
        if note is not None and not publish:
            raise validation("versionDescription can only be set when publish is true")
        checked = checked_definition(definition)
        arn = self.place.machine(name)
        created = iso(now_ms())
        if not await self.store.catalog.claim(name, created):
            return await self._existing(name, arn, checked, type, config, publish, note)
        try:
            revision = await self.store.machines.define(
                name, checked, created, config=new_revision_config(initial=True, **config),
                type=type)
        except BaseException:
            await self.store.catalog.release(name, created)
            raise
        await register(self.store.core, definition_queues(checked))
        if given_tags:
            await self.store.catalog.tag("m", name, given_tags, MAX_TAGS)
            await tagged(self.store, given_tags)
        made: dict[str, Any] = {"stateMachineArn": arn, "creationDate": created}
        if publish:
            made["stateMachineVersionArn"] = (await self._publish(name, revision, note))[0]
        return made

    async def _existing(self, name: str, arn: str, definition: dict[str, Any], type: str,
                        config: dict[str, Any], publish: bool, note: str | None) -> dict[str, Any]:
        """An idempotent repeat of CreateStateMachine, or ``StateMachineAlreadyExists``."""
        head = await self.store.catalog.head(name)
        stored = (None if head.latest is None
                  else await self.store.machines.version(name, head.latest))
        same = (stored is not None and stored["definition"] == definition and head.type == type
                and all(stored.get(k) == config[k]
                        for k in ("loggingConfiguration", "tracingConfiguration")))
        made: dict[str, Any] = {"stateMachineArn": arn, "creationDate": head.created}
        if same and publish:
            versions = await self.store.catalog.versions(name)
            found = [(n, v) for n, v in versions.items()
                     if v["revision"] == head.latest and v.get("description") == note]
            if found:
                made["stateMachineVersionArn"] = self.place.machine(name, found[0][0])
            else:
                same = False
        if not same:
            raise Conflict(f"State Machine Already Exists: '{arn}'", "StateMachineAlreadyExists")
        return made

    async def describe(self, arn: str) -> dict[str, Any]:
        """DescribeStateMachine of a machine or one of its versions."""
        target = machine_arn(arn, self.place, qualified=None)
        if target.alias is not None:
            raise InputError(f"Invalid Arn: '{arn}' is an alias: use DescribeStateMachineAlias",
                             "InvalidArn")
        name = target.name
        head = await self.store.catalog.head(name)
        if head.latest is None:
            raise _no_machine(arn)
        revision, created, note = head.latest, head.created, None
        if target.version is not None:
            version = await self.store.catalog.version(name, target.version)
            if version is None:
                raise _no_machine(arn)
            revision, created, note = (version["revision"], version["creationDate"],
                                       version.get("description"))
        stored = await self.store.machines.version(name, revision)
        if stored is None:
            raise _no_machine(arn)
        described: dict[str, Any] = {
            "stateMachineArn": self.place.machine(name, target.version), "name": name,
            "status": "ACTIVE", "definition": orjson.dumps(stored["definition"]).decode(),
            "roleArn": stored.get("roleArn", self.place.role), "type": head.type,
            "creationDate": created,
            "loggingConfiguration": stored.get("loggingConfiguration", logging_config(None)),
            "tracingConfiguration": stored.get("tracingConfiguration", tracing_config(None)),
            "revisionId": stored.get("revisionId"),
        }
        if note is not None:
            described["description"] = note
        return described

    async def revision(self, name: str, revision: int) -> dict[str, Any]:
        """DescribeStateMachineForExecution: revision ``revision`` of ``name`` (the one an
        execution runs), with the configuration it was written with."""
        stored = await self.store.machines.version(name, revision)
        if stored is None:
            raise _no_machine(self.place.machine(name))
        return {
            "stateMachineArn": self.place.machine(name), "name": name,
            "definition": orjson.dumps(stored["definition"]).decode(),
            "roleArn": stored.get("roleArn", self.place.role), "updateDate": stored["createdAt"],
            "loggingConfiguration": stored.get("loggingConfiguration", logging_config(None)),
            "tracingConfiguration": stored.get("tracingConfiguration", tracing_config(None)),
            "revisionId": stored.get("revisionId"),
        }

    async def revise(self, name: str, definition: dict[str, Any] | None = None,
                     **changes: Any) -> tuple[int, str, bool]:
        """Write a new revision of ``name`` from its latest with ``definition`` and the
        config ``changes`` (roleArn, loggingConfiguration, tracingConfiguration), unless
        nothing changes: (revision, its createdAt, whether it is new).  A machine that does
        not exist is created (a STANDARD one: the REST API's define)."""
        latest = await self.store.machines.latest(name)
        stored = None if latest is None else await self.store.machines.version(name, latest)
        created = iso(now_ms())
        if stored is None:
            assert definition is not None
            config = new_revision_config(initial=True, **changes)
        else:
            base = {k: v for k, v in stored.items()
                    if k not in ("definition", "createdAt", "revisionId", "initial")}
            updated = {**base, **changes}
            if latest is not None and updated == base and definition in (None,
                                                                         stored["definition"]):
                return latest, stored["createdAt"], False
            definition = stored["definition"] if definition is None else definition
            config = new_revision_config(**updated)
        revision = await self.store.machines.define(name, definition, created, config=config)
        await register(self.store.core, definition_queues(definition))
        return revision, created, True

    async def update(self, stateMachineArn: str, definition: str | None = None,
                     roleArn: str | None = None, loggingConfiguration: Any = None,
                     tracingConfiguration: Any = None, publish: bool = False,
                     versionDescription: str | None = None) -> dict[str, Any]:
        """UpdateStateMachine: ``{"updateDate", "revisionId", "stateMachineVersionArn"?}``."""
        name = machine_arn(stateMachineArn, self.place).name
        changes: dict[str, Any] = {}
        if roleArn is not None:
            changes["roleArn"] = role_arn(roleArn)
        if loggingConfiguration is not None:
            changes["loggingConfiguration"] = logging_config(loggingConfiguration)
        if tracingConfiguration is not None:
            changes["tracingConfiguration"] = tracing_config(tracingConfiguration)
        if definition is None and not changes and not publish:
            raise InputError("Request is missing a required parameter: give a definition, "
                             "roleArn, loggingConfiguration or tracingConfiguration",
                             "MissingRequiredParameter")
        note = check_description(versionDescription, "versionDescription")
        if note is not None and not publish:
            raise validation("versionDescription can only be set when publish is true")
        checked = None if definition is None else checked_definition(definition)
        if await self.store.machines.latest(name) is None:
            raise _no_machine(stateMachineArn)
        revision, _created, _new = await self.revise(name, checked, **changes)
        stored = await self.store.machines.version(name, revision)
        updated: dict[str, Any] = {"updateDate": iso(now_ms()),
                                   "revisionId": None if stored is None else stored.get("revisionId")}
        if publish:
            updated["stateMachineVersionArn"] = (await self._publish(name, revision, note))[0]
        return updated

    async def delete(self, stateMachineArn: str) -> dict[str, Any]:
        """DeleteStateMachine (idempotent): running executions go on; the name is free."""
        name = machine_arn(stateMachineArn, self.place).name
        if await self.store.machines.latest(name) is not None:
            await self.store.machines.delete(name)
        return {}

    async def list(self, maxResults: int = 0, nextToken: str | None = None) -> dict[str, Any]:
        """ListStateMachines, by name."""
        listed = await self.store.catalog.listing()
        names, token = page(sorted(listed), lambda n: n, "machines", maxResults, nextToken)
        types = await self.store.catalog.types(names)
        return {"stateMachines": [
            {"stateMachineArn": self.place.machine(n), "name": n, "type": t,
             "creationDate": listed[n]} for n, t in zip(names, types, strict=True)],
            "nextToken": token}

    # -- versions ------------------------------------------------------------------------------

    async def publish(self, stateMachineArn: str, revisionId: str | None = None,
                      description: str | None = None) -> dict[str, Any]:
        """PublishStateMachineVersion: ``{"creationDate", "stateMachineVersionArn"}``."""
        name = machine_arn(stateMachineArn, self.place).name
        note = check_description(description)
        latest = await self.store.machines.latest(name)
        stored = None if latest is None else await self.store.machines.version(name, latest)
        if latest is None or stored is None:
            raise _no_machine(stateMachineArn)
        if revisionId is not None and revisionId != stored.get("revisionId") and not (
                revisionId == INITIAL and stored.get("initial")):
            raise Conflict(f"Failed to publish the State Machine version: revisionId "
                           f"'{revisionId}' is not the current revision "
                           f"'{stored.get('revisionId')}'", "ConflictException")
        arn, created = await self._publish(name, latest, note)
        return {"creationDate": created, "stateMachineVersionArn": arn}

    async def _publish(self, name: str, revision: int, note: str | None) -> tuple[str, str]:
        entry: dict[str, Any] = {"creationDate": iso(now_ms())}
        if note is not None:
            entry["description"] = note
        reply, number = await self.store.catalog.publish(name, revision, entry, MAX_VERSIONS)
        match reply:
            case PublishReply.PUBLISHED:
                return self.place.machine(name, number), entry["creationDate"]
            case PublishReply.EXISTS:
                found = await self.store.catalog.version(name, number)
                return (self.place.machine(name, number),
                        entry["creationDate"] if found is None else found["creationDate"])
            case PublishReply.FULL:
                raise InputError(f"state machine {name!r} has {MAX_VERSIONS} versions: delete "
                                 "some first", "ServiceQuotaExceededException")
            case PublishReply.GONE:
                raise _no_machine(self.place.machine(name))
        raise AssertionError(reply)

    async def list_versions(self, stateMachineArn: str, maxResults: int = 0,
                            nextToken: str | None = None) -> dict[str, Any]:
        """ListStateMachineVersions, newest first."""
        name = machine_arn(stateMachineArn, self.place).name
        versions = await self.store.catalog.versions(name)
        numbers, token = page(sorted(versions, reverse=True), lambda n: n, "versions:" + name,
                              maxResults, nextToken)
        return {"stateMachineVersions": [
            {"stateMachineVersionArn": self.place.machine(name, n),
             "creationDate": versions[n]["creationDate"]} for n in numbers],
            "nextToken": token}

    async def delete_version(self, stateMachineVersionArn: str) -> dict[str, Any]:
        """DeleteStateMachineVersion (idempotent); ``ConflictException`` while an alias
        routes to the version."""
        target = machine_arn(stateMachineVersionArn, self.place, qualified=True)
        if target.version is None:
            raise validation(f"'{stateMachineVersionArn}' is not a version ARN")
        reply, alias = await self.store.catalog.unpublish(target.name, target.version)
        if reply == UnpublishReply.ROUTED:
            raise Conflict("Version to be deleted must not be referenced by an alias. Current "
                           "list of aliases referencing this version: "
                           f"[{self.place.machine(target.name, alias)}]", "ConflictException")
        return {}

    # -- tags ----------------------------------------------------------------------------------

    async def _tagged(self, resourceArn: str) -> tuple[str, str]:
        kind, name = tag_target(resourceArn, self.place)
        exists = (await self.store.machines.latest(name) is not None if kind == "m"
                  else await self.store.activities.get(name) is not None)
        if not exists:
            raise not_found(resourceArn)
        return kind, name

    async def tag(self, resourceArn: str, tags: Any) -> dict[str, Any]:
        """TagResource: add or overwrite tags (at most 50 in all: ``TooManyTags``)."""
        given = tag_map(tags)
        kind, name = await self._tagged(resourceArn)
        if await self.store.catalog.tag(kind, name, given, MAX_TAGS) is None:
            raise too_many_tags()
        if kind == "m":
            await tagged(self.store, given)
        return {}

    async def untag(self, resourceArn: str, tagKeys: Any) -> dict[str, Any]:
        keys = tag_keys(tagKeys)
        kind, name = await self._tagged(resourceArn)
        await self.store.catalog.untag(kind, name, keys)
        return {}

    async def list_tags(self, resourceArn: str) -> dict[str, Any]:
        kind, name = await self._tagged(resourceArn)
        found = await self.store.catalog.tags(kind, name)
        return {"tags": [{"key": k, "value": v} for k, v in sorted(found.items())]}

    def machine_ref(self, arn: str) -> MachineArn:
        """A machine, version or alias ARN of this service (for the start through an ARN)."""
        return machine_arn(arn, self.place, qualified=None)


