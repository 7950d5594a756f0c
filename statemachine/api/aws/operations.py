"""Every operation of the AWS API this service answers: one table, gathered from the
modules that implement them (each exports its own ``OPERATIONS``)."""

from __future__ import annotations

from statemachine.api.aws import (
    activities,
    catalog,
    executions,
    express,
    map_runs,
    redrive,
    tasks,
    validation,
)
from statemachine.api.aws.call import Operation

__all__ = ["OPERATIONS"]

OPERATIONS: dict[str, Operation] = {
    **executions.OPERATIONS,
    **activities.OPERATIONS,
    **tasks.OPERATIONS,
    **validation.OPERATIONS,
    **catalog.OPERATIONS,
    **express.OPERATIONS,
    **redrive.OPERATIONS,
    **map_runs.OPERATIONS,
}
