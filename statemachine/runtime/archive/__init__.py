"""Finished executions kept in S3-compatible object storage (AWS S3, MinIO, ...).

* :mod:`.location` — ``s3://bucket/prefix`` parsed, and the object key of an execution
  (derived from its id alone, so a reader needs no index to find it);
* :mod:`.codec` — one gzip-compressed JSON object per root execution: its record hash's
  fields and its history, deterministic bytes;
* :mod:`.bucket` — the aiobotocore client: put, get (through a small LRU cache, so paging
  an archived history fetches the object once), delete, and the check at start.

The Redis side (which executions to archive, the stub left in place of the record, the
restore before a redrive) is :mod:`statemachine.runtime.store.archiving`; the workers'
archiver loop is :mod:`statemachine.runtime.worker.archiver`.
"""

from statemachine.runtime.archive.bucket import Bucket, BucketError
from statemachine.runtime.archive.codec import Archived, decode, encode
from statemachine.runtime.archive.location import Location, parse_archive_url

__all__ = ["Archived", "Bucket", "BucketError", "Location", "decode", "encode",
           "parse_archive_url"]
