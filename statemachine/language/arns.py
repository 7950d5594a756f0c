"""Amazon Resource Names as Step Functions writes them, and the one place they are built
and read.

::

    arn:aws:states:<region>:<account>:stateMachine:<name>             a state machine
    arn:aws:states:<region>:<account>:stateMachine:<name>:<version>   one published version
    arn:aws:states:<region>:<account>:stateMachine:<name>:<alias>     an alias
    arn:aws:states:<region>:<account>:execution:<machine>:<name>      a STANDARD execution
    arn:aws:states:<region>:<account>:express:<machine>:<name>:<id>   an EXPRESS execution
    arn:aws:states:<region>:<account>:activity:<name>                 an activity
    arn:aws:states:<region>:<account>:mapRun:<machine>/<label>:<id>   a Distributed Map's run
    arn:aws:states:<region>:<account>:execution:<machine>/<label>:<name>  a Map Run's child

The region and account are the service's (:class:`Place`; ``STATEMACHINE_REGION`` and
``STATEMACHINE_ACCOUNT``, by default ``us-east-1`` and ``123456789012``).  :func:`parse`
reads any of them back into a typed value, or raises :class:`InvalidArn` naming what is
wrong; it does not check that the region and account are ours (the caller does, so that
the message can say which).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DEFAULT_ACCOUNT", "DEFAULT_PLACE", "DEFAULT_REGION", "ActivityArn", "Arn", "ExecutionArn",
    "InvalidArn", "MachineArn", "MapRunArn", "Place", "name_problem", "parse",
]

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
MAX_ARN = 2048
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}|local")
_ACCOUNT = re.compile(r"[0-9]{12}")
_VERSION = re.compile(r"[1-9][0-9]{0,8}")
_PART = re.compile(r"[^:]{1,80}")
MAX_NAME = 80
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


def name_problem(name: object) -> str | None:
    """What makes ``name`` no state machine, execution or activity name AWS accepts (None:
    nothing): empty, longer than 80 characters, or a character AWS refuses."""
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if len(name) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    bad = _BAD_NAME.search(name)
    if bad is not None:
        return f"{name!r} contains the character {bad.group()!r}, which is not allowed"
    return None


class InvalidArn(ValueError):
    """Not an ARN of the kind asked for; the message says why (AWS's ``InvalidArn``)."""


@dataclass(frozen=True, slots=True)
class Place:
    """The region and account every ARN the service writes carries."""

    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT

    def __post_init__(self) -> None:
        if not _REGION.fullmatch(self.region):
            raise ValueError(f"region {self.region!r} is not a region name like us-east-1")
        if not _ACCOUNT.fullmatch(self.account):
            raise ValueError(f"account {self.account!r} is not 12 digits")

    @property
    def prefix(self) -> str:
        return f"arn:aws:states:{self.region}:{self.account}"

    def machine(self, name: str, qualifier: int | str | None = None) -> str:
        """A state machine's ARN, or of one of its versions (int) or aliases (str)."""
        base = f"{self.prefix}:stateMachine:{name}"
        return base if qualifier is None else f"{base}:{qualifier}"

    def execution(self, machine: str, name: str, *, express_id: str | None = None) -> str:
        """A STANDARD execution's ARN, or an EXPRESS one's when ``express_id`` is given."""
        if express_id is not None:
            return f"{self.prefix}:express:{machine}:{name}:{express_id}"
        return f"{self.prefix}:execution:{machine}:{name}"

    def activity(self, name: str) -> str:
        return f"{self.prefix}:activity:{name}"

    @property
    def role(self) -> str:
        """The role ARN executions report (``$$.Execution.RoleArn``, ExecutionStarted)."""
        return f"arn:aws:iam::{self.account}:role/statemachine"


DEFAULT_PLACE = Place()


@dataclass(frozen=True, slots=True)
class MachineArn:
    """A state machine, one of its versions (``version``) or an alias (``alias``)."""

    place: Place
    name: str
    version: int | None = None
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class ExecutionArn:
    """An execution of ``machine`` named ``name`` (``express_id``: an EXPRESS execution's)."""

    place: Place
    machine: str
    name: str
    express_id: str | None = None


@dataclass(frozen=True, slots=True)
class ActivityArn:
    place: Place
    name: str


@dataclass(frozen=True, slots=True)
class MapRunArn:
    """A Map Run: ``machine/label`` and the run's ``id``."""

    place: Place
    machine: str
    id: str


Arn = MachineArn | ExecutionArn | ActivityArn | MapRunArn


def parse(arn: object) -> Arn:
    """Read a Step Functions ARN; :class:`InvalidArn` when it is not one."""
    if not isinstance(arn, str) or not arn:
        raise InvalidArn("Invalid Arn: the ARN must be a non-empty string")
    if len(arn) > MAX_ARN:
        raise InvalidArn(f"Invalid Arn: '{arn[:64]}...' is longer than {MAX_ARN} characters")
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[1] != "aws" or parts[2] != "states":
        raise InvalidArn(f"Invalid Arn: '{arn}'")
    try:
        place = Place(parts[3], parts[4])
    except ValueError as bad:
        raise InvalidArn(f"Invalid Arn: '{arn}': {bad}") from None
    kind, rest = parts[5], parts[6:]
    if not all(_PART.fullmatch(p) for p in rest):
        raise InvalidArn(f"Invalid Arn: '{arn}'")
    match kind, rest:
        case "stateMachine", [name]:
            return MachineArn(place, name)
        case "stateMachine", [name, qualifier]:
            if _VERSION.fullmatch(qualifier):
                return MachineArn(place, name, version=int(qualifier))
            return MachineArn(place, name, alias=qualifier)
        case "execution", [machine, name]:
            return ExecutionArn(place, machine, name)
        case "express", [machine, name, express_id]:
            return ExecutionArn(place, machine, name, express_id)
        case "activity", [name]:
            return ActivityArn(place, name)
        case "mapRun", [machine, run_id] if "/" in machine:
            return MapRunArn(place, machine, run_id)
        case _:
            raise InvalidArn(f"Invalid Arn: '{arn}'")
