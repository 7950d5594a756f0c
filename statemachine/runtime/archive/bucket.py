"""The bucket archived executions go to, through aiobotocore.

Credentials come from the normal AWS chain (environment, shared files, instance or task
role); the endpoint from ``--archive-endpoint`` / ``STATEMACHINE_ARCHIVE_ENDPOINT``, else
botocore's own ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``, else AWS.  With an endpoint
of its own (MinIO, moto) the bucket is addressed by path, which every S3-compatible server
understands.

Reads go through a small LRU cache of decoded objects: paging through an archived history
(AWS's GetExecutionHistory asks for 100 events at a time) fetches the object once.  An
archived object never changes (a restore before a redrive takes the execution back into
Redis, and a new archive writes the same key only after that), so a cached entry is never
stale for what readers ask of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from statemachine.errors import StateMachineError
from statemachine.runtime.archive.codec import Archived, decode, encode
from statemachine.runtime.archive.location import Location

__all__ = ["CACHE_ENTRIES", "Bucket", "BucketError"]

CACHE_ENTRIES = 64
"""Decoded objects kept in memory per process."""
_MISSING = ("NoSuchKey", "404", "NotFound")
# botocore says at INFO, each time a client is made, where it found the credentials: noise
# in a service's log (a failure to find any is an error that reaches us anyway).
logging.getLogger("aiobotocore.credentials").setLevel(logging.WARNING)


class BucketError(StateMachineError):
    """The bucket could not be reached or refused a request (logged, retried later)."""


class Bucket:
    """Put, get, delete archived executions in one bucket under one prefix."""

    def __init__(self, location: Location, endpoint: str | None = None,
                 region: str | None = None, timeout_s: float = 10.0) -> None:
        self.location = location
        self._endpoint = endpoint or None
        self._region = region
        self._config = AioConfig(
            connect_timeout=timeout_s, read_timeout=timeout_s,
            retries={"max_attempts": 2, "mode": "standard"},
            s3={"addressing_style": "path"} if endpoint else None,
            max_pool_connections=32)
        self._stack = contextlib.AsyncExitStack()
        self._client: Any = None
        self._opening = asyncio.Lock()
        self._cache: OrderedDict[str, Archived] = OrderedDict()

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    session = get_session()
                    self._client = await self._stack.enter_async_context(session.create_client(
                        "s3", endpoint_url=self._endpoint, region_name=self._region,
                        config=self._config))
        return self._client

    async def close(self) -> None:
        self._client = None
        await self._stack.aclose()

    async def check(self) -> None:
        """Raise :class:`BucketError` unless the bucket exists and answers (HeadBucket)."""
        try:
            await (await self._s3()).head_bucket(Bucket=self.location.bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            reason = ("no such bucket" if code in ("404", "NoSuchBucket")
                      else "access denied (check the credentials and the bucket policy)"
                      if code in ("403", "AccessDenied") else _reason(exc))
            raise BucketError(f"the archive bucket {self.location} is not usable: "
                              f"{reason}") from exc
        except (BotoCoreError, OSError) as exc:
            raise BucketError(f"the archive bucket {self.location} is not usable: "
                              f"{_reason(exc)}") from exc

    async def put(self, archived: Archived) -> int:
        """Store ``archived`` (overwriting the same execution's object); its size in bytes."""
        blob = encode(archived)
        try:
            await (await self._s3()).put_object(
                Bucket=self.location.bucket, Key=self.location.key(archived.execution_id),
                Body=blob, ContentType="application/json", ContentEncoding="gzip")
        except (BotoCoreError, ClientError, OSError) as exc:
            raise BucketError(f"storing {archived.execution_id} in {self.location} failed: "
                              f"{_reason(exc)}") from exc
        return len(blob)

    async def get(self, execution_id: str) -> Archived | None:
        """The archived execution (from the cache when there), or None when the bucket has
        no object for it."""
        cached = self._cache.get(execution_id)
        if cached is not None:
            self._cache.move_to_end(execution_id)
            return cached
        try:
            reply = await (await self._s3()).get_object(
                Bucket=self.location.bucket, Key=self.location.key(execution_id))
            async with reply["Body"] as body:
                blob = await body.read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise BucketError(f"reading {execution_id} from {self.location} failed: "
                              f"{_reason(exc)}") from exc
        except (BotoCoreError, OSError) as exc:
            raise BucketError(f"reading {execution_id} from {self.location} failed: "
                              f"{_reason(exc)}") from exc
        try:
            archived = decode(blob)
        except ValueError as exc:
            raise BucketError(f"the object of {execution_id} in {self.location} is "
                              f"unreadable: {exc}") from exc
        self._cache[execution_id] = archived
        if len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)
        return archived

    def forget(self, execution_id: str) -> None:
        """Drop a cached object (its execution went back into Redis)."""
        self._cache.pop(execution_id, None)

    async def delete(self, execution_ids: list[str]) -> None:
        """Delete the objects of ``execution_ids`` (at most 1,000: one DeleteObjects);
        an absent object is no error."""
        if not execution_ids:
            return
        for execution_id in execution_ids:
            self.forget(execution_id)
        keys = [{"Key": self.location.key(x)} for x in execution_ids]
        try:
            reply = await (await self._s3()).delete_objects(
                Bucket=self.location.bucket, Delete={"Objects": keys, "Quiet": True})
        except (BotoCoreError, ClientError, OSError) as exc:
            raise BucketError(f"deleting archived executions from {self.location} failed: "
                              f"{_reason(exc)}") from exc
        errors = reply.get("Errors") or []
        if errors:
            first = errors[0]
            raise BucketError(f"deleting {len(errors)} archived executions from "
                              f"{self.location} failed: {first.get('Code')}: "
                              f"{first.get('Message')}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', '?')}: {error.get('Message') or exc}"
    return f"{type(exc).__name__}: {exc}"
