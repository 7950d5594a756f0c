"""A Distributed Map's item source (``ItemReader``) and batching (``ItemBatcher``), compiled.

The interpreter evaluates these fields (pure) and asks the runtime to read the items with an
``InvokeTask`` whose ``resource`` is :data:`READ_ITEMS` and whose ``input`` is a
:class:`ReadRequest`; the runtime (``statemachine.runtime.items``) answers with the list of
items, or ``States.ItemReaderFailed``.  This module is the one place that request's shape is
written down, for both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

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


PAGE_ITEMS = 10_000
"""Items a Distributed Map reads at a time (rounded up to a multiple of a literal
``MaxItemsPerBatch``): the next page is read as the children of the last one start, so
memory holds about two pages of items, however many the source has."""


class ReadPage(TypedDict):
    """Which page a :class:`ReadRequest` asks for: ``Size`` items after the first ``Skip``;
    ``Cursor``: where the page before ended, as the reader said (opaque here)."""

    Size: int
    Skip: int
    Cursor: NotRequired[Any]


class ItemsPage(TypedDict):
    """The result of a paged read: the page's ``Items``, whether ``More`` follow (within
    ``MaxItems``) and, for a source that can resume there, the ``Cursor`` of its end."""

    Items: list[Any]
    More: bool
    Cursor: NotRequired[Any]


class ReadRequest(TypedDict):
    """The ``input`` of a :data:`READ_ITEMS` task: the reader's resource, its evaluated
    ``Parameters``/``Arguments`` (``Bucket``, ``Key``, ``Prefix``...), its config; with
    ``Page``, one page of items (an :class:`ItemsPage`), else all of them (a list)."""

    Resource: str
    Arguments: dict[str, Any]
    ReaderConfig: ReaderConfig
    Page: NotRequired[ReadPage]


WRITE_RESULTS = "statemachine:WriteResults"
"""The ``resource`` of the ``InvokeTask`` that writes a Map Run's results to S3 (AWS's
``ResultWriter``); its ``input`` is a :class:`WriteRequest`."""

RESULT_WRITER_FAILED = "States.ResultWriterFailed"
PUT_OBJECT = "arn:aws:states:::s3:putObject"
"""The one ``ResultWriter`` resource AWS has."""
OUTPUT_TYPES = ("JSON", "JSONL")
TRANSFORMATIONS = ("NONE", "COMPACT", "FLATTEN")


@dataclass(frozen=True, slots=True)
class ResultWriter:
    """``ResultWriter``: ``resource`` None when only ``WriterConfig`` is given (the results
    are transformed, not exported); ``arguments`` the compiled ``Parameters``/``Arguments``;
    ``transformation``/``output_type`` as given (None: AWS's default for the case)."""

    resource: str | None
    arguments: Any
    transformation: str | None
    output_type: str | None


class WriterConfig(TypedDict):
    """``WriterConfig`` resolved: NONE and JSON when the results are exported without one."""

    Transformation: str
    OutputType: str


class StoredResults(TypedDict):
    """Where a durable runtime left a Map Run's outcomes (its children group's results, by
    index ``0 .. Total-1``): the writer reads them from there a page at a time, so neither the
    task nor the worker ever holds them all."""

    Execution: str
    Group: str
    Total: int


class WriteRequest(TypedDict):
    """The ``input`` of a :data:`WRITE_RESULTS` task: where (``Bucket``, ``Prefix``), how
    (``WriterConfig``), the Map Run and its children's ends (``Results``: each child's
    :class:`~statemachine.interpreter.events.ChildOutcome`, by index; or, with ``Stored``,
    none here: they are read where the runtime keeps them)."""

    Bucket: str
    Prefix: str
    WriterConfig: WriterConfig
    MapRunArn: str
    Results: list[dict[str, Any]]
    Stored: NotRequired[StoredResults]
