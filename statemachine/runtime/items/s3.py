"""The S3 access a Distributed Map's item reader needs, behind a narrow interface.

:class:`S3Source` opens one aiobotocore client on first use: an object streamed as byte
chunks (:meth:`S3Source.chunks`, never loaded whole) and a bucket listed page by page
(:meth:`S3Source.objects`).  The endpoint is ``STATEMACHINE_AWS_ENDPOINT_S3``, else
``STATEMACHINE_AWS_ENDPOINT``, else AWS's own; credentials and region come from AWS's default
chain.  (Meant to be swapped for the service-wide AWS client factory when it lands: only this
module makes S3 clients.)
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

CHUNK_BYTES = 64 * 1024
"""How much of an object is read at a time."""
LIST_PARAMETERS = ("Prefix", "Delimiter", "StartAfter", "EncodingType", "FetchOwner",
                   "RequestPayer", "ExpectedBucketOwner", "OptionalObjectAttributes")
"""What ``s3:listObjectsV2``'s parameters may carry besides ``Bucket`` (paging is ours)."""


def endpoint() -> str | None:
    """The S3 endpoint the environment names, or None for AWS's."""
    for name in ("STATEMACHINE_AWS_ENDPOINT_S3", "STATEMACHINE_AWS_ENDPOINT"):
        value = os.environ.get(name)
        if value:
            return value
    return None


class S3Source:
    """Reads objects and listings with one long-lived S3 client."""

    def __init__(self, endpoint_url: str | None = None) -> None:
        self._endpoint = endpoint_url
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def _get(self) -> Any:
        async with self._lock:
            if self._client is None:
                url = self._endpoint or endpoint()
                region = (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                          or "us-east-1")
                # a stand-in (moto, MinIO) serves buckets by path, not by host name
                config = AioConfig(s3={"addressing_style": "path"} if url else {},
                                   retries={"max_attempts": 3, "mode": "standard"})
                stack = AsyncExitStack()
                self._client = await stack.enter_async_context(get_session().create_client(
                    "s3", region_name=region, endpoint_url=url, config=config))
                self._stack = stack
            return self._client

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

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
            self._client = None
