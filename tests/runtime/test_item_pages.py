"""A Distributed Map reads its items a page at a time (durable runtime, real Redis, moto's S3).

The page size is made small here (``PAGE_ITEMS``) so that a few dozen CSV lines span
several pages: the Map Run's group opens with the first page and grows page by page as its
children start; every item is run once, under its own index, whatever the pages; a worker
that dies between pages leaves the next read to another; ``MaxItems`` and the tolerated
failures count over the whole run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

import pytest

from statemachine.language import items as I
from statemachine.runtime.worker import Worker
from tests.runtime.test_item_reader import dmap, get_object, s3

__all__ = ["s3"]  # its fixture: a bucket on moto, the reader pointed there

PAGE = 7
CSV = {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(I, "PAGE_ITEMS", PAGE)


def _rows(s3: Any, n: int) -> None:
    s3.put_object(Bucket=s3.bucket, Key="data",
                  Body=("id\n" + "".join(f"{i}\n" for i in range(n))).encode())


def _indexed(**fields: Any) -> dict[str, Any]:
    """Children that answer with their item's index and value (ItemSelector)."""
    return dmap(get_object(CSV), ItemSelector={"index.$": "$$.Map.Item.Index",
                                               "id.$": "$$.Map.Item.Value.id"}, **fields)


async def _run(rt: Any, definition: dict[str, Any], input: Any) -> tuple[str, dict[str, Any]]:
    name = f"pages-{uuid.uuid4().hex[:8]}"
    await rt.service.define(name, definition)
    started = await rt.service.start(name, input)
    return started["executionId"], await rt.finished(started["executionId"])


async def test_every_item_once_in_order_of_index_over_several_pages(
        runtime: Any, s3: Any, redis: Any, caplog: pytest.LogCaptureFixture) -> None:
    n = 40  # six pages of 7, the last of 5
    _rows(s3, n)
    caplog.set_level(logging.INFO, logger="werkzeug")  # moto's server notes every request
    async with runtime() as rt:
        xid, done = await _run(rt, _indexed(MaxConcurrency=3), {"bucket": s3.bucket})
        [run] = await rt.service.map_runs.of_execution(xid)
    reads = [r for r in caplog.records if f"GET /{s3.bucket}/data" in r.getMessage()]
    assert len(reads) == 6  # one read per page
    assert done["status"] == "SUCCEEDED", (done.get("error"), done.get("cause"))
    assert done["output"] == [{"index": i, "id": str(i)} for i in range(n)]
    assert run["itemCounts"]["total"] == n and run["executionCounts"]["succeeded"] == n
    assert [k async for k in redis.scan_iter(match=f"*:g*:{xid}:*")] == []  # group gone


