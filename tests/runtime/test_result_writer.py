"""A Distributed Map's ``ResultWriter`` in both runtimes (moto's S3), and the writer's files.

The in-memory runner (``cli.py run``) and the durable runtime (Redis, a worker drained)
write the same layout; :class:`~statemachine.runtime.items.writer.ResultWriter` splits
results into several files past its size limit, as AWS does past 5 GB.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from typing import Any

import pytest

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers import Invokers, InvokerSettings
from statemachine.runtime.items.s3 import S3Source
from statemachine.runtime.items.writer import ResultWriter
from statemachine.runtime.worker import Worker
from tests.runtime import test_item_reader as reading
from tests.runtime.test_item_reader import dmap, get_object

engine, s3 = reading.engine, reading.s3  # its fixtures: both runtimes, a bucket on moto

RUN = "arn:aws:states:us-east-1:123456789012:mapRun:m/Rows:0c9d7c1e-run"


def _rows(s3: Any, n: int) -> None:
    s3.put_object(Bucket=s3.bucket, Key="data",
                  Body=("id\n" + "".join(f"{i}\n" for i in range(n))).encode())


def _body(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=s3.bucket, Key=key)["Body"].read())


async def test_entries_and_manifest_in_both_runtimes(engine: Any, s3: Any) -> None:
    _rows(s3, 4)
    definition = dmap(get_object({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}),
                      Label="Rows", ResultWriter={
                          "Resource": "arn:aws:states:::s3:putObject",
                          "Parameters": {"Bucket.$": "$.bucket", "Prefix": "out/"}})
    got = await engine.run(definition, {"bucket": s3.bucket})
    assert got.status == "SUCCEEDED", got
    run_id = got.output["MapRunArn"].rsplit(":", 1)[1]
    key = f"out/{run_id}/manifest.json"  # a Prefix ending in "/" gets no second one
    assert got.output["ResultWriterDetails"] == {"Bucket": s3.bucket, "Key": key}
    parent = [t for t in got.types if not t.startswith(("MapIteration", "Pass"))]
    # the Map Run succeeds once its results are written (no task events for the writing)
    assert parent == ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted",
                      "MapRunSucceeded", "MapStateSucceeded", "MapStateExited",
                      "ExecutionSucceeded"]
    manifest = json.loads(_body(s3, key))
    [file] = manifest["ResultFiles"]["SUCCEEDED"]
    entries = json.loads(_body(s3, file["Key"]))
    assert [json.loads(e["Output"]) for e in entries] == [{"id": str(i)} for i in range(4)]
    assert all(e["StartDate"] <= e["StopDate"] and e["ExecutionArn"].endswith(":" + e["Name"])
               for e in entries)
    assert len({e["Name"] for e in entries}) == 4


async def test_jsonl_compact_output(engine: Any, s3: Any) -> None:
    _rows(s3, 3)
    definition = dmap(get_object({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}),
                      ResultWriter={
                          "Resource": "arn:aws:states:::s3:putObject",
                          "Parameters": {"Bucket.$": "$.bucket", "Prefix": "jl"},
                          "WriterConfig": {"OutputType": "JSONL", "Transformation": "COMPACT"}})
    got = await engine.run(definition, {"bucket": s3.bucket})
    assert got.status == "SUCCEEDED", got
    manifest = json.loads(_body(s3, got.output["ResultWriterDetails"]["Key"]))
    [file] = manifest["ResultFiles"]["SUCCEEDED"]
    lines = _body(s3, file["Key"]).decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"id": "0"}, {"id": "1"}, {"id": "2"}]


async def test_results_past_the_file_limit_go_on_in_the_next_file(s3: Any) -> None:
    invokers = Invokers(InvokerSettings.from_env())
    try:
        writer = ResultWriter(S3Source(lambda: invokers._aws_clients().client("s3")),
                              file_limit=100)
        results = [{"status": "SUCCEEDED", "output": {"n": "x" * 30}, "error": None,
                    "cause": None, "name": f"child-{i}", "input": "{}", "start": 0, "stop": 1}
                   for i in range(5)]
        request = {"Bucket": s3.bucket, "Prefix": "", "MapRunArn": RUN, "Results": results,
                   "WriterConfig": {"OutputType": "JSON", "Transformation": "COMPACT"}}
        command = InvokeTask(token="t", resource="statemachine:WriteResults", input=request,
                             state="M", entered=1, idempotency_key="k", attempt=0,
                             timeout_s=None, heartbeat_s=None, credentials=None, execution="x")
        event = await writer.invoke(command)
    finally:
        await invokers.close()
    assert event is not None and event["type"] == "TaskSucceeded"
    assert event["output"]["ResultWriterDetails"]["Key"] == "0c9d7c1e-run/manifest.json"
    manifest = json.loads(_body(s3, "0c9d7c1e-run/manifest.json"))
    files = manifest["ResultFiles"]["SUCCEEDED"]
    assert [f["Key"] for f in files] == [f"0c9d7c1e-run/SUCCEEDED_{i}.json" for i in range(3)]
    values = []
    for f in files:
        body = _body(s3, f["Key"])
        assert f["Size"] == len(body) <= 100
        values += json.loads(body)
    assert values == [{"n": "x" * 30}] * 5


async def test_a_worker_that_dies_while_writing_leaves_the_write_to_another(
        runtime: Any, s3: Any, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The write is a task dispatch: a worker that dies while S3 does not answer leaves it
    pending, and another worker writes the same files again after the lease."""
    connected = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()  # an S3 that takes the request and never answers
        await reader.read(-1)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("STATEMACHINE_AWS_ENDPOINT_S3", f"http://127.0.0.1:{port}")
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                         "Parameters": {"Bucket.$": "$.bucket", "Prefix": "again"}}}}}
    try:
        async with runtime() as rt:
            await rt.service.define("dies-writing", definition)
            started = await rt.service.start("dies-writing", {"bucket": s3.bucket,
                                                              "items": [1, 2, 3]})
            doomed = Worker(rt.settings.redis_url, rt.settings, 4)
            running = asyncio.create_task(doomed.run())
            await asyncio.wait_for(connected.wait(), 30)
            running.cancel()  # dies mid-write: nothing committed, the dispatch stays pending
            with contextlib.suppress(asyncio.CancelledError):
                await running
            monkeypatch.setenv("STATEMACHINE_AWS_ENDPOINT_S3", moto_url)
            rt.settings = dataclasses.replace(rt.settings, invokers=InvokerSettings.from_env())
            done = await rt.finished(started["executionId"])
    finally:
        server.close()
    assert done["status"] == "SUCCEEDED", done
    details = done["output"]["ResultWriterDetails"]
    manifest = json.loads(_body(s3, details["Key"]))
    [file] = manifest["ResultFiles"]["SUCCEEDED"]
    assert [json.loads(e["Output"]) for e in json.loads(_body(s3, file["Key"]))] == [1, 2, 3]


