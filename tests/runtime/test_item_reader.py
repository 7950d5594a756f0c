"""Distributed Map over items read from S3 (moto's server), in both runtimes.

Each test runs on the in-memory runner (``cli.py run``) and on the durable runtime (Redis,
a worker drained); the reader finds S3 through ``STATEMACHINE_AWS_ENDPOINT_S3``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from statemachine.language.model import compile_machine
from statemachine.runtime.invokers import Invokers, InvokerSettings
from statemachine.runtime.local import LocalRunner
from statemachine.runtime.worker import Worker


@dataclass
class Outcome:
    status: str
    output: Any
    error: str | None
    cause: str | None
    types: list[str]


class Memory:
    def __init__(self) -> None:
        self.invokers = Invokers(InvokerSettings.from_env())

    async def run(self, definition: dict[str, Any], input: Any) -> Outcome:
        result = await LocalRunner(compile_machine(definition), self.invokers.invoke).run(input)
        ex = result.execution
        return Outcome(ex["status"], ex["output"], ex["error"], ex["cause"],
                       [e["type"] for e, origin in zip(result.history, result.origins, strict=True)
                        if origin == ex["id"]])


class Durable:
    def __init__(self, rt: Any) -> None:
        self.rt = rt

    async def run(self, definition: dict[str, Any], input: Any) -> Outcome:
        name = f"dmap-{uuid.uuid4().hex[:8]}"
        await self.rt.service.define(name, definition)
        started = await self.rt.service.start(name, input)
        done = await self.rt.finished(started["executionId"])
        events = await self.rt.events(started["executionId"])
        return Outcome(done["status"], done.get("output"), done.get("error"), done.get("cause"),
                       [e["type"] for e in events])


@pytest.fixture
def s3(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A boto3 S3 client on moto, a fresh bucket ``client.bucket``, and the reader pointed there."""
    monkeypatch.setenv("STATEMACHINE_AWS_ENDPOINT_S3", moto_url)
    client = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    client.bucket = f"items-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=client.bucket)
    yield client


@pytest.fixture(params=["memory", "redis"])
async def engine(request: pytest.FixtureRequest, runtime: Any, s3: Any) -> AsyncIterator[Any]:
    if request.param == "memory":
        memory = Memory()
        try:
            yield memory
        finally:
            await memory.invokers.close()
    else:
        async with runtime() as rt:
            yield Durable(rt)


def dmap(reader: dict[str, Any], *, processor: dict[str, Any] | None = None,
         **fields: Any) -> dict[str, Any]:
    """A one-state machine: a Distributed Map reading ``reader``, its children ``processor``
    (default: a Pass)."""
    return {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemReader": reader, **fields,
        "ItemProcessor": processor or {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True}}}


def get_object(config: dict[str, Any], key: str = "data") -> dict[str, Any]:
    return {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": config,
            "Parameters": {"Bucket.$": "$.bucket", "Key": key}}


async def test_csv_with_headers_from_the_first_row(engine: Any, s3: Any) -> None:
    s3.put_object(Bucket=s3.bucket, Key="data", Body=b'id,name\n1,"a, b"\n2,c\n')
    got = await engine.run(dmap(get_object({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})),
                           {"bucket": s3.bucket})
    assert got.status == "SUCCEEDED"
    assert got.output == [{"id": "1", "name": "a, b"}, {"id": "2", "name": "c"}]
    # the durable history shows the children's events too (Map Runs of their own come later)
    parent = [t for t in got.types if not t.startswith(("MapIteration", "Pass"))]
    assert parent == ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted",
                         "MapRunSucceeded", "MapStateSucceeded", "MapStateExited",
                         "ExecutionSucceeded"]


async def test_csv_with_given_headers_and_a_delimiter(engine: Any, s3: Any) -> None:
    s3.put_object(Bucket=s3.bucket, Key="data", Body=b"1;x\n2;y;extra\n3\n")
    config = {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["n", "v"],
              "CSVDelimiter": "SEMICOLON"}
    got = await engine.run(dmap(get_object(config)), {"bucket": s3.bucket})
    assert got.output == [{"n": "1", "v": "x"}, {"n": "2", "v": "y"}, {"n": "3", "v": ""}]


