"""The resources a definition calls: every Task's ``Resource`` and every Map's
``ItemReader`` / ``ResultWriter`` ``Resource``, in Parallel branches and Map processors
too (``ItemProcessor`` or the legacy ``Iterator``), in document order.

Pure and forgiving: it reads a definition that may not even be valid and skips odd parts,
so a report over published samples (``cli.py validate --resources``) can say which
resources a definition needs before anything runs.  Whether this runtime can perform a
resource is the invokers' answer (``statemachine.runtime.invokers.kind``), not this
module's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from statemachine.language.source import pointer_join

__all__ = ["ResourceUse", "resources"]

Field = Literal["Task", "ItemReader", "ResultWriter"]
_PROCESSORS = ("ItemProcessor", "Iterator")
_MAP_RESOURCES: tuple[Field, ...] = ("ItemReader", "ResultWriter")


@dataclass(frozen=True, slots=True)
class ResourceUse:
    """One resource a definition calls: where (a JSON pointer to the ``Resource`` field),
    through which field (a Task, or a Map's item reader or result writer), and what."""

    pointer: str
    field: Field
    resource: str


def resources(definition: Any) -> tuple[ResourceUse, ...]:
    """Every resource ``definition`` calls, nested machines included."""
    return tuple(_machine(definition, ""))


def _machine(machine: Any, pointer: str) -> Iterator[ResourceUse]:
    if not isinstance(machine, dict) or not isinstance(machine.get("States"), dict):
        return
    for name, state in machine["States"].items():
        if isinstance(state, dict):
            yield from _state(state, pointer_join(pointer_join(pointer, "States"), name))


def _state(state: dict[str, Any], at: str) -> Iterator[ResourceUse]:
    if state.get("Type") == "Task" and isinstance(state.get("Resource"), str):
        yield ResourceUse(pointer_join(at, "Resource"), "Task", state["Resource"])
    for field in _MAP_RESOURCES:
        part = state.get(field)
        if isinstance(part, dict) and isinstance(part.get("Resource"), str):
            yield ResourceUse(pointer_join(pointer_join(at, field), "Resource"), field,
                              part["Resource"])
    branches = state.get("Branches")
    for index, branch in enumerate(branches if isinstance(branches, list) else []):
        yield from _machine(branch, pointer_join(pointer_join(at, "Branches"), index))
    for processor in _PROCESSORS:
        yield from _machine(state.get(processor), pointer_join(at, processor))
