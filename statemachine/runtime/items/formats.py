"""Items out of an object's bytes, as they stream in: JSON arrays, JSON Lines, CSV.

Every parser takes an async iterator of byte chunks and yields items one at a time, holding
no more than one item (and one read chunk) besides: a 10 GB object is read in constant
memory.  A malformed source raises :class:`ReaderError` with the cause AWS gives, which the
reader reports as ``States.ItemReaderFailed``.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

NOT_A_LIST = "Attempting to map over non-iterable node."
DUPLICATE_HEADERS = "CSV headers cannot contain duplicates."
_WHITESPACE = " \t\r\n"
_AFTER_ITEM = _WHITESPACE + ",]"
"""What may follow a complete element (anything else may be the rest of a number cut short)."""
_DECODER = json.JSONDecoder()


class ReaderError(Exception):
    """The source cannot be read as its ``InputType`` says; ``str()`` is the cause."""


async def text(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The chunks decoded as UTF-8 (a leading byte-order mark dropped)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    try:
        async for chunk in chunks:
            piece = decoder.decode(chunk)
            if piece:
                yield piece
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ReaderError(f"The object is not valid UTF-8 text: {exc.reason}") from exc
    if tail:
        yield tail


async def lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The text's lines, without their ``\\n`` / ``\\r\\n``; a last line without one too."""
    rest = ""
    async for piece in text(chunks):
        rest += piece
        *complete, rest = rest.split("\n")
        for line in complete:
            yield line.removesuffix("\r")
    if rest:
        yield rest.removesuffix("\r")


async def json_array(chunks: AsyncIterator[bytes]) -> AsyncIterator[Any]:
    """The elements of a top-level JSON array, one at a time.

    An element is taken only once a character that may follow it is in the buffer: a number
    cut by a chunk boundary ("12" | "34", "5.5e" | "3") is not taken for a shorter one.
    """
    pieces = text(chunks)
    buffer, at, ended = "", 0, False

    async def more() -> bool:
        nonlocal buffer, at, ended
        if ended:
            return False
        try:
            piece = await anext(pieces)
        except StopAsyncIteration:
            ended = True
            return False
        buffer = buffer[at:] + piece
        at = 0
        return True

    async def skip_space() -> str:
        """The next significant character ('' at the end), ``at`` moved onto it."""
        nonlocal at
        while True:
            while at < len(buffer) and buffer[at] in _WHITESPACE:
                at += 1
            if at < len(buffer):
                return buffer[at]
            if not await more():
                return ""

    if await skip_space() != "[":
        raise ReaderError(NOT_A_LIST)
    at += 1
    if await skip_space() == "]":
        return
    while True:
        while True:
            try:
                item, end = _DECODER.raw_decode(buffer, at)
            except json.JSONDecodeError as exc:
                if await more():
                    continue
                raise ReaderError(f"The object is not valid JSON: {exc.msg}") from exc
            if (end < len(buffer) and buffer[end] in _AFTER_ITEM) or ended or not await more():
                break
        at = end
        yield item
        follower = await skip_space()
        if follower == "]":
            return
        if follower != ",":
            raise ReaderError("The object is not valid JSON: expected ',' or ']' after an element")
        at += 1
        await skip_space()


async def json_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[Any]:
    """One JSON value per line (blank lines skipped)."""
    number = 0
    async for line in lines(chunks):
        number += 1
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReaderError(f"Line {number} is not valid JSON: {exc.msg}") from exc


