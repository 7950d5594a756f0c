"""State machine aliases as AWS has them, and which revision a start through a version or
an alias runs.  Reached from the facade as ``service.aliases``; both APIs call it.

An alias routes starts to one or two published versions of one machine, by weights that
sum to 100 (``StartExecution`` through the alias picks a version at random by weight).
CreateStateMachineAlias is idempotent (same description and routing: the existing alias;
otherwise ``ConflictException``); at most 100 aliases per machine
(``ServiceQuotaExceededException``); a version an alias routes to cannot be deleted
(:meth:`statemachine.service.catalog.Catalog.delete_version`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from statemachine.errors import Conflict, InputError, NotFound
from statemachine.interpreter.formats import iso
from statemachine.runtime.clock import now_ms
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import AliasReply, Store
from statemachine.service.resources import (
    MAX_ALIASES,
    check_description,
    machine_arn,
    not_found,
    page,
    validation,
)

__all__ = ["Aliases", "Pin"]

ALIAS_NAME = re.compile(r"(?=.*[a-zA-Z_\-.])[a-zA-Z0-9_\-.]{1,80}")
"""AWS's CharacterRestrictedName: not all digits, so that it never reads as a version."""


@dataclass(frozen=True, slots=True)
class Pin:
    """What a start through a version or alias runs: the revision, the published version
    it came through and the alias (if any)."""

    revision: int
    version: int
    alias: str | None = None


