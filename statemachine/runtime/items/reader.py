"""Reads a Distributed Map's items: the task of resource ``statemachine:ReadItems``.

The interpreter sends a :class:`~statemachine.language.items.ReadRequest` (the ItemReader's
``Resource``, its evaluated ``Parameters``/``Arguments``, its ``ReaderConfig``); the answer
is ``TaskSucceeded`` with the list of items, or ``TaskFailed`` with
``States.ItemReaderFailed`` and AWS's cause.  Readers, by resource and ``InputType``:

* ``arn:aws:states:::s3:getObject`` — ``JSON`` (a top-level array), ``JSONL`` (a value per
  line), ``CSV`` (``CSVHeaderLocation`` ``FIRST_ROW`` or ``GIVEN`` with ``CSVHeaders``;
  ``CSVDelimiter`` COMMA, PIPE, SEMICOLON, SPACE or TAB; every field a string), ``MANIFEST``
  (an S3 Inventory ``manifest.json``: the rows of its gzipped CSV files, keyed by its
  ``fileSchema``);
* ``arn:aws:states:::s3:listObjectsV2`` — the objects under ``Bucket``/``Prefix``, each
  ``{"Etag", "Key", "LastModified" (epoch seconds), "Size", "StorageClass"}``.

Objects are streamed (:mod:`.formats`) and reading stops at ``MaxItems``: memory holds the
items read so far, never the object's text.  A request with ``Page`` gets one page
(``{"Items", "More", "Cursor"?}``): a CSV or JSON Lines object is read from the byte the page
before ended at (its ``Cursor``), any other source streamed again past the items before it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator
from typing import Any, cast

from statemachine.interpreter.commands import InvokeTask
from statemachine.language import items as I
from statemachine.runtime.invokers.base import TaskResult, failed, succeeded
from statemachine.runtime.items import formats
from statemachine.runtime.items.formats import ReaderError
from statemachine.runtime.items.s3 import S3_ERRORS, S3Source, s3_failed

GET_OBJECT = "arn:aws:states:::s3:getObject"
LIST_OBJECTS = "arn:aws:states:::s3:listObjectsV2"
_GET_PARAMETERS = ("VersionId", "IfMatch", "IfNoneMatch", "Range", "RequestPayer",
                   "ExpectedBucketOwner", "SSECustomerAlgorithm", "SSECustomerKey",
                   "SSECustomerKeyMD5")


class ItemReader:
    """Performs ``statemachine:ReadItems`` tasks over one :class:`S3Source`."""

    def __init__(self, source: S3Source) -> None:
        self.source = source

    async def invoke(self, command: InvokeTask) -> TaskResult:
        request = cast(I.ReadRequest, command.input)
        try:
            items = await self.read(request)
        except ReaderError as exc:
            return failed(command, I.ITEM_READER_FAILED, str(exc))
        except S3_ERRORS as exc:
            return s3_failed(command, I.ITEM_READER_FAILED, exc)
        return succeeded(command, items)

    async def read(self, request: I.ReadRequest) -> list[Any] | I.ItemsPage:
        """Every item (up to ``MaxItems``, 0 meaning all), or with ``Page`` the page it asks
        for and whether more follow.  A page is found by streaming the source again and
        skipping the items before it: it holds one page, whatever the source's size."""
        limit = request["ReaderConfig"]["MaxItems"] or I.MAX_ITEMS_LIMIT
        page = request.get("Page")
        if page is not None and _resumable(request):
            return await self._page_at(request, page, limit)
        skip, size = (page["Skip"], page["Size"]) if page is not None else (0, limit)
        end = min(limit, skip + size)
        out: list[Any] = []
        seen = 0
        more = False
        async for item in self.items(request):
            if seen >= end:  # one item past the page: there are more (within MaxItems?)
                more = seen < limit
                break
            if seen >= skip:
                out.append(item)
            seen += 1
        if page is None:
            return out
        return {"Items": out, "More": more}

    async def _page_at(self, request: I.ReadRequest, page: I.ReadPage,
                       limit: int) -> I.ItemsPage:
        """A page of a CSV or JSON Lines object, read from where the page before ended (its
        ``Cursor``: the byte offset, and the CSV headers read at the start): the object is
        read once over all its pages, from a ``Range``."""
        args, config = request["Arguments"], request["ReaderConfig"]
        cursor = dict(page.get("Cursor") or {})
        at = int(cursor.get("Offset") or 0)
        extra = {k: v for k, v in args.items() if k in _GET_PARAMETERS}
        if at:
            extra["Range"] = f"bytes={at}-"
        chunks = self.source.chunks(args["Bucket"], args["Key"], **extra)
        want = max(0, min(limit, page["Skip"] + page["Size"]) - page["Skip"])
        out: list[Any] = []
        headers: list[str] | None = cursor.get("Headers")
        more = False
        end = at
        if config["InputType"] == "JSONL":
            pairs: AsyncIterator[tuple[Any, int]] = formats.json_lines_at(chunks, at)
        else:
            given = config["CSVHeaderLocation"] == "GIVEN"
            names = config["CSVHeaders"] if given else headers
            pairs = _with_headers(formats.csv_items_at(
                chunks, I.DELIMITERS.get(config["CSVDelimiter"], ","), names, at), cursor)
        async for item, offset in pairs:
            if len(out) >= want:
                more = page["Skip"] + len(out) < limit
                break
            out.append(item)
            end = offset
        if config["InputType"] == "CSV":
            headers = cursor.get("Headers")
        return {"Items": out, "More": more, "Cursor": {"Offset": end, "Headers": headers}}

    def items(self, request: I.ReadRequest) -> AsyncIterator[Any]:
        """The items one at a time, as the source streams in."""
        resource = request["Resource"]
        args = request["Arguments"]
        config = request["ReaderConfig"]
        bucket, key = args.get("Bucket"), args.get("Key")
        if not isinstance(bucket, str) or not bucket:
            raise ReaderError("The ItemReader's parameters must name a 'Bucket'")
        if resource == LIST_OBJECTS:
            return self._listed(bucket, args)
        if resource != GET_OBJECT:
            raise ReaderError(f"The ItemReader resource '{resource}' is not supported; "
                              f"supported are {GET_OBJECT} and {LIST_OBJECTS}")
        if not isinstance(key, str) or not key:
            raise ReaderError("The ItemReader's parameters must name a 'Key'")
        extra = {k: v for k, v in args.items() if k in _GET_PARAMETERS}
        chunks = self.source.chunks(bucket, key, **extra)
        match config["InputType"]:
            case "JSON" | None:
                return formats.json_array(chunks)
            case "JSONL":
                return formats.json_lines(chunks)
            case "CSV":
                delimiter = I.DELIMITERS.get(config["CSVDelimiter"], ",")
                given = config["CSVHeaderLocation"] == "GIVEN"
                return formats.csv_items(chunks, delimiter, config["CSVHeaders"] if given else None)
            case "MANIFEST":
                return self._manifest(bucket, key)
            case other:
                raise ReaderError(f"InputType '{other}' is not supported")

    async def _listed(self, bucket: str, args: dict[str, Any]) -> AsyncIterator[Any]:
        async for entry in self.source.objects(bucket, **args):
            modified = entry.get("LastModified")
            yield {
                "Etag": entry.get("ETag"),
                "Key": entry.get("Key"),
                "LastModified": int(modified.timestamp()) if modified is not None else None,
                "Size": entry.get("Size"),
                "StorageClass": entry.get("StorageClass"),
            }

    async def _manifest(self, bucket: str, key: str) -> AsyncIterator[Any]:
        """The rows of the CSV files an S3 Inventory manifest lists (they are in its bucket)."""
        spec = await _whole_json(self.source.chunks(bucket, key))
        if not isinstance(spec, dict) or not isinstance(spec.get("files"), list):
            raise ReaderError("The manifest is not an S3 Inventory manifest (no 'files' list)")
        if str(spec.get("fileFormat", "CSV")).upper() != "CSV":
            raise ReaderError(f"S3 Inventory files of format '{spec.get('fileFormat')}' are "
                              "not supported (only CSV)")
        columns = [c.strip() for c in str(spec.get("fileSchema", "")).split(",") if c.strip()]
        if not columns:
            raise ReaderError("The manifest has no 'fileSchema'")
        for file in spec["files"]:
            name = file.get("key") if isinstance(file, dict) else None
            if not isinstance(name, str):
                raise ReaderError("A manifest file entry has no 'key'")
            chunks = self.source.chunks(bucket, name)
            if name.endswith(".gz"):
                chunks = _gunzip(chunks)
            async for row in formats.csv_items(chunks, ",", columns):
                yield row