async def test_jsonata_arguments(engine: Any, s3: Any) -> None:
    _rows(s3, 2)
    definition = {"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
        "Type": "Map", "End": True,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                       "Arguments": {"Bucket": "{% $states.input.bucket %}", "Key": "data"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                         "Arguments": {"Bucket": "{% $states.input.bucket %}",
                                       "Prefix": "{% 'by-' & $states.input.who %}"}}}}}
    got = await engine.run(definition, {"bucket": s3.bucket, "who": "jsonata"})
    assert got.status == "SUCCEEDED", got
    assert got.output["ResultWriterDetails"]["Key"].startswith("by-jsonata/")
    manifest = json.loads(_body(s3, got.output["ResultWriterDetails"]["Key"]))
    assert manifest["DestinationBucket"] == s3.bucket


FAIL_TWO_AND_THREE = {
    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
    "StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [
            {"Or": [{"Variable": "$.id", "StringEquals": "2"},
                    {"Variable": "$.id", "StringEquals": "3"}], "Next": "Bad"}],
                  "Default": "Good"},
        "Bad": {"Type": "Fail", "Error": "Odd", "Cause": "not wanted"},
        "Good": {"Type": "Pass", "End": True}}}


async def test_a_failed_run_writes_its_results_then_fails(engine: Any, s3: Any) -> None:
    """Past its tolerated failures a Map Run still writes its results, as AWS's: the
    succeeded, the failed, and the children it never began (PENDING); then the Map fails
    with the run's own error."""
    _rows(s3, 6)
    definition = dmap(get_object({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}),
                      processor=FAIL_TWO_AND_THREE, Label="Rows", MaxConcurrency=1,
                      ToleratedFailureCount=1, ResultWriter={
                          "Resource": "arn:aws:states:::s3:putObject",
                          "Parameters": {"Bucket.$": "$.bucket", "Prefix": "failed"}})
    got = await engine.run(definition, {"bucket": s3.bucket})
    assert (got.status, got.error) == ("FAILED", "States.ExceedToleratedFailureThreshold"), got
    parent = [t for t in got.types if not t.startswith(("MapIteration", "Pass", "Choice",
                                                         "Fail"))]
    assert parent == ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted",
                      "MapRunFailed", "MapStateFailed", "ExecutionFailed"]
    listed = s3.list_objects_v2(Bucket=s3.bucket, Prefix="failed/")["Contents"]
    [key] = [o["Key"] for o in listed if o["Key"].endswith("/manifest.json")]
    manifest = json.loads(_body(s3, key))
    assert manifest["MapRunArn"].startswith("arn:aws:states:") and ":mapRun:" in manifest["MapRunArn"]
    files = manifest["ResultFiles"]
    assert [[f["Key"].rsplit("/", 1)[1] for f in files[s]] for s in
            ("FAILED", "PENDING", "SUCCEEDED")] == [["FAILED_0.json"], ["PENDING_0.json"],
                                                    ["SUCCEEDED_0.json"]]
    by = {s: json.loads(_body(s3, files[s][0]["Key"])) for s in files}
    assert [json.loads(e["Input"])["id"] for e in by["SUCCEEDED"]] == ["0", "1"]
    assert [(json.loads(e["Input"])["id"], e["Status"], e["Error"], e["Cause"])
            for e in by["FAILED"]] == [("2", "FAILED", "Odd", "not wanted"),
                                       ("3", "FAILED", "Odd", "not wanted")]
    assert all(e["RedriveStatus"] == "REDRIVABLE_BY_MAP_RUN" for e in by["FAILED"])
    assert [(json.loads(e["Input"]), e["Status"]) for e in by["PENDING"]] == [
        ({"id": "4"}, "PENDING"), ({"id": "5"}, "PENDING")]
    assert all(e["StateMachineArn"].endswith("/Rows") and "ExecutionArn" not in e
               for e in by["PENDING"])


