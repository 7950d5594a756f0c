"""Connections between the API and the store, and between the store and the invokers.

:class:`ConnectionBook` is what the service (create, list, describe, delete) and the
workers (:meth:`ConnectionBook.resolve`, the lookup an HTTP task's ``Authentication.
ConnectionArn`` goes through) use.  It checks requests against EventBridge's shape
(:mod:`statemachine.security.connections`), seals the credentials with the service key
before they reach the store and unseals them only for the invoker that adds them to a
request.  Every answer it gives is secret-free.

The service key (:func:`~statemachine.security.secretbox.load_secret_box`) is loaded on
first use, from ``STATEMACHINE_SECRET_KEY`` or ``<data_dir>/secret.key``.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from statemachine.errors import Conflict, InputError, NotFound
from statemachine.interpreter.formats import iso
from statemachine.language.arns import DEFAULT_PLACE, Place
from statemachine.runtime.clock import now_ms
from statemachine.runtime.store.connections import Connections
from statemachine.security.connections import (
    CONNECTION_STATE,
    MAX_DESCRIPTION,
    AuthorizationType,
    Connection,
    InvalidConnection,
    check_auth_parameters,
    check_name,
    connection_arn,
    parse_arn,
    public_parameters,
    seal,
    unseal,
)
from statemachine.security.secretbox import SecretBox, load_secret_box

__all__ = ["ConnectionBook"]


class ConnectionBook:
    """Connections over the store's :class:`Connections`, sealed with the service key."""

    def __init__(self, stored: Connections, data_dir: str | Path,
                 box: SecretBox | None = None, place: Place = DEFAULT_PLACE) -> None:
        self._stored = stored
        self._data_dir = Path(data_dir)
        self._box = box
        self._place = place

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            self._box = load_secret_box(self._data_dir)
        return self._box

    async def create(self, name: Any, authorization_type: Any, auth_parameters: Any,
                     description: Any = None) -> dict[str, Any]:
        """Check and store a connection (CreateConnection); its secret-free description."""
        try:
            check_name(name)
            kind, params = check_auth_parameters(authorization_type, auth_parameters)
        except InvalidConnection as exc:
            raise InputError(exc.message, exc.code) from None
        if description is not None and (not isinstance(description, str)
                                        or len(description) > MAX_DESCRIPTION):
            raise InputError(f"description must be a string of at most {MAX_DESCRIPTION} "
                             "characters", "InvalidConnection")
        entry = {"name": name, "arn": connection_arn(name, str(uuid.uuid4()), self._place.region,
                                               self._place.account),
                 "authorizationType": kind.value, "creationTime": iso(now_ms()),
                 "public": public_parameters(params), "sealed": seal(params, self.box)}
        if description is not None:
            entry["description"] = description
        if not await self._stored.create(name, entry):
            raise Conflict(f"connection {name!r} already exists", "ResourceAlreadyExists")
        return _describe(entry)

    async def list(self) -> list[dict[str, Any]]:
        """Every connection, by name, without its parameters (ListConnections)."""
        return [_summary(entry) for entry in await self._stored.all()]

    async def get(self, name: str) -> dict[str, Any]:
        """One connection with its secret-free parameters (DescribeConnection)."""
        entry = await self._stored.get(name)
        if entry is None:
            raise _not_found(name)
        return _describe(entry)

    async def delete(self, name: str) -> dict[str, Any]:
        entry = await self._stored.get(name)
        if entry is None or not await self._stored.delete(name):
            raise _not_found(name)
        return {**_summary(entry), "connectionState": "DELETING"}

    async def resolve(self, arn: str) -> Connection | None:
        """The connection an HTTP task names, with its credentials in clear; None when no
        connection has this ARN (never made, or deleted since)."""
        name = parse_arn(arn)
        entry = None if name is None else await self._stored.get(name)
        if entry is None or entry.get("arn") != arn:
            return None
        return Connection(name=entry["name"], arn=arn,
                          authorization_type=AuthorizationType(entry["authorizationType"]),
                          auth_parameters=unseal(entry["sealed"], self.box))


def _not_found(name: str) -> NotFound:
    return NotFound(f"connection {name!r} does not exist", "ResourceNotFound")


def _summary(entry: dict[str, Any]) -> dict[str, Any]:
    summary = {"name": entry["name"], "connectionArn": entry["arn"],
               "connectionState": CONNECTION_STATE,
               "authorizationType": entry["authorizationType"],
               "creationTime": entry["creationTime"], "lastModifiedTime": entry["creationTime"]}
    if "description" in entry:
        summary["description"] = entry["description"]
    return summary


def _describe(entry: dict[str, Any]) -> dict[str, Any]:
    return {**_summary(entry), "authParameters": entry["public"]}
