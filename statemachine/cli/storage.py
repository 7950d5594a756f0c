"""Where and how long ``cli.py serve`` and ``cli.py worker`` keep data: replica
acknowledgement, the archive, retention.

``--min-replicas-ack N`` (``STATEMACHINE_MIN_REPLICAS_ACK``) acknowledges a write only once
N replicas of its Redis master hold it (``WAIT``; see the README's "Scaling out").

``--archive-url s3://bucket/prefix`` (``STATEMACHINE_ARCHIVE_URL``) moves finished
executions to that bucket ``--archive-after`` (``STATEMACHINE_ARCHIVE_AFTER_S``, default
1h) after they end; ``--archive-endpoint`` (``STATEMACHINE_ARCHIVE_ENDPOINT``, else
botocore's ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``) names an S3-compatible server.
``--retention`` (``STATEMACHINE_RETENTION_S``, default 7d) is how long a finished execution
is kept at all, in Redis or in the archive.  Durations read ``90``, ``30s``, ``15m``,
``1h``, ``7d``.  A malformed URL stops the command (exit 2); so does a bucket that does
not answer at start.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

__all__ = ["add_storage_arguments", "archive_problem", "check_bucket", "duration",
           "with_storage"]

_DURATION = re.compile(r"(\d{1,9})([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> int:
    """Seconds of ``90``, ``30s``, ``15m``, ``1h`` or ``7d`` (argparse type)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is no duration (like 30s, 15m, 1h, 7d)")
    return int(match[1]) * _UNITS[match[2]]


def add_storage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--min-replicas-ack", type=_count, default=None, metavar="N",
                        help="acknowledge a write only once N replicas of its Redis master "
                        "hold it (WAIT), so losing a master loses no acknowledged transition "
                        "(default: $STATEMACHINE_MIN_REPLICAS_ACK or 0; see README, Scaling out)")
    parser.add_argument("--archive-url", default=None, metavar="s3://BUCKET/PREFIX",
                        help="move finished executions to this S3 bucket (default: "
                        "$STATEMACHINE_ARCHIVE_URL; none: they stay in Redis until retention)")
    parser.add_argument("--archive-after", type=duration, default=None, metavar="DURATION",
                        help="archive an execution this long after it ends (default: "
                        "$STATEMACHINE_ARCHIVE_AFTER_S seconds, else 1h)")
    parser.add_argument("--archive-endpoint", default=None, metavar="URL",
                        help="S3-compatible endpoint, e.g. MinIO's (default: "
                        "$STATEMACHINE_ARCHIVE_ENDPOINT, else $AWS_ENDPOINT_URL_S3, else AWS)")
    parser.add_argument("--retention", type=duration, default=None, metavar="DURATION",
                        help="keep finished executions this long, archived or not (default: "
                        "$STATEMACHINE_RETENTION_S seconds, else 7d)")


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of replicas (0, 1, 2, ...)")
    return int(text)


def with_storage(settings: Any, args: argparse.Namespace) -> Any:
    """``settings`` with the replica, archive and retention flags that were given."""
    return settings.with_(min_replicas_ack=getattr(args, "min_replicas_ack", None),
                          archive_url=getattr(args, "archive_url", None),
                          archive_after_s=getattr(args, "archive_after", None),
                          archive_endpoint=getattr(args, "archive_endpoint", None),
                          retention_s=getattr(args, "retention", None))


def archive_problem(settings: Any) -> str | None:
    """Why the archive settings are unusable, or None."""
    from statemachine.runtime.archive import parse_archive_url

    if not settings.archive_url:
        return None
    try:
        parse_archive_url(settings.archive_url)
    except ValueError as exc:
        return str(exc)
    if settings.archive_after_s < 0 or settings.retention_s < 1:
        return "--archive-after must be 0 or more and --retention 1s or more"
    return None


async def check_bucket(service: Any, *, close: bool = False) -> str | None:
    """Why the archive bucket cannot be used (one line), or None (or no archive); with
    ``close``, the service is closed after."""
    from statemachine.runtime.archive import BucketError

    try:
        if service.store.bucket is not None:
            await service.store.bucket.check()
    except BucketError as exc:
        return str(exc)
    finally:
        if close:
            await service.close()
    return None
