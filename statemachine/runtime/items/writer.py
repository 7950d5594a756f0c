"""Writes a Distributed Map Run's results to S3: the task of resource ``statemachine:WriteResults``.

The interpreter sends a :class:`~statemachine.language.items.WriteRequest` once the Map Run's
children have ended; the answer is ``TaskSucceeded`` with AWS's result,
``{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}`` (the manifest's key), or
``TaskFailed`` with ``States.ResultWriterFailed`` and the S3 error as AWS words it.

Layout, as AWS's: under ``<Prefix>/<map run id>/`` the children's results by status in
``SUCCEEDED_<n>.json``, ``FAILED_<n>.json`` (every end other than success: a failed run's
children it stopped are ABORTED) and ``PENDING_<n>.json`` (children a failed run never
began), a new file each time one would pass :data:`FILE_LIMIT` bytes, and
``manifest.json`` last: ``{"DestinationBucket", "MapRunArn", "ResultFiles": {"FAILED",
"PENDING", "SUCCEEDED": [{"Key", "Size"}]}}``.  Entries are shaped by
:mod:`statemachine.interpreter.run_results`.  Every key is derived from the request, so a
task sent again (a worker died after writing) writes the same objects again: idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, cast

import orjson
from botocore.exceptions import BotoCoreError, ClientError

from statemachine.interpreter.commands import InvokeTask
from statemachine.interpreter.events import ChildOutcome
from statemachine.interpreter.run_results import PENDING, SUCCEEDED, run_id, transformed
from statemachine.language import items as I
from statemachine.runtime.invokers.base import TaskResult, failed, succeeded
from statemachine.runtime.invokers.egress import EGRESS_ERROR, EgressDenied
from statemachine.runtime.items.reader import service_cause
from statemachine.runtime.items.s3 import S3Source

FILE_LIMIT = 5 * 1024**3
"""AWS's largest result file (5 GB): more results go on in the next file."""
STATUSES = ("FAILED", PENDING, SUCCEEDED)


class ResultWriter:
    """Performs ``statemachine:WriteResults`` tasks over one :class:`S3Source`."""

    def __init__(self, source: S3Source, file_limit: int = FILE_LIMIT) -> None:
        self.source = source
        self.file_limit = file_limit

    async def invoke(self, command: InvokeTask) -> TaskResult:
        request = cast(I.WriteRequest, command.input)
        try:
            key = await self.write(request)
        except ClientError as exc:
            return failed(command, I.RESULT_WRITER_FAILED, service_cause(exc))
        except BotoCoreError as exc:
            return failed(command, I.RESULT_WRITER_FAILED, f"S3 could not be reached: {exc}")
        except EgressDenied as exc:  # the S3 endpoint is one task requests may not reach
            return failed(command, EGRESS_ERROR, str(exc))
        return succeeded(command, {"MapRunArn": request["MapRunArn"],
                                   "ResultWriterDetails": {"Bucket": request["Bucket"], "Key": key}})

    async def write(self, request: I.WriteRequest) -> str:
        """Every result file, then the manifest; returns the manifest's key."""
        bucket, arn = request["Bucket"], request["MapRunArn"]
        prefix = request["Prefix"]
        folder = f"{prefix}/" if prefix and not prefix.endswith("/") else prefix
        folder += run_id(arn) + "/"
        config = request["WriterConfig"]
        by_status: dict[str, list[ChildOutcome]] = {s: [] for s in STATUSES}
        for outcome in cast(list[ChildOutcome], request["Results"]):
            status = outcome.get("status")
            status = status if status in (SUCCEEDED, PENDING) else "FAILED"
            by_status[status].append(outcome)
        files: dict[str, list[dict[str, Any]]] = {s: [] for s in STATUSES}
        for status in STATUSES:
            values = transformed(arn, by_status[status], config["Transformation"])
            for n, body in enumerate(self.files(values, config["OutputType"])):
                key = f"{folder}{status}_{n}.json"
                await self.source.put(bucket, key, body)
                files[status].append({"Key": key, "Size": len(body)})
        manifest = {"DestinationBucket": bucket, "MapRunArn": arn, "ResultFiles": files}
        key = folder + "manifest.json"
        await self.source.put(bucket, key, orjson.dumps(manifest))
        return key

    def files(self, values: Iterable[Any], output_type: str) -> Iterator[bytes]:
        """The values as file bodies of at most ``file_limit`` bytes (a value larger than
        that alone makes a file of one): a JSON array each, or JSON Lines."""
        lines = output_type == "JSONL"
        head, sep, tail = (b"", b"\n", b"\n") if lines else (b"[", b",", b"]")
        parts: list[bytes] = []
        size = len(head) + len(tail)
        for value in values:
            text = orjson.dumps(value)
            cost = len(text) + (len(sep) if parts else 0)
            if parts and size + cost > self.file_limit:
                yield head + sep.join(parts) + tail
                parts, size = [], len(head) + len(tail)
                cost = len(text)
            parts.append(text)
            size += cost
        if parts:
            yield head + sep.join(parts) + tail