async def test_json_lines_with_max_items_and_an_item_selector(engine: Any, s3: Any) -> None:
    s3.put_object(Bucket=s3.bucket, Key="data",
                  Body="\n".join(json.dumps({"n": i}) for i in range(10)).encode())
    reader = get_object({"InputType": "JSONL", "MaxItemsPath": "$.most"})
    definition = dmap(reader, ItemSelector={"n.$": "$$.Map.Item.Value.n", "tag.$": "$.tag"})
    got = await engine.run(definition, {"bucket": s3.bucket, "most": 3, "tag": "t"})
    assert got.output == [{"n": 0, "tag": "t"}, {"n": 1, "tag": "t"}, {"n": 2, "tag": "t"}]


async def test_list_objects_v2_under_a_prefix(engine: Any, s3: Any) -> None:
    for key in ("in/a.txt", "in/b.txt", "out/c.txt"):
        s3.put_object(Bucket=s3.bucket, Key=key, Body=b"12345")
    reader = {"Resource": "arn:aws:states:::s3:listObjectsV2",
              "Parameters": {"Bucket.$": "$.bucket", "Prefix": "in/"}}
    got = await engine.run(dmap(reader), {"bucket": s3.bucket})
    assert [o["Key"] for o in got.output] == ["in/a.txt", "in/b.txt"]
    first = got.output[0]
    assert set(first) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}
    assert first["Size"] == 5 and isinstance(first["LastModified"], int)


async def test_an_inventory_manifest_lists_its_csv_files(engine: Any, s3: Any) -> None:
    s3.put_object(Bucket=s3.bucket, Key="inv/data/1.csv.gz",
                  Body=gzip.compress(b'"src","k1","10"\n"src","k2","20"\n'))
    s3.put_object(Bucket=s3.bucket, Key="inv/data/2.csv.gz", Body=gzip.compress(b'"src","k3","30"\n'))
    manifest = {"sourceBucket": "src", "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size",
                "files": [{"key": "inv/data/1.csv.gz"}, {"key": "inv/data/2.csv.gz"}]}
    s3.put_object(Bucket=s3.bucket, Key="inv/manifest.json", Body=json.dumps(manifest).encode())
    got = await engine.run(dmap(get_object({"InputType": "MANIFEST"}, "inv/manifest.json")),
                           {"bucket": s3.bucket})
    assert got.output == [{"Bucket": "src", "Key": f"k{i}", "Size": f"{i}0"} for i in (1, 2, 3)]


async def test_batches_by_count_and_by_bytes_with_batch_input(engine: Any, s3: Any) -> None:
    s3.put_object(Bucket=s3.bucket, Key="data", Body=json.dumps(list(range(7))).encode())
    reader = get_object({"InputType": "JSON"})
    by_count = dmap(reader, ItemBatcher={"MaxItemsPerBatch": 3,
                                         "BatchInput": {"from.$": "$.bucket"}})
    got = await engine.run(by_count, {"bucket": s3.bucket})
    assert got.output == [{"BatchInput": {"from": s3.bucket}, "Items": items}
                          for items in ([0, 1, 2], [3, 4, 5], [6])]
    # {"Items":[]} is 12 bytes; each one-digit item adds 1 and a comma 1: 3 items make 17
    by_bytes = dmap(reader, ItemBatcher={"MaxInputBytesPerBatchPath": "$.bytes"})
    got = await engine.run(by_bytes, {"bucket": s3.bucket, "bytes": "17"})
    assert got.output == [{"Items": [0, 1, 2]}, {"Items": [3, 4, 5]}, {"Items": [6]}]


def failing_odd_items() -> dict[str, Any]:
    return {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Odd?", "States": {
                "Odd?": {"Type": "Choice", "Default": "Ok", "Choices": [
                    {"Variable": "$.odd", "BooleanEquals": True, "Next": "Boom"}]},
                "Boom": {"Type": "Fail", "Error": "Odd", "Cause": "odd item"},
                "Ok": {"Type": "Pass", "End": True}}}


async def test_tolerated_failures_of_the_children(engine: Any, s3: Any) -> None:
    body = [{"odd": i % 2 == 1} for i in range(6)]
    s3.put_object(Bucket=s3.bucket, Key="data", Body=json.dumps(body).encode())
    reader = get_object({"InputType": "JSON"})
    tolerant = dmap(reader, processor=failing_odd_items(), ToleratedFailurePercentage=50)
    got = await engine.run(tolerant, {"bucket": s3.bucket})
    assert got.status == "SUCCEEDED"
    assert got.output[1] == {"Error": "Odd", "Cause": "odd item"} and got.output[0] == {"odd": False}
    strict = dmap(reader, processor=failing_odd_items(), ToleratedFailureCount=2, MaxConcurrency=1)
    got = await engine.run(strict, {"bucket": s3.bucket})
    assert (got.status, got.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    assert got.types[-3:] == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]


