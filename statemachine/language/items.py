"""A Distributed Map's item source (``ItemReader``) and batching (``ItemBatcher``), compiled.

The interpreter evaluates these fields (pure) and asks the runtime to read the items with an
``InvokeTask`` whose ``resource`` is :data:`READ_ITEMS` and whose ``input`` is a
:class:`ReadRequest`; the runtime (``statemachine.runtime.items``) answers with the list of
items, or ``States.ItemReaderFailed``.  This module is the one place that request's shape is
written down, for both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

READ_ITEMS = "statemachine:ReadItems"
"""The ``resource`` of the ``InvokeTask`` that reads a Distributed Map's items (not an ASL
resource: the ItemReader's own ``Resource`` is in the request)."""

ITEM_READER_FAILED = "States.ItemReaderFailed"
MAX_ITEMS_LIMIT = 100_000_000
"""AWS's ceiling on ``MaxItems``: a larger value reads at most this many."""
INPUT_TYPES = ("CSV", "JSON", "JSONL", "MANIFEST")
DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}
"""``ReaderConfig.CSVDelimiter`` names and the character each stands for."""


@dataclass(frozen=True, slots=True)
class ItemReader:
    """``ItemReader``: ``arguments`` is the compiled ``Parameters`` (JSONPath) or ``Arguments``
    (JSONata) template (None: none); ``max_items`` a number field spec
    (``("const" | "path" | "expr", x)``, see ``model._number_field``) or None."""

    resource: str
    arguments: Any
    input_type: str | None
    csv_header_location: str
    csv_headers: tuple[str, ...] | None
    csv_delimiter: str
    max_items: Any


@dataclass(frozen=True, slots=True)
class ItemBatcher:
    """``ItemBatcher``: number field specs (or None) and the compiled ``BatchInput`` (or None)."""

    max_items: Any
    max_bytes: Any
    batch_input: Any


class ReaderConfig(TypedDict):
    """``ReaderConfig`` as the runtime gets it: every field resolved, ``MaxItems`` 0 for all."""

    InputType: str | None
    CSVHeaderLocation: str
    CSVHeaders: list[str] | None
    CSVDelimiter: str
    MaxItems: int


class ReadRequest(TypedDict):
    """The ``input`` of a :data:`READ_ITEMS` task: the reader's resource, its evaluated
    ``Parameters``/``Arguments`` (``Bucket``, ``Key``, ``Prefix``...), its config."""

    Resource: str
    Arguments: dict[str, Any]
    ReaderConfig: ReaderConfig