class Aliases:
    """Create, describe, update, delete and list aliases; resolve a start's version."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.place = settings.place

    def _routing(self, routing: Any) -> tuple[str, list[dict[str, int]]]:
        """The machine and ``[{"version", "weight"}]`` of a routingConfiguration."""
        if not isinstance(routing, list) or not 1 <= len(routing) <= 2:
            raise validation("routingConfiguration must list one or two versions")
        names, routes = set(), []
        for item in routing:
            if not isinstance(item, dict):
                raise validation("each routingConfiguration item is {stateMachineVersionArn, weight}")
            target = machine_arn(item.get("stateMachineVersionArn"), self.place, qualified=True)
            weight = item.get("weight")
            if target.version is None:
                raise validation(f"'{item.get('stateMachineVersionArn')}' is not a version ARN")
            if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
                raise validation("a routing weight is an integer from 0 to 100")
            names.add(target.name)
            routes.append({"version": target.version, "weight": weight})
        if len(names) > 1:
            raise validation("an alias routes to versions of one state machine")
        if len({r["version"] for r in routes}) < len(routes):
            raise validation("routingConfiguration names a version twice")
        if sum(r["weight"] for r in routes) != 100:
            raise validation("the routing weights must sum to 100")
        return names.pop(), routes

    def _alias_ref(self, arn: str) -> tuple[str, str]:
        target = machine_arn(arn, self.place, qualified=True)
        if target.alias is None:
            raise validation(f"'{arn}' is not an alias ARN")
        return target.name, target.alias

    def _shown(self, machine: str, entry: dict[str, Any]) -> dict[str, Any]:
        shown = {"stateMachineAliasArn": self.place.machine(machine, entry["name"]),
                 "name": entry["name"], "description": entry.get("description"),
                 "routingConfiguration": [
                     {"stateMachineVersionArn": self.place.machine(machine, r["version"]),
                      "weight": r["weight"]} for r in entry["routing"]],
                 "creationDate": entry["creationDate"], "updateDate": entry["updateDate"]}
        return {k: v for k, v in shown.items() if v is not None}

    async def create(self, name: str, routingConfiguration: Any,
                     description: str | None = None) -> dict[str, Any]:
        """CreateStateMachineAlias: ``{"stateMachineAliasArn", "creationDate"}``."""
        if not isinstance(name, str) or not ALIAS_NAME.fullmatch(name):
            raise InputError(f"invalid alias name {name!r}: 1 to 80 of a-z A-Z 0-9 _ - . and "
                             "not only digits", "InvalidName")
        note = check_description(description)
        machine, routes = self._routing(routingConfiguration)
        now = iso(now_ms())
        entry: dict[str, Any] = {"name": name, "routing": routes, "creationDate": now,
                                 "updateDate": now}
        if note is not None:
            entry["description"] = note
        reply, saved = await self.store.catalog.save_alias(machine, name, entry, create=True,
                                                           limit=MAX_ALIASES)
        arn = self.place.machine(machine, name)
        match reply:
            case AliasReply.SAVED:
                pass
            case AliasReply.TAKEN:
                if saved.get("description") != note or saved["routing"] != routes:
                    raise Conflict(f"An alias with the name '{name}' already exists with "
                                   f"another description or routing: '{arn}'",
                                   "ConflictException")
            case _:
                self._refused(reply, saved, machine, arn)
        return {"stateMachineAliasArn": arn, "creationDate": saved["creationDate"]}

    def _refused(self, reply: AliasReply, detail: Any, machine: str, arn: str) -> None:
        match reply:
            case AliasReply.NO_VERSION:
                raise not_found(self.place.machine(machine, detail))
            case AliasReply.FULL:
                raise InputError(f"state machine {machine!r} has {MAX_ALIASES} aliases: delete "
                                 "some first", "ServiceQuotaExceededException")
            case AliasReply.GONE:
                raise not_found(self.place.machine(machine))
            case AliasReply.ABSENT:
                raise not_found(arn)
        raise AssertionError(reply)

    async def describe(self, stateMachineAliasArn: str) -> dict[str, Any]:
        """DescribeStateMachineAlias."""
        machine, alias = self._alias_ref(stateMachineAliasArn)
        entry = await self.store.catalog.alias(machine, alias)
        if entry is None:
            raise not_found(stateMachineAliasArn)
        return self._shown(machine, entry)

    async def update(self, stateMachineAliasArn: str, description: str | None = None,
                     routingConfiguration: Any = None) -> dict[str, Any]:
        """UpdateStateMachineAlias: ``{"updateDate"}``."""
        machine, alias = self._alias_ref(stateMachineAliasArn)
        if description is None and routingConfiguration is None:
            raise validation("give a description or a routingConfiguration to update")
        now = iso(now_ms())
        changes: dict[str, Any] = {"updateDate": now}
        if description is not None:
            changes["description"] = check_description(description)
        if routingConfiguration is not None:
            routed, changes["routing"] = self._routing(routingConfiguration)
            if routed != machine:
                raise validation("an alias routes to versions of its own state machine")
        reply, saved = await self.store.catalog.save_alias(machine, alias, changes, create=False,
                                                           limit=MAX_ALIASES)
        if reply != AliasReply.SAVED:
            self._refused(reply, saved, machine, stateMachineAliasArn)
        return {"updateDate": now}

    async def delete(self, stateMachineAliasArn: str) -> dict[str, Any]:
        """DeleteStateMachineAlias (``ResourceNotFound`` when there is no such alias)."""
        machine, alias = self._alias_ref(stateMachineAliasArn)
        if not await self.store.catalog.delete_alias(machine, alias):
            raise not_found(stateMachineAliasArn)
        return {}

    async def list(self, stateMachineArn: str, maxResults: int = 0,
                   nextToken: str | None = None) -> dict[str, Any]:
        """ListStateMachineAliases of a machine (or those routing to one of its versions),
        newest first."""
        target = machine_arn(stateMachineArn, self.place, qualified=None)
        if target.alias is not None:
            raise validation(f"'{stateMachineArn}' is an alias ARN")
        if await self.store.machines.latest(target.name) is None:
            raise NotFound(f"State Machine Does Not Exist: '{stateMachineArn}'",
                           "StateMachineDoesNotExist")
        entries = list((await self.store.catalog.aliases(target.name)).values())
        if target.version is not None:
            entries = [e for e in entries if any(r["version"] == target.version
                                                 for r in e["routing"])]
        entries.sort(key=lambda e: (e["creationDate"], e["name"]), reverse=True)
        chosen, token = page(entries, lambda e: [e["creationDate"], e["name"]],
                             "aliases:" + stateMachineArn, maxResults, nextToken)
        return {"stateMachineAliases": [
            {"stateMachineAliasArn": self.place.machine(target.name, e["name"]),
             "creationDate": e["creationDate"]} for e in chosen], "nextToken": token}

    async def pin(self, machine: str, qualifier: int | str) -> Pin:
        """The revision a start through version ``qualifier`` (int) or alias (str) runs; an
        alias picks one of its versions at random by weight."""
        alias = None
        version = qualifier
        if isinstance(qualifier, str):
            alias = qualifier
            entry = await self.store.catalog.alias(machine, alias)
            if entry is None:
                raise _no_target(self.place.machine(machine, qualifier))
            routes = entry["routing"]
            version = random.choices([r["version"] for r in routes],
                                     weights=[r["weight"] for r in routes])[0]
        assert isinstance(version, int)
        published = await self.store.catalog.version(machine, version)
        if published is None:
            raise _no_target(self.place.machine(machine, version))
        return Pin(published["revision"], version, alias)


def _no_target(arn: str) -> NotFound:
    return NotFound(f"State Machine Does Not Exist: '{arn}'", "StateMachineDoesNotExist")
