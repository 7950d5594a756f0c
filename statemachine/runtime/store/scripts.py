"""The Lua scripts of ``lua/`` and their reply codes.

Every multi-key write of the runtime is one of these scripts (atomic on a single Redis and
on a Redis Cluster alike, since each touches the keys of one shard only, or one global
hash).  Each file begins with the list of its KEYS and names its ARGV; the numbers it
replies with are named there (``local CREATED = 1``) and, with the same names, in the
``IntEnum`` classes below (``tests/runtime/test_codec.py`` checks they agree).

A :class:`Script` runs by SHA (EVALSHA) and its source is loaded again when Redis answers
NOSCRIPT (after a restart empties the script cache).
"""

from __future__ import annotations

import hashlib
from enum import IntEnum
from pathlib import Path

__all__ = ["LUA_DIR", "REPLIES", "SCRIPTS", "AliasReply", "ArchiveReply", "CallbackReply", "CommitReply",
           "PromoteReply", "PublishReply", "RaiseReply", "RedriveReply", "RestoreReply", "Script", "StartReply",
           "TagReply", "UnpublishReply", "UpdateRunReply"]

LUA_DIR = Path(__file__).resolve().parent / "lua"
SCRIPTS = ("commit", "promote", "start", "callback", "dead", "requeue", "sweep",
           "raise_version", "redrive", "publish", "unpublish", "alias", "tag", "hand_over",
           "archive", "restore", "update_run")


class StartReply(IntEnum):
    """``start.lua``'s first reply value."""

    CREATED = 1
    EXISTS = 0
    OTHER_INPUT = -1
    NO_VERSION = -2
    NAME_TAKEN = -3


class CommitReply(IntEnum):
    """``commit.lua``'s first reply value (REFUSED comes with the failed guard's number)."""

    APPLIED = 1
    REFUSED = 0


class CallbackReply(IntEnum):
    ENQUEUED = 1
    NOT_AWAITED = 0
    NO_RECORD = -1
    OTHER_QUEUE = -2
    """Only inside the store: it comes with the execution's queue, and
    ``Callbacks.callback`` calls again with that queue's stream."""


class PromoteReply(IntEnum):
    """``promote.lua``'s second reply value when no timer is left on the shard."""

    NO_TIMER = -1


class RaiseReply(IntEnum):
    RAISED = 1
    KEPT = 0


class RedriveReply(IntEnum):
    """``redrive.lua``'s first reply value."""

    REDRIVEN = 1
    REPEATED = 2
    NO_RECORD = 0
    NOT_REDRIVABLE = -1
    CHANGED = -2
    WINDOW_PASSED = -3


class PublishReply(IntEnum):
    PUBLISHED = 1
    EXISTS = 0
    FULL = -1
    GONE = -2


class UnpublishReply(IntEnum):
    DELETED = 1
    ABSENT = 0
    ROUTED = -1


class AliasReply(IntEnum):
    SAVED = 1
    TAKEN = 0
    ABSENT = -1
    NO_VERSION = -2
    FULL = -3
    GONE = -4


class ArchiveReply(IntEnum):
    ARCHIVED = 1
    CHANGED = 0
    GONE = -1


class RestoreReply(IntEnum):
    RESTORED = 1
    LIVE = 0
    CHANGED = -1
    GONE = -2


class UpdateRunReply(IntEnum):
    UPDATED = 1
    NO_RUN = 0
    ENDED = 2


class TagReply(IntEnum):
    TAGGED = 1
    TOO_MANY = 0


REPLIES: dict[str, type[IntEnum]] = {
    "start": StartReply, "commit": CommitReply, "callback": CallbackReply,
    "promote": PromoteReply, "raise_version": RaiseReply, "redrive": RedriveReply,
    "publish": PublishReply, "unpublish": UnpublishReply, "alias": AliasReply, "tag": TagReply,
    "archive": ArchiveReply, "restore": RestoreReply, "update_run": UpdateRunReply,
}
"""The reply codes of each script that has any (the test reads the Lua side's)."""


class Script:
    """One Lua file and its SHA (run through :class:`~.pipe.ScriptBatch`: EVALSHA, loaded
    again on NOSCRIPT)."""

    __slots__ = ("name", "sha", "source")

    def __init__(self, name: str) -> None:
        self.name = name
        self.source = (LUA_DIR / f"{name}.lua").read_text()
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()