async def test_a_failed_run_without_an_export_writes_nothing(engine: Any, s3: Any) -> None:
    """A ``WriterConfig`` alone returns results only when the run succeeds: a failed run
    fails the Map as any Map Run (no files, no extra events)."""
    _rows(s3, 4)
    definition = dmap(get_object({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}),
                      processor=FAIL_TWO_AND_THREE, MaxConcurrency=1,
                      ResultWriter={"WriterConfig": {"Transformation": "COMPACT",
                                                     "OutputType": "JSON"}})
    got = await engine.run(definition, {"bucket": s3.bucket})
    assert (got.status, got.error, got.cause) == ("FAILED", "Odd", "not wanted"), got
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=s3.bucket).get("Contents", [])] == [
        "data"]


async def test_a_file_larger_than_a_part_goes_up_in_parts(s3: Any) -> None:
    """Past ``part_bytes`` a file is a multipart upload (S3's least part: 5 MiB), so the
    writer holds one part, not the file; the object is the same as written whole."""
    invokers = Invokers(InvokerSettings.from_env())
    big = "y" * (1024 * 1024)
    try:
        writer = ResultWriter(S3Source(lambda: invokers._aws_clients().client("s3")),
                              part_bytes=5 * 1024 * 1024)
        results = [{"status": "SUCCEEDED", "output": {"i": i, "big": big}, "error": None,
                    "cause": None, "name": f"child-{i}", "input": "{}", "start": 0, "stop": 1}
                   for i in range(12)]
        request = {"Bucket": s3.bucket, "Prefix": "parts", "MapRunArn": RUN, "Results": results,
                   "WriterConfig": {"OutputType": "JSON", "Transformation": "COMPACT"}}
        command = InvokeTask(token="t", resource="statemachine:WriteResults", input=request,
                             state="M", entered=1, idempotency_key="k", attempt=0,
                             timeout_s=None, heartbeat_s=None, credentials=None, execution="x")
        event = await writer.invoke(command)
    finally:
        await invokers.close()
    assert event is not None and event["type"] == "TaskSucceeded", event
    manifest = json.loads(_body(s3, "parts/0c9d7c1e-run/manifest.json"))
    [file] = manifest["ResultFiles"]["SUCCEEDED"]
    body = _body(s3, file["Key"])
    assert file["Size"] == len(body)
    assert json.loads(body) == [{"i": i, "big": big} for i in range(12)]
    etag = s3.head_object(Bucket=s3.bucket, Key=file["Key"])["ETag"]
    assert etag.strip('"').endswith("-3")  # S3's ETag of a multipart object: its part count
    assert s3.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


async def test_stored_outcomes_are_written_a_page_at_a_time_and_dropped_with_the_run(
        runtime: Any, s3: Any, redis: Any) -> None:
    """The durable runtime leaves a Map Run's outcomes where its children put them; the
    writer reads them a page at a time (here three pages), in order of index, and the
    Map Run's end drops them.  The Map Run is described as SUCCEEDED once written."""
    n = 1_200
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "End": True, "Label": "Rows",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                         "Parameters": {"Bucket.$": "$.bucket", "Prefix": "paged"}}}}}
    async with runtime() as rt:
        await rt.service.define("paged-results", definition)
        started = await rt.service.start("paged-results", {"bucket": s3.bucket,
                                                           "items": list(range(n))})
        done = await rt.finished(started["executionId"])
        [run] = await rt.service.map_runs.of_execution(started["executionId"])
    assert done["status"] == "SUCCEEDED", done
    manifest = json.loads(_body(s3, done["output"]["ResultWriterDetails"]["Key"]))
    [file] = manifest["ResultFiles"]["SUCCEEDED"]
    entries = json.loads(_body(s3, file["Key"]))
    assert [json.loads(e["Output"]) for e in entries] == list(range(n))
    assert run["status"] == "SUCCEEDED"
    left = [k async for k in redis.scan_iter(match=f"*:gr:{started['executionId']}:*")]
    assert left == []  # the outcomes went with the run
