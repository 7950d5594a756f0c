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

Memory does not grow with the Map Run: the outcomes come in the request (the in-memory
runner) or, from the durable runtime, are read where it keeps them (``Stored``:
:class:`OutcomePages`) :data:`PAGE` at a time; each file goes to S3 as it is made, a
multipart upload of :data:`PART_BYTES` parts once it is larger than one part.  An upload a
failure interrupts is aborted (S3 lifecycle rules catch one a crash leaves).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, cast

import orjson
from botocore.exceptions import BotoCoreError, ClientError

from statemachine.interpreter import failures as F
from statemachine.interpreter.commands import InvokeTask
from statemachine.interpreter.events import ChildOutcome
from statemachine.interpreter.run_results import PENDING, SUCCEEDED, run_id, transformed
from statemachine.language import items as I
from statemachine.runtime.invokers.base import TaskResult, failed, succeeded
from statemachine.runtime.invokers.egress import EgressDenied
from statemachine.runtime.items.s3 import S3_ERRORS, S3Source, s3_failed

FILE_LIMIT = 5 * 1024**3
"""AWS's largest result file (5 GB): more results go on in the next file."""
PART_BYTES = 8 * 1024**2
"""A result file larger than this goes up in parts of this size (S3's least is 5 MiB)."""
PAGE = 500
"""Stored outcomes read at a time."""
STATUSES = ("FAILED", PENDING, SUCCEEDED)


class OutcomePages(Protocol):
    """Where the durable runtime keeps a finished Map Run's outcomes for its writer."""

    async def outcome_page(self, parent_id: str, group: str, start: int,
                           count: int) -> list[bytes | None]: ...


class LostOutcome(Exception):
    """A stored outcome is missing."""


class ResultWriter:
    """Performs ``statemachine:WriteResults`` tasks over one :class:`S3Source`."""

    def __init__(self, source: S3Source, file_limit: int = FILE_LIMIT,
                 part_bytes: int = PART_BYTES, outcomes: OutcomePages | None = None) -> None:
        self.source = source
        self.file_limit = file_limit
        self.part_bytes = part_bytes
        self.outcomes = outcomes

    async def invoke(self, command: InvokeTask) -> TaskResult:
        request = cast(I.WriteRequest, command.input)
        try:
            key = await self.write(request)
        except S3_ERRORS as exc:
            return s3_failed(command, I.RESULT_WRITER_FAILED, exc)
        except LostOutcome:
            return failed(command, F.RUNTIME, F.LOST_OUTCOME)
        return succeeded(command, {"MapRunArn": request["MapRunArn"],
                                   "ResultWriterDetails": {"Bucket": request["Bucket"], "Key": key}})

    async def write(self, request: I.WriteRequest) -> str:
        """Every result file, then the manifest; returns the manifest's key."""
        bucket, arn = request["Bucket"], request["MapRunArn"]
        prefix = request["Prefix"]
        folder = f"{prefix}/" if prefix and not prefix.endswith("/") else prefix
        folder += run_id(arn) + "/"
        config = request["WriterConfig"]
        lines = config["OutputType"] == "JSONL"
        sinks = {s: _Files(self, bucket, f"{folder}{s}_", lines) for s in STATUSES}
        try:
            async for outcome in self._outcomes(request):
                status = outcome.get("status")
                status = status if status in (SUCCEEDED, PENDING) else "FAILED"
                for value in transformed(arn, (outcome,), config["Transformation"]):
                    await sinks[status].add(value)
            files = {s: await sinks[s].close() for s in STATUSES}
        except BaseException:
            for sink in sinks.values():
                await sink.abort()
            raise
        manifest = {"DestinationBucket": bucket, "MapRunArn": arn, "ResultFiles": files}
        key = folder + "manifest.json"
        await self.source.put(bucket, key, orjson.dumps(manifest))
        return key

    async def _outcomes(self, request: I.WriteRequest) -> AsyncIterator[ChildOutcome]:
        """The outcomes by index: the request's, or the stored ones a page at a time."""
        stored = request.get("Stored")
        if stored is None:
            for outcome in cast(list[ChildOutcome], request["Results"]):
                yield outcome
            return
        if self.outcomes is None:  # only a durable runtime stores them, and gives its reader
            raise LostOutcome
        parent, group, total = stored["Execution"], stored["Group"], stored["Total"]
        for start in range(0, total, PAGE):
            page = await self.outcomes.outcome_page(parent, group, start,
                                                    min(PAGE, total - start))
            for raw in page:
                if raw is None:
                    raise LostOutcome
                yield cast(ChildOutcome, orjson.loads(raw))


class _Files:
    """The result files of one status (``<folder><STATUS>_``), written as values come: a
    JSON array each (or JSON Lines), a new file once one would pass the writer's
    ``file_limit`` (a value larger than that alone makes a file of one), each file sent in
    parts once it is larger than ``part_bytes``."""

    def __init__(self, writer: ResultWriter, bucket: str, stem: str, lines: bool) -> None:
        self.source, self.limit, self.part_bytes = writer.source, writer.file_limit, writer.part_bytes
        self.bucket, self.stem = bucket, stem
        self.head, self.sep, self.tail = (b"", b"\n", b"\n") if lines else (b"[", b",", b"]")
        self.done: list[dict[str, Any]] = []
        self.buffer = bytearray()
        self.count = 0
        self.size = len(self.head) + len(self.tail)
        self.upload: str | None = None
        self.etags: list[str] = []

    @property
    def key(self) -> str:
        return f"{self.stem}{len(self.done)}.json"

    async def add(self, value: Any) -> None:
        text = orjson.dumps(value)
        cost = len(text) + (len(self.sep) if self.count else 0)
        if self.count and self.size + cost > self.limit:
            await self._end_file()
            cost = len(text)
        self.buffer += self.sep if self.count else self.head
        self.buffer += text
        self.size += cost
        self.count += 1
        if len(self.buffer) >= self.part_bytes:
            await self._send_part()

    async def close(self) -> list[dict[str, Any]]:
        """The files written (``{"Key", "Size"}`` each), the last one ended."""
        if self.count:
            await self._end_file()
        return self.done

    async def abort(self) -> None:
        """Give up the file being sent in parts, if any (best effort: the failure that
        brought us here is the one to report)."""
        upload, self.upload = self.upload, None
        if upload is not None:
            try:
                await self.source.abort_upload(self.bucket, self.key, upload)
            except (ClientError, BotoCoreError, EgressDenied):
                pass

    async def _send_part(self) -> None:
        if self.upload is None:
            self.upload = await self.source.begin_upload(self.bucket, self.key)
        self.etags.append(await self.source.put_part(self.bucket, self.key, self.upload,
                                                     len(self.etags) + 1, bytes(self.buffer)))
        self.buffer.clear()

    async def _end_file(self) -> None:
        self.buffer += self.tail
        key = self.key
        if self.upload is None:
            await self.source.put(self.bucket, key, bytes(self.buffer))
        else:
            await self._send_part()
            assert self.upload is not None
            await self.source.end_upload(self.bucket, key, self.upload, self.etags)
        self.done.append({"Key": key, "Size": self.size})
        self.buffer.clear()
        self.upload, self.etags = None, []
        self.count, self.size = 0, len(self.head) + len(self.tail)
