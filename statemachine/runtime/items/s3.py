"""The S3 access a Distributed Map needs, behind a narrow interface.

:class:`S3Source` reads with the S3 client of the service-wide AWS client factory
(:class:`~statemachine.runtime.invokers.aws.clients.AwsClients`: its endpoint overrides,
credentials and egress policy): an object streamed as byte chunks (:meth:`S3Source.chunks`,
never loaded whole) and a bucket listed page by page (:meth:`S3Source.objects`); and it
writes a Map Run's result files, whole (:meth:`S3Source.put`) or a part at a time (a
multipart upload: :meth:`S3Source.begin_upload`, ``put_part``, ``end_upload``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers.base import TaskResult, failed
from statemachine.runtime.invokers.egress import EGRESS_ERROR, EgressDenied

CHUNK_BYTES = 64 * 1024
"""How much of an object is read at a time."""
LIST_PARAMETERS = ("Prefix", "Delimiter", "StartAfter", "EncodingType", "FetchOwner",
                   "RequestPayer", "ExpectedBucketOwner", "OptionalObjectAttributes")
"""What ``s3:listObjectsV2``'s parameters may carry besides ``Bucket`` (paging is ours)."""

S3_ERRORS = (ClientError, BotoCoreError, EgressDenied)
"""What S3 (or the way to it) can answer a reader's or writer's task with."""


def s3_failed(command: InvokeTask, error: str, exc: Exception) -> TaskResult:
    """``command`` (a ReadItems or WriteResults task) failed on S3's side: ``error`` with
    AWS's SDK wording, or the egress policy's refusal."""
    match exc:
        case EgressDenied():  # the S3 endpoint is one task requests may not reach
            return failed(command, EGRESS_ERROR, str(exc))
        case ClientError():
            return failed(command, error, service_cause(exc))
        case _:
            return failed(command, error, f"S3 could not be reached: {exc}")


def service_cause(exc: ClientError) -> str:
    """AWS's SDK wording: ``<message> (Service: S3, Status Code: n, Request ID: id)``."""
    error = exc.response.get("Error") or {}
    meta = exc.response.get("ResponseMetadata") or {}
    message = error.get("Message") or error.get("Code") or str(exc)
    return (f"{message} (Service: S3, Status Code: {meta.get('HTTPStatusCode', 0)}, "
            f"Request ID: {meta.get('RequestId', '')})")


class S3Source:
    """Reads objects and listings with the factory's S3 client."""

    def __init__(self, client: Callable[[], Awaitable[Any]]) -> None:
        """``client``: the S3 client, checked against the egress policy at each call."""
        self._get = client

    async def chunks(self, bucket: str, key: str, **params: Any) -> AsyncIterator[bytes]:
        """The object's bytes, a chunk at a time (``params``: GetObject's others, e.g.
        ``VersionId``)."""
        client = await self._get()
        response = await client.get_object(Bucket=bucket, Key=key, **params)
        async with response["Body"] as body:
            while True:
                chunk = await body.read(CHUNK_BYTES)
                if not chunk:
                    return
                yield chunk

    async def objects(self, bucket: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """Every object of a ListObjectsV2 listing (``Contents`` entries), page by page."""
        client = await self._get()
        kwargs = {k: v for k, v in params.items() if k in LIST_PARAMETERS}
        token: str | None = None
        while True:
            page = await client.list_objects_v2(
                Bucket=bucket, **kwargs, **({"ContinuationToken": token} if token else {}))
            for entry in page.get("Contents") or ():
                yield entry
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    async def put(self, bucket: str, key: str, body: bytes) -> None:
        """Write one object (a Map Run's result file or manifest)."""
        client = await self._get()
        await client.put_object(Bucket=bucket, Key=key, Body=body)

    async def begin_upload(self, bucket: str, key: str) -> str:
        """Begin a multipart upload of ``key`` (a result file written a part at a time);
        its upload id."""
        client = await self._get()
        response = await client.create_multipart_upload(Bucket=bucket, Key=key)
        return str(response["UploadId"])

    async def put_part(self, bucket: str, key: str, upload: str, number: int,
                       body: bytes) -> str:
        """Upload part ``number`` (from 1; each but the last at least 5 MiB, S3's rule);
        its ETag."""
        client = await self._get()
        response = await client.upload_part(Bucket=bucket, Key=key, UploadId=upload,
                                            PartNumber=number, Body=body)
        return str(response["ETag"])

    async def end_upload(self, bucket: str, key: str, upload: str, etags: list[str]) -> None:
        """Complete the upload from its parts, in order."""
        client = await self._get()
        parts = [{"ETag": etag, "PartNumber": n} for n, etag in enumerate(etags, 1)]
        await client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                               MultipartUpload={"Parts": parts})

    async def abort_upload(self, bucket: str, key: str, upload: str) -> None:
        """Give an unfinished upload up (its parts are deleted)."""
        client = await self._get()
        await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
