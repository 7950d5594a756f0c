"""A Distributed Map reading a CSV from S3 through a real ``cli.py serve`` (moto's S3 behind
``STATEMACHINE_AWS_ENDPOINT``), started and described with boto3 as a user would."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws.conftest import AwsService, describe_when_done, start_service, stop_service

ROWS = 250


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, moto_url: str) -> Iterator[AwsService]:
    workdir: Path = tmp_path_factory.mktemp("dmap")
    service = start_service(workdir, env={"STATEMACHINE_AWS_ENDPOINT": moto_url})
    try:
        yield service
    finally:
        stop_service(service)


def test_a_batched_csv_map_over_s3(served: AwsService, moto_url: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    bucket = f"dmap-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    body = "id,qty\n" + "".join(f"{i},{i * 2}\n" for i in range(ROWS))
    s3.put_object(Bucket=bucket, Key="orders.csv", Body=body.encode())
    definition: dict[str, Any] = {"StartAt": "Orders", "States": {"Orders": {
        "Type": "Map", "MaxConcurrency": 5, "ToleratedFailureCount": 0,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW",
                                        "MaxItems": 200},
                       "Parameters": {"Bucket.$": "$.bucket", "Key": "orders.csv"}},
        "ItemBatcher": {"MaxItemsPerBatch": 10, "BatchInput": {"bucket.$": "$.bucket"}},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Count", "States": {"Count": {
                "Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.Items)",
                                               "first.$": "$.Items[0].id",
                                               "bucket.$": "$.BatchInput.bucket"},
                "End": True}}},
        "End": True}}}
    sfn = served.client()
    machine = sfn.create_state_machine(name=f"dmap-{uuid.uuid4().hex[:6]}",
                                       definition=json.dumps(definition),
                                       roleArn="arn:aws:iam::123456789012:role/sfn")
    started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"],
                                  input=json.dumps({"bucket": bucket}))
    done = describe_when_done(sfn, started["executionArn"], timeout=120)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output == [{"n": 10, "first": str(i * 10), "bucket": bucket} for i in range(20)]


def _results_machine(bucket: str, writer: dict[str, Any]) -> dict[str, Any]:
    """30 CSV rows, one child each; a row whose id ends in 7 fails (tolerated)."""
    return {"StartAt": "Rows", "States": {"Rows": {
        "Type": "Map", "Label": "Rows", "ToleratedFailurePercentage": 50,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                       "Parameters": {"Bucket": bucket, "Key": "rows.csv"}},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Check", "States": {
                "Check": {"Type": "Choice", "Choices": [
                    {"Variable": "$.id", "StringMatches": "*7", "Next": "Bad"}],
                    "Default": "Good"},
                "Bad": {"Type": "Fail", "Error": "Row.Bad", "Cause": "ends in 7"},
                "Good": {"Type": "Pass", "Parameters": {"id.$": "$.id", "pair.$": "States.Array($.id, $.id)"},
                         "End": True}}},
        "ResultWriter": writer,
        "End": True}}}


def _run(served: AwsService, definition: dict[str, Any]) -> dict[str, Any]:
    sfn = served.client()
    machine = sfn.create_state_machine(name=f"rw-{uuid.uuid4().hex[:6]}",
                                       definition=json.dumps(definition),
                                       roleArn="arn:aws:iam::123456789012:role/sfn")
    started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")
    return describe_when_done(sfn, started["executionArn"], timeout=120)


def _bucket_with_rows(moto_url: str) -> tuple[Any, str]:
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    bucket = f"rw-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="rows.csv",
                  Body=("id\n" + "".join(f"{i}\n" for i in range(30))).encode())
    return s3, bucket


def test_result_writer_lays_out_aws_files(served: AwsService, moto_url: str) -> None:
    s3, bucket = _bucket_with_rows(moto_url)
    done = _run(served, _results_machine(bucket, {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": bucket, "Prefix": "runs"}}))
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    run_arn = output["MapRunArn"]
    assert ":mapRun:" in run_arn and run_arn.split(":")[-2].endswith("/Rows")
    run_id = run_arn.rsplit(":", 1)[-1]
    assert output["ResultWriterDetails"] == {"Bucket": bucket, "Key": f"runs/{run_id}/manifest.json"}
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=f"runs/{run_id}/manifest.json")["Body"].read())
    assert manifest["DestinationBucket"] == bucket and manifest["MapRunArn"] == run_arn
    files = manifest["ResultFiles"]
    assert sorted(files) == ["FAILED", "PENDING", "SUCCEEDED"] and files["PENDING"] == []
    entries: dict[str, list[dict[str, Any]]] = {}
    for status in ("SUCCEEDED", "FAILED"):
        [only] = files[status]
        assert only["Key"] == f"runs/{run_id}/{status}_0.json"
        body = s3.get_object(Bucket=bucket, Key=only["Key"])["Body"].read()
        assert only["Size"] == len(body)
        entries[status] = json.loads(body)
    good, bad = entries["SUCCEEDED"], entries["FAILED"]
    assert sorted(json.loads(e["Input"])["id"] for e in good) == sorted(
        str(i) for i in range(30) if i % 10 != 7)
    assert sorted(json.loads(e["Input"])["id"] for e in bad) == ["17", "27", "7"]
    first = good[0]
    assert list(first) == sorted(first)  # AWS writes the fields in alphabetical order
    assert set(first) == {"ExecutionArn", "Input", "InputDetails", "Name", "Output", "OutputDetails",
                          "RedriveCount", "RedriveStatus", "RedriveStatusReason", "StartDate",
                          "StateMachineArn", "Status", "StopDate"}
    row = json.loads(first["Input"])["id"]
    assert json.loads(first["Output"]) == {"id": row, "pair": [row, row]}
    assert first["Status"] == "SUCCEEDED" and first["InputDetails"] == {"Included": True}
    assert first["ExecutionArn"].endswith(":" + first["Name"])
    assert ":execution:" in first["ExecutionArn"] and "/Rows:" in first["ExecutionArn"]
    assert first["StateMachineArn"].endswith("/Rows")
    assert {e["Name"] for e in good}.isdisjoint({e["Name"] for e in bad}) and len({e["Name"] for e in good}) == 27
    failure = bad[0]
    assert failure["Error"] == "Row.Bad" and failure["Cause"] == "ends in 7"
    assert failure["Status"] == "FAILED" and "Output" not in failure
    counts = served.client().describe_map_run(mapRunArn=run_arn)["executionCounts"]
    assert counts["resultsWritten"] == 30  # every child's result is in the files


def test_a_failed_run_writes_failed_aborted_and_pending_children(
        served: AwsService, moto_url: str) -> None:
    """A run that fails still writes its results (AWS's FAILED_n.json with the failed and
    the aborted children, PENDING_n.json with those never begun) before the Map fails with
    the run's error; DescribeMapRun counts what was written."""
    s3, bucket = _bucket_with_rows(moto_url)
    machine = _results_machine(bucket, {"Resource": "arn:aws:states:::s3:putObject",
                                        "Parameters": {"Bucket": bucket, "Prefix": "failing"}})
    rows = machine["States"]["Rows"]
    del rows["ToleratedFailurePercentage"]
    rows["MaxConcurrency"] = 2
    rows["ItemReader"]["ReaderConfig"]["MaxItems"] = 6
    # row 0 fails after 2 s (row 1 has begun its long wait by then: it is stopped), the
    # rest never begin
    rows["ItemProcessor"] = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Which", "States": {
            "Which": {"Type": "Choice", "Choices": [
                {"Variable": "$.id", "StringEquals": "0", "Next": "Soon"}], "Default": "Long"},
            "Soon": {"Type": "Wait", "Seconds": 2, "Next": "Bad"},
            "Bad": {"Type": "Fail", "Error": "Row.Bad", "Cause": "row 0"},
            "Long": {"Type": "Wait", "Seconds": 600, "End": True}}}
    done = _run(served, machine)
    assert (done["status"], done["error"], done["cause"]) == ("FAILED", "Row.Bad", "row 0")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="failing/")["Contents"]
    [key] = [o["Key"] for o in listed if o["Key"].endswith("/manifest.json")]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    files = manifest["ResultFiles"]
    assert files["SUCCEEDED"] == []

    def entries(status: str) -> list[dict[str, Any]]:
        [only] = files[status]
        return list(json.loads(s3.get_object(Bucket=bucket, Key=only["Key"])["Body"].read()))

    failed = entries("FAILED")
    assert [(json.loads(e["Input"])["id"], e["Status"]) for e in failed] == [
        ("0", "FAILED"), ("1", "ABORTED")]
    assert failed[0]["Error"] == "Row.Bad" and "Error" not in failed[1]
    assert [json.loads(e["Input"])["id"] for e in entries("PENDING")] == ["2", "3", "4", "5"]
    sfn = served.client()
    run = sfn.describe_map_run(mapRunArn=manifest["MapRunArn"])
    assert run["status"] == "FAILED"
    assert (run["executionCounts"]["resultsWritten"], run["executionCounts"]["pending"]) == (2, 4)
    history = sfn.get_execution_history(executionArn=done["executionArn"])["events"]
    assert [e["type"] for e in history][-3:] == ["MapRunFailed", "MapStateFailed",
                                                  "ExecutionFailed"]


