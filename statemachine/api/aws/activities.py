"""The AWS operations on activities: create, describe, delete, list, GetActivityTask."""

from __future__ import annotations

from statemachine.api.aws.call import Operation

__all__ = ["OPERATIONS"]

OPERATIONS: dict[str, Operation] = {}
