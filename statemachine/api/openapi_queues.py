"""The OpenAPI description of worker pools' fields (merged into :mod:`.openapi`'s document):
a state machine's ``queue`` (defined, shown) and a described execution's queue and
``waitingForWorker``.  See :mod:`statemachine.service.queues`.

Plain data, so that :mod:`.openapi` can import it without a circle.
"""

from __future__ import annotations

from statemachine.api.openapi_parts import Schema
from statemachine.language.queues import QUEUE_PATTERN

__all__ = ["DEFINED", "DESCRIBED", "MACHINE"]

_QUEUE: Schema = {"type": "string", "pattern": QUEUE_PATTERN, "maxLength": 64}

DEFINED: dict[str, Schema] = {"queue": {
    **_QUEUE, "description": "The queue whose workers take the machine's new executions "
    "(cli.py worker --queues); 'default': the default queue; absent: left as it is"}}
"""The field of ``POST /v1/state-machines``."""

MACHINE: dict[str, Schema] = {"queue": {
    **_QUEUE, "description": "The machine's queue (absent: the default queue)"}}
"""The field of a state machine shown."""

DESCRIBED: dict[str, Schema] = {
    "queue": {**_QUEUE, "description": "The queue whose workers take its work (absent: the "
              "default queue)"},
    "taskQueue": {**_QUEUE, "description": "While it runs in a Task state with an x-queue "
                  "of its own: that queue, whose workers perform the task"},
    "waitingForWorker": {"type": "boolean", "description": "While it runs and its work waits "
                         "on a queue other than the default one (taskQueue, else queue): true "
                         "when no live worker takes that queue's work (it waits until one "
                         "starts)"},
}
"""The fields of a described execution."""