def test_writer_config_flatten_returns_the_outputs(served: AwsService, moto_url: str) -> None:
    """A WriterConfig alone: nothing is exported, the Map's result is transformed (FLATTEN
    splices the children's arrays; a failed child stays its whole entry)."""
    _, bucket = _bucket_with_rows(moto_url)
    machine = _results_machine(bucket, {
        "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSON"}})
    machine["States"]["Rows"]["ItemProcessor"]["States"]["Good"]["OutputPath"] = "$.pair"
    done = _run(served, machine)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert sorted(o for o in output if isinstance(o, str)) == sorted(
        str(i) for i in range(30) if i % 10 != 7 for _ in (0, 1))
    failed = [o for o in output if isinstance(o, dict)]
    assert len(failed) == 3 and all(f["Error"] == "Row.Bad" for f in failed)


def test_a_bucket_that_is_not_there_fails_with_result_writer_failed(
        served: AwsService, moto_url: str) -> None:
    _, bucket = _bucket_with_rows(moto_url)
    machine = _results_machine(bucket, {"Resource": "arn:aws:states:::s3:putObject",
                                        "Parameters": {"Bucket": f"{bucket}-gone", "Prefix": "x"}})
    rows = machine["States"]["Rows"]
    rows["Catch"] = [{"ErrorEquals": ["States.ResultWriterFailed"], "Next": "Caught"}]
    rows.pop("End")
    rows["Next"] = "Done"
    machine["States"]["Done"] = {"Type": "Succeed"}
    machine["States"]["Caught"] = {"Type": "Pass", "End": True}
    done = _run(served, machine)
    assert done["status"] == "SUCCEEDED", done
    caught = json.loads(done["output"])
    assert caught["Error"] == "States.ResultWriterFailed"
    assert "bucket does not exist" in caught["Cause"] and "Service: S3" in caught["Cause"]