async def test_reader_failures_are_item_reader_failed(engine: Any, s3: Any) -> None:
    s3.put_object(Bucket=s3.bucket, Key="object", Body=b'{"Hello": "world"}')
    s3.put_object(Bucket=s3.bucket, Key="dupes", Body=b"a,a\n1,2\n")
    cases = [
        (get_object({"InputType": "JSON"}, "object"), "Attempting to map over non-iterable node."),
        (get_object({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}, "dupes"),
         "CSV headers cannot contain duplicates."),
        (get_object({"InputType": "JSON", "MaxItemsPath": "$.most"}, "object"),
         "field MaxItems must be positive"),
    ]
    for reader, cause in cases:
        got = await engine.run(dmap(reader), {"bucket": s3.bucket, "most": -1})
        assert (got.status, got.error, got.cause) == ("FAILED", "States.ItemReaderFailed", cause)
        assert got.types[-4:] == ["MapRunStarted", "MapRunFailed", "MapStateFailed",
                                  "ExecutionFailed"]


async def test_a_missing_object_is_caught_by_name(engine: Any, s3: Any) -> None:
    definition = dmap(get_object({"InputType": "JSON"}, "nope"),
                      Catch=[{"ErrorEquals": ["States.ItemReaderFailed"], "Next": "Caught",
                              "ResultPath": "$.error"}])
    del definition["States"]["M"]["End"]
    definition["States"]["M"]["Next"] = "Caught"
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    got = await engine.run(definition, {"bucket": s3.bucket})
    assert got.status == "SUCCEEDED"
    assert got.output["error"]["Error"] == "States.ItemReaderFailed"
    assert "(Service: S3, Status Code: 404" in got.output["error"]["Cause"]


async def test_a_worker_that_dies_while_reading_leaves_the_read_to_another(
        runtime: Any, s3: Any, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The read is a task dispatch: until its result is committed it stays pending, so when
    the worker reading dies (here: cancelled while S3 does not answer), another worker takes
    the dispatch over after the lease and reads the object again, from the start."""
    s3.put_object(Bucket=s3.bucket, Key="data", Body=b"[1, 2, 3]")
    connected = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()  # an S3 that takes the request and never answers
        await reader.read(-1)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("STATEMACHINE_AWS_ENDPOINT_S3", f"http://127.0.0.1:{port}")
    try:
        async with runtime() as rt:
            await rt.service.define("dies-reading", dmap(get_object({"InputType": "JSON"})))
            started = await rt.service.start("dies-reading", {"bucket": s3.bucket})
            doomed = Worker(rt.settings.redis_url, rt.settings, 4)
            running = asyncio.create_task(doomed.run())
            await asyncio.wait_for(connected.wait(), 30)
            running.cancel()  # dies mid-read: nothing committed, the dispatch stays pending
            with contextlib.suppress(asyncio.CancelledError):
                await running
            monkeypatch.setenv("STATEMACHINE_AWS_ENDPOINT_S3", moto_url)
            # the next worker finds S3 where its settings, read now, say
            rt.settings = dataclasses.replace(rt.settings, invokers=InvokerSettings.from_env())
            done = await rt.finished(started["executionId"])
    finally:
        server.close()
    assert (done["status"], done["output"]) == ("SUCCEEDED", [1, 2, 3])


async def test_the_egress_policy_guards_the_s3_endpoint_the_reader_uses(
        s3: Any, moto_url: str) -> None:
    """The reader's S3 client is the AWS client factory's: an endpoint the egress policy denies
    fails the Map with States.Permissions, and nothing is read."""
    s3.put_object(Bucket=s3.bucket, Key="data", Body=b"[1, 2, 3]")
    settings = InvokerSettings.from_env(egress_deny=(moto_url.removeprefix("http://"),))
    async with Invokers(settings) as invokers:
        machine = compile_machine(dmap(get_object({"InputType": "JSON"})))
        result = await LocalRunner(machine, invokers.invoke).run({"bucket": s3.bucket})
    ex = result.execution
    assert (ex["status"], ex["error"]) == ("FAILED", "States.Permissions")
    assert "egress policy denies" in ex["cause"]
