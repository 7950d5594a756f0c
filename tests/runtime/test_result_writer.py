"""A Distributed Map's ``ResultWriter`` in both runtimes (moto's S3), and the writer's files.

The in-memory runner (``cli.py run``) and the durable runtime (Redis, a worker drained)
write the same layout; :class:`~statemachine.runtime.items.writer.ResultWriter` splits
results into several files past its size limit, as AWS does past 5 GB.
"""

from __future__ import annotations

import json
from typing import Any

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers import Invokers, InvokerSettings
from statemachine.runtime.items.s3 import S3Source
from statemachine.runtime.items.writer import ResultWriter
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
    assert all(e["StartDate"] <= e["StopDate"] and len(e["Name"]) == 36 for e in entries)
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