def test_a_100000_line_csv_is_processed_once_and_its_results_written(
        served: AwsService, moto_url: str) -> None:
    """The issue's done-when: 100,000 CSV lines in moto's S3, batches of 100, EXPRESS children
    calling a real aiohttp task that notes every item it sees, ResultWriter to S3 — through
    the service and its workers.  Each item reaches the task once (a re-send under the same
    Idempotency-Key counts once), the result files and manifest are AWS's."""
    from aiohttp import web

    from statemachine.bench.dmap import Recorder, csv_body, machine
    from tests.conftest import app_in_thread

    lines = 100_000
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    bucket = f"big-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="lines.csv", Body=csv_body(lines))
    notes = Recorder()
    app = web.Application(client_max_size=8 * 2**20)
    app.router.add_post("/items", notes.items)
    with app_in_thread(app, "items") as base:
        done = _run(served, machine(f"{base}/items", bucket))
    assert done["status"] == "SUCCEEDED", done
    seen = notes.seen()
    assert len(seen) == lines and set(seen.values()) == {1}
    assert set(seen) == {str(i) for i in range(lines)}
    details = json.loads(done["output"])["ResultWriterDetails"]
    run_id = json.loads(done["output"])["MapRunArn"].rsplit(":", 1)[-1]
    assert details == {"Bucket": bucket, "Key": f"results/{run_id}/manifest.json"}
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=details["Key"])["Body"].read())
    assert manifest["ResultFiles"]["FAILED"] == [] and manifest["ResultFiles"]["PENDING"] == []
    entries: list[dict[str, Any]] = []
    for file in manifest["ResultFiles"]["SUCCEEDED"]:
        assert file["Key"].startswith(f"results/{run_id}/SUCCEEDED_")
        head = s3.head_object(Bucket=bucket, Key=file["Key"])
        assert head["ContentLength"] == file["Size"]
        entries += json.loads(s3.get_object(Bucket=bucket, Key=file["Key"])["Body"].read())
    assert len(entries) == lines // 100
    assert all(e["Status"] == "SUCCEEDED" and json.loads(e["Output"]) == {"n": 100} for e in entries)
    written = [row["id"] for e in entries for row in json.loads(e["Input"])["Items"]]
    assert sorted(written, key=int) == [str(i) for i in range(lines)]
