"""The item parsers of a Distributed Map's reader, fed byte chunks cut anywhere.

Each source is parsed whole and cut into chunks of 1, 2, 3, 7 and 64 bytes: the items must
not depend on where a chunk ends (a number, a string, a UTF-8 character or a CSV record
split across two reads).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from statemachine.runtime.items import formats
from statemachine.runtime.items.formats import ReaderError

CUTS = (1, 2, 3, 7, 64)


def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for i in range(0, len(data), size):
            yield data[i:i + size]
    return gen()


async def collect(parser: Callable[[AsyncIterator[bytes]], AsyncIterator[Any]],
                  data: bytes) -> list[Any]:
    """The items, the same for every chunk size (asserted)."""
    results = []
    for size in CUTS:
        results.append([item async for item in parser(chunked(data, size))])
    assert all(r == results[0] for r in results)
    return results[0]


async def test_json_array_elements_whatever_the_chunks() -> None:
    data = b' \n[1234, -5.5e3, "a,]\\"b", {"k": [1, {"x": "\xc3\xa9"}]}, [], null, true]\n'
    got = await collect(formats.json_array, data)
    assert got == [1234, -5500.0, 'a,]"b', {"k": [1, {"x": "é"}]}, [], None, True]


async def test_json_empty_array_and_not_a_list() -> None:
    assert await collect(formats.json_array, b"[ ]") == []
    for source in (b'{"Hello": "world"}', b'"text"', b"", b"42"):
        with pytest.raises(ReaderError, match="Attempting to map over non-iterable node."):
            await collect(formats.json_array, source)


async def test_malformed_json_arrays_fail() -> None:
    for source in (b"[1, 2", b"[1 2]", b"[1, }", b'[{"a": 1]'):
        with pytest.raises(ReaderError, match="not valid JSON"):
            await collect(formats.json_array, source)


async def test_json_lines_skip_blank_lines() -> None:
    got = await collect(formats.json_lines, b'{"a": 1}\r\n\n  \n[2]\n"three"')
    assert got == [{"a": 1}, [2], "three"]
    with pytest.raises(ReaderError, match="Line 2 is not valid JSON"):
        await collect(formats.json_lines, b'{"a": 1}\n{oops}\n')


async def test_csv_first_row_headers_pad_and_drop_fields() -> None:
    data = b'id,name,note\n1,"Smith, J","says ""hi""\nover two lines"\n2,x\n\n3,y,z,extra\n'

    async def parse(chunks: AsyncIterator[bytes]) -> AsyncIterator[Any]:
        async for item in formats.csv_items(chunks, ",", None):
            yield item

    assert await collect(parse, data) == [
        {"id": "1", "name": "Smith, J", "note": 'says "hi"\nover two lines'},
        {"id": "2", "name": "x", "note": ""},
        {"id": "3", "name": "y", "note": "z"},
    ]


async def test_csv_given_headers_and_delimiter() -> None:
    async def parse(chunks: AsyncIterator[bytes]) -> AsyncIterator[Any]:
        async for item in formats.csv_items(chunks, "|", ["a", "b"]):
            yield item

    assert await collect(parse, b"1|2\n3|4|5\n") == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


async def test_csv_duplicate_headers_fail_as_on_aws() -> None:
    async def given(chunks: AsyncIterator[bytes]) -> AsyncIterator[Any]:
        async for item in formats.csv_items(chunks, ",", ["H1", "H1"]):
            yield item

    async def first_row(chunks: AsyncIterator[bytes]) -> AsyncIterator[Any]:
        async for item in formats.csv_items(chunks, ",", None):
            yield item

    for parser in (given, first_row):
        with pytest.raises(ReaderError, match="CSV headers cannot contain duplicates."):
            await collect(parser, b"H1,H1\n1,2\n")


async def test_text_that_is_not_utf8_fails() -> None:
    with pytest.raises(ReaderError, match="not valid UTF-8"):
        await collect(formats.json_lines, b'"\xff"\n')