async def test_batches_over_pages_cut_none_short(runtime: Any, s3: Any) -> None:
    _rows(s3, 23)  # pages of 9 (7 rounded up to 3 batches of 3): 9 + 9 + 5 items
    definition = dmap(get_object(CSV), ItemBatcher={"MaxItemsPerBatch": 3}, processor={
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": "$.Items", "End": True}}})
    async with runtime() as rt:
        _, done = await _run(rt, definition, {"bucket": s3.bucket})
    assert done["status"] == "SUCCEEDED", done
    assert [len(b) for b in done["output"]] == [3] * 7 + [2]
    assert [row["id"] for b in done["output"] for row in b] == [str(i) for i in range(23)]


async def test_max_items_counts_over_the_pages(runtime: Any, s3: Any) -> None:
    _rows(s3, 40)
    definition = _indexed(ItemReader={**get_object(CSV), "ReaderConfig": {**CSV, "MaxItems": 17}})
    async with runtime() as rt:
        _, done = await _run(rt, definition, {"bucket": s3.bucket})
    assert done["status"] == "SUCCEEDED", done
    assert [o["index"] for o in done["output"]] == list(range(17))


def _failing(tolerated: dict[str, Any]) -> dict[str, Any]:
    """Children that fail for ids ending in 3."""
    return dmap(get_object(CSV), **tolerated, processor={
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "C", "States": {
            "C": {"Type": "Choice", "Default": "Ok", "Choices": [
                {"Variable": "$.id", "StringMatches": "*3", "Next": "Bad"}]},
            "Ok": {"Type": "Pass", "End": True},
            "Bad": {"Type": "Fail", "Error": "Row.Bad"}}})


async def test_tolerated_failures_count_over_the_pages(runtime: Any, s3: Any) -> None:
    _rows(s3, 40)  # ids ending in 3: 3, 13, 23, 33 fail, on four different pages
    async with runtime() as rt:
        _, within = await _run(rt, _failing({"ToleratedFailureCount": 4, "MaxConcurrency": 2}), {"bucket": s3.bucket})
        _, beyond = await _run(rt, _failing({"ToleratedFailureCount": 3, "MaxConcurrency": 2}), {"bucket": s3.bucket})
    assert within["status"] == "SUCCEEDED", within
    assert [o.get("Error") for o in within["output"]].count("Row.Bad") == 4
    assert beyond["status"] == "FAILED" and beyond["error"] == "States.ExceedToleratedFailureThreshold"


async def test_a_later_page_that_cannot_be_read_fails_the_map_run(
        runtime: Any, s3: Any) -> None:
    s3.put_object(Bucket=s3.bucket, Key="data",
                  Body=b"[" + b",".join(b'{"n": %d}' % i for i in range(10)) + b", oops]")
    definition = dmap(get_object({"InputType": "JSON"}), MaxConcurrency=2)
    async with runtime() as rt:
        xid, done = await _run(rt, definition, {"bucket": s3.bucket})
        events = [e["type"] for e in await rt.events(xid)]
        [run] = await rt.service.map_runs.of_execution(xid)
    assert done["status"] == "FAILED" and done["error"] == "States.ItemReaderFailed", done
    assert done["cause"].startswith("The object is not valid JSON")
    assert run["status"] == "FAILED"
    assert run["executionCounts"]["total"] == 7  # the first page had run (or was stopped)
    assert events[-3:] == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]


async def test_a_worker_killed_between_pages_leaves_the_next_to_another(
        runtime: Any, s3: Any) -> None:
    """The first worker dies as soon as the first page's children have been started; the
    next page's read (a task dispatch, or the PageWanted work item) is taken over after its
    lease, and every item still runs once."""
    n = 30
    _rows(s3, n)
    async with runtime() as rt:
        name = f"pages-{uuid.uuid4().hex[:8]}"
        await rt.service.define(name, _indexed(MaxConcurrency=2))
        started = await rt.service.start(name, {"bucket": s3.bucket})
        doomed = Worker(rt.settings.redis_url, rt.settings, 4)
        running = asyncio.create_task(doomed.run())
        for _ in range(2000):  # until its first page is in (its Map Run has children)
            runs = await rt.service.map_runs.of_execution(started["executionId"])
            if runs and runs[0]["executionCounts"]["total"] > 0:
                break
            await asyncio.sleep(0.005)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        done = await rt.finished(started["executionId"])
    assert done["status"] == "SUCCEEDED", done
    assert done["output"] == [{"index": i, "id": str(i)} for i in range(n)]
    assert json.dumps(done["output"]).count('"index"') == n


async def test_csv_pages_resume_where_the_last_ended(runtime: Any, s3: Any) -> None:
    """A CSV page is read from the byte its page before ended at: a byte-order mark, CRLF
    line ends, a quoted field over two lines and non-ASCII text keep every row whole."""
    rows = [f'{i},"note {i}\r\nline two",é{i}' if i % 5 == 0 else f"{i},plain,é{i}"
            for i in range(20)]
    s3.put_object(Bucket=s3.bucket, Key="data",
                  Body=b"\xef\xbb\xbf" + ("id,note,word\r\n" + "\r\n".join(rows)).encode())
    async with runtime() as rt:
        _, done = await _run(rt, dmap(get_object(CSV)), {"bucket": s3.bucket})
    assert done["status"] == "SUCCEEDED", (done.get("error"), done.get("cause"))
    assert [o["id"] for o in done["output"]] == [str(i) for i in range(20)]
    assert done["output"][5] == {"id": "5", "note": "note 5\nline two", "word": "é5"}
    assert done["output"][6] == {"id": "6", "note": "plain", "word": "é6"}


async def test_json_lines_pages_and_given_csv_headers(runtime: Any, s3: Any) -> None:
    s3.put_object(Bucket=s3.bucket, Key="lines",
                  Body="".join(f'{{"n": {i}}}\n' + ("\n" if i % 4 == 0 else "")
                               for i in range(17)).encode())
    s3.put_object(Bucket=s3.bucket, Key="data",
                  Body="".join(f"{i}|x{i}\n" for i in range(16)).encode())
    given = {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["a", "b"],
             "CSVDelimiter": "PIPE"}
    async with runtime() as rt:
        _, lines = await _run(rt, dmap(get_object({"InputType": "JSONL"}, "lines")),
                              {"bucket": s3.bucket})
        _, csv = await _run(rt, dmap(get_object(given)), {"bucket": s3.bucket})
    assert lines["status"] == "SUCCEEDED", lines
    assert lines["output"] == [{"n": i} for i in range(17)]
    assert csv["status"] == "SUCCEEDED", csv
    assert csv["output"] == [{"a": str(i), "b": f"x{i}"} for i in range(16)]
