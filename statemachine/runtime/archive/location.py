"""Where archived executions live: ``s3://bucket/prefix`` and the key of one execution."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Location", "parse_archive_url"]

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
"""S3's bucket naming rule (3 to 63 lowercase letters, digits, dots and hyphens)."""
MAX_PREFIX = 512


@dataclass(frozen=True, slots=True)
class Location:
    """A bucket and a key prefix ("" or ending without a slash)."""

    bucket: str
    prefix: str = ""

    def key(self, execution_id: str) -> str:
        """The object key of a root execution: ``<prefix>/<xx>/<id>.json.gz``, ``xx`` two hex
        digits of a hash of the id, so that keys spread over S3's partitions and a prefix
        listing of one part stays small."""
        spread = hashlib.blake2b(execution_id.encode(), digest_size=1).hexdigest()
        head = f"{self.prefix}/" if self.prefix else ""
        return f"{head}{spread}/{execution_id}.json.gz"

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def parse_archive_url(url: str) -> Location:
    """``s3://bucket[/prefix]`` as a :class:`Location`; ValueError saying what is wrong."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"malformed archive URL {url!r}: {exc}") from None
    if parts.scheme != "s3":
        raise ValueError(f"the archive URL must look like s3://bucket/prefix, not {url!r}")
    if parts.query or parts.fragment or "@" in parts.netloc or ":" in parts.netloc:
        raise ValueError(f"the archive URL takes a bucket and a prefix only, not {url!r} "
                         "(the endpoint is --archive-endpoint; credentials come from the "
                         "AWS environment)")
    if not _BUCKET.fullmatch(parts.netloc):
        raise ValueError(f"{parts.netloc!r} is not a valid S3 bucket name (3 to 63 lowercase "
                         "letters, digits, dots and hyphens)")
    prefix = parts.path.strip("/")
    if len(prefix) > MAX_PREFIX or "//" in prefix:
        raise ValueError(f"the archive prefix {prefix!r} is too long or has an empty part")
    return Location(parts.netloc, prefix)