def _resumable(request: I.ReadRequest) -> bool:
    """Whether the source can be read from where a page ended: a CSV or JSON Lines object
    read whole (no ``Range`` of the user's)."""
    args = request["Arguments"]
    return (request["Resource"] == GET_OBJECT
            and request["ReaderConfig"]["InputType"] in ("CSV", "JSONL")
            and "Range" not in args and isinstance(args.get("Bucket"), str)
            and bool(args.get("Bucket")) and isinstance(args.get("Key"), str)
            and bool(args.get("Key")))


async def _with_headers(rows: AsyncIterator[tuple[dict[str, str], list[str], int]],
                        cursor: dict[str, Any]) -> AsyncIterator[tuple[Any, int]]:
    """CSV items and their end offsets; the headers they were read with are noted in
    ``cursor`` (the next page resumes past the header row with them)."""
    async for item, names, end in rows:
        cursor["Headers"] = names
        yield item, end


async def _whole_json(chunks: AsyncIterator[bytes]) -> Any:
    """One small JSON document (a manifest), read whole."""
    data = b"".join([c async for c in chunks])
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ReaderError(f"The manifest is not valid JSON: {exc}") from exc


async def _gunzip(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    decompressor = zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
    try:
        async for chunk in chunks:
            out = decompressor.decompress(chunk)
            if out:
                yield out
        tail = decompressor.flush()
    except zlib.error as exc:
        raise ReaderError(f"An inventory file is not valid gzip: {exc}") from exc
    if tail:
        yield tail
