"""``nextToken``: an opaque token wrapping the service's own cursor.

The token is the cursor and the listing it belongs to (``kind``: which operation, and
whatever of the request must stay the same between pages), base64url-encoded JSON: a
token of another listing, or one that is not ours, is ``InvalidToken`` as on AWS.
"""

from __future__ import annotations

import base64
import binascii

import orjson

from statemachine.api.aws.call import AwsError

__all__ = ["DEFAULT_PAGE", "page_size", "read_token", "write_token"]

DEFAULT_PAGE = 100


def page_size(max_results: int | None, default: int = DEFAULT_PAGE) -> int:
    """``maxResults`` as a page size: 0 or absent means the default (AWS's reading)."""
    return max_results or default


def write_token(kind: str, cursor: str | None) -> str | None:
    """The ``nextToken`` for ``cursor`` (None when there is no next page)."""
    if cursor is None:
        return None
    return base64.urlsafe_b64encode(orjson.dumps({"k": kind, "c": cursor})).decode()


def read_token(kind: str, token: str | None) -> str | None:
    """The cursor a ``nextToken`` of listing ``kind`` wraps (None for no token)."""
    if token is None:
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        value = None
    if (not isinstance(value, dict) or value.get("k") != kind
            or not isinstance(value.get("c"), str)):
        raise AwsError("InvalidToken", f"Invalid Token: '{token[:100]}'")
    cursor: str = value["c"]
    return cursor
