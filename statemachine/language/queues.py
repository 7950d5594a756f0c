"""Queue names: which pool of workers takes an execution's work (README "Worker pools").

A state machine names its queue outside its definition (REST ``queue``, the AWS API's tag
:data:`QUEUE_TAG`); a Task state may name one for its own task in the extension field
:data:`QUEUE_FIELD`, the one field outside ASL a definition may carry (the ``x-`` prefix
marks it as this service's, as OpenAPI's extensions are marked).  A worker takes the work
of the queues it is given (``cli.py worker --queues``), the default queue when none.

The name becomes part of Redis keys (``sm:{s3}:q:<name>:ready``): letters, digits and
``_.-`` only, so it can hold no hash tag brace and no key separator.  The schema
(``schemas/asl.schema.json``, ``$defs/queueName``) states the same pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = ["DEFAULT_QUEUE", "QUEUE_FIELD", "QUEUE_PATTERN", "QUEUE_TAG", "definition_queues",
           "lane_name", "queue_problem"]

DEFAULT_QUEUE = "default"
"""The queue of every machine and task that names none: today's keys, today's workers."""
QUEUE_FIELD = "x-queue"
"""The Task state field naming the queue its task is performed on."""
QUEUE_TAG = "statemachine:queue"
"""The state machine tag naming its queue (AWS's API has no field for it)."""
QUEUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_QUEUE = re.compile(QUEUE_PATTERN)


def queue_problem(name: Any) -> str | None:
    """What is wrong with queue name ``name``, or None."""
    if not isinstance(name, str):
        return "a queue name must be a string"
    if not _QUEUE.match(name):
        return (f"queue name {name!r} must be 1 to 64 letters, digits, '_', '.' or '-', "
                "beginning with a letter or digit")
    return None


def lane_name(queue: str | None) -> str | None:
    """The queue as records and keys carry it: None for the default queue."""
    return None if queue is None or queue == DEFAULT_QUEUE else queue


def definition_queues(definition: Any) -> set[str]:
    """The queues the Task states of a (validated) definition name, nested ones too."""
    return {state[QUEUE_FIELD] for state in _states(definition)
            if isinstance(state.get(QUEUE_FIELD), str)}


def _states(machine: Any) -> Iterator[dict[str, Any]]:
    states = machine.get("States") if isinstance(machine, dict) else None
    if not isinstance(states, dict):
        return
    for state in states.values():
        if not isinstance(state, dict):
            continue
        yield state
        for sub in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", ())):
            yield from _states(sub)
