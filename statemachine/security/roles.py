"""The roles an API key can hold, each including the ones below it."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    """``viewer`` reads; ``operator`` also starts, stops, redrives, answers tasks and
    requeues; ``admin`` may do everything, including defining state machines and managing
    keys and connections."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        """Whether a key of this role may call an operation that needs ``needed``."""
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}