def _parsed(record: str, delimiter: str) -> list[str]:
    """One whole CSV record's fields (``record`` may span lines inside quotes)."""
    try:
        return next(csv.reader([record], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise ReaderError(f"The CSV record is malformed: {exc}") from exc


async def csv_rows(chunks: AsyncIterator[bytes], delimiter: str) -> AsyncIterator[list[str]]:
    """The CSV records (a quoted field may span lines; empty lines are skipped)."""
    pending = ""
    async for line in lines(chunks):
        pending = f"{pending}\n{line}" if pending else line
        if pending.count('"') % 2:  # inside a quoted field: the record goes on
            continue
        record, pending = pending, ""
        if record:
            yield _parsed(record, delimiter)
    if pending:
        raise ReaderError("The CSV object ends inside a quoted field")


async def csv_items(chunks: AsyncIterator[bytes], delimiter: str,
                    headers: Sequence[str] | None) -> AsyncIterator[dict[str, str]]:
    """CSV records as objects keyed by ``headers`` (None: the first row's).  As AWS: fields
    past the last header are dropped, missing ones are empty strings."""
    rows = csv_rows(chunks, delimiter)
    names: list[str]
    if headers is None:
        try:
            names = await anext(rows)
        except StopAsyncIteration:
            return
    else:
        names = list(headers)
    if len(set(names)) != len(names):
        raise ReaderError(DUPLICATE_HEADERS)
    width = len(names)
    async for row in rows:
        if len(row) < width:
            row = row + [""] * (width - len(row))
        yield dict(zip(names, row, strict=False))


# -- resumable: CSV and JSON Lines items with the byte offset each ends at ------------------

_BOM = b"\xef\xbb\xbf"


async def _byte_lines(chunks: AsyncIterator[bytes], at: int) -> AsyncIterator[tuple[str, int]]:
    """The lines of an object read from byte ``at`` (0: its start, a byte-order mark
    dropped), each with the offset just past its ``\\n``: where reading may resume.  A
    ``\\n`` byte is never inside a UTF-8 sequence, so lines are split before decoding."""
    rest = b""
    offset = at
    first = at == 0
    async for chunk in chunks:
        rest += chunk
        *complete, rest = rest.split(b"\n")
        for line in complete:
            offset += len(line) + 1
            if first:
                line, first = line.removeprefix(_BOM), False
            yield _decoded(line), offset
    if rest:
        offset += len(rest)
        yield _decoded(rest.removeprefix(_BOM) if first else rest), offset


def _decoded(line: bytes) -> str:
    try:
        return line.decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError as exc:
        raise ReaderError(f"The object is not valid UTF-8 text: {exc.reason}") from exc


async def json_lines_at(chunks: AsyncIterator[bytes],
                        at: int) -> AsyncIterator[tuple[Any, int]]:
    """:func:`json_lines` from byte ``at``, each value with the offset it ends at."""
    async for line, end in _byte_lines(chunks, at):
        if not line.strip():
            continue
        try:
            yield json.loads(line), end
        except json.JSONDecodeError as exc:
            raise ReaderError(f"A line is not valid JSON: {exc.msg}") from exc


async def csv_items_at(chunks: AsyncIterator[bytes], delimiter: str,
                       headers: Sequence[str] | None,
                       at: int) -> AsyncIterator[tuple[dict[str, str], list[str], int]]:
    """:func:`csv_items` from byte ``at`` (past the header row, when resuming: ``headers``
    are then the ones read at the start), each item with the headers and the offset it
    ends at."""
    names: list[str] | None = list(headers) if headers is not None else None
    if names is not None and len(set(names)) != len(names):
        raise ReaderError(DUPLICATE_HEADERS)
    pending = ""
    async for line, end in _byte_lines(chunks, at):
        pending = f"{pending}\n{line}" if pending else line
        if pending.count('"') % 2:  # inside a quoted field: the record goes on
            continue
        record, pending = pending, ""
        if not record:
            continue
        row = _parsed(record, delimiter)
        if names is None:
            names = row
            if len(set(names)) != len(names):
                raise ReaderError(DUPLICATE_HEADERS)
            continue
        if len(row) < len(names):
            row = row + [""] * (len(names) - len(row))
        yield dict(zip(names, row, strict=False)), names, end
    if pending:
        raise ReaderError("The CSV object ends inside a quoted field")
