"""One archived root execution as an object: gzip of deterministic JSON.

The object holds what Redis held: the record hash's fields (``r`` the packed record as
JSON, ``rev``, ``status``, ``token``, ``redrive`` when set) and the history list's entries
(events as stored, without their ids, which their positions give).  So a reader rebuilds
the very values it would have read from Redis, and describe and history show the same
bytes before and after archiving; a restore (before a redrive) writes them back.

The same execution always encodes to the same bytes (fields in name order, gzip without
a time stamp), so archiving it twice is harmless.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["FORMAT", "MAX_OBJECT_BYTES", "Archived", "decode", "encode"]

FORMAT = 1
MAX_OBJECT_BYTES = 512 * 1024 * 1024
"""The most a decompressed object may hold (a bounded read of what a bucket hands us)."""


@dataclass(frozen=True, slots=True)
class Archived:
    """A root execution as archived: its record hash's fields and its stored history."""

    execution_id: str
    fields: dict[str, bytes]
    history: list[bytes]


def encode(archived: Archived) -> bytes:
    fields: dict[str, Any] = {}
    for name, value in sorted(archived.fields.items()):
        # r (the record) and redrive are JSON themselves: kept as JSON, not as a string.
        fields[name] = orjson.loads(value) if name in ("r", "redrive") else value.decode()
    body = {"format": FORMAT, "id": archived.execution_id, "fields": fields,
            "history": [orjson.loads(event) for event in archived.history]}
    # Not OPT_SORT_KEYS: it would reorder the keys of inputs and outputs, which must come
    # back as they went in; the order above is fixed already.
    return gzip.compress(orjson.dumps(body), compresslevel=6, mtime=0)


def decode(blob: bytes) -> Archived:
    """The object :func:`encode` made; ValueError for anything else."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(blob)) as stream:
            text = stream.read(MAX_OBJECT_BYTES + 1)
        if len(text) > MAX_OBJECT_BYTES:
            raise ValueError("larger than MAX_OBJECT_BYTES decompressed")
        body = orjson.loads(text)
        if body.get("format") != FORMAT:
            raise ValueError(f"unknown format {body.get('format')!r}")
        fields = {name: orjson.dumps(value) if name in ("r", "redrive") else str(value).encode()
                  for name, value in body["fields"].items()}
        return Archived(str(body["id"]), fields, [orjson.dumps(e) for e in body["history"]])
    except (OSError, EOFError, KeyError, TypeError, AttributeError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"not an archived execution: {exc}") from exc
