"""Execution ids: random UUID4s placed on the shard their start script runs on.

Starting by name is one script on one shard only if the execution lives on the shard of
its name's index entry (:func:`~statemachine.runtime.store.keys.shard_of_name`); the id is
random, so it is drawn until its own shard (:func:`~statemachine.runtime.store.keys.shard_of`)
is that one, cheaply: only its last three hex digits are tried.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from functools import cache

from statemachine.runtime.store.keys import shard_of_name

__all__ = ["id_on_shard", "new_id", "self_named_id"]

_ID_LENGTH = 36
_SUFFIXES = tuple(f"{n:03x}".encode() for n in range(16**3))
_VARIANT = "89ab"


@cache
def _suffix_deltas() -> tuple[int, ...]:
    """How each 3-hex-digit id ending changes the id's crc32, relative to ending "000".

    crc32 is affine over XOR for inputs of one length, so ``crc32(p + s)`` is
    ``crc32(p + "000") ^ delta[s]``: trying an ending costs one XOR, not a crc32.
    """
    zeros = bytes(_ID_LENGTH - 3)
    base = zlib.crc32(zeros + b"000")
    return tuple(zlib.crc32(zeros + suffix) ^ base for suffix in _SUFFIXES)


def _random_prefix() -> bytes:
    """The first 33 characters of a random UUID4 (version and variant set): 110 random bits."""
    h = os.urandom(16).hex()
    variant = _VARIANT[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:29]}".encode()


def id_on_shard(wanted: int, shards: int) -> str:
    """A random UUID4 whose shard (``keys.shard_of``) is ``wanted``: a random prefix, a fitting ending."""
    deltas = _suffix_deltas()
    while True:
        prefix = _random_prefix()
        base = zlib.crc32(prefix + b"000")
        for index, delta in enumerate(deltas):
            if (base ^ delta) % shards == wanted:
                return (prefix + _SUFFIXES[index]).decode()


def self_named_id(machine: str, shards: int) -> str:
    """A random UUID4 whose shard is also the shard of its own name in ``machine``'s index.

    Both shards depend on the whole id, so endings are tried (about ``shards`` of them),
    each for the price of an XOR and a copy of a blake2b state primed with the prefix.
    """
    deltas = _suffix_deltas()
    while True:
        prefix = _random_prefix()
        base = zlib.crc32(prefix + b"000")
        primed = hashlib.blake2b(f"{machine}\x00".encode() + prefix, digest_size=4)
        for index, delta in enumerate(deltas):
            digest = primed.copy()
            digest.update(_SUFFIXES[index])
            if int.from_bytes(digest.digest(), "big") % shards == (base ^ delta) % shards:
                return (prefix + _SUFFIXES[index]).decode()


def new_id(machine: str, name: str | None, shards: int) -> tuple[str, str]:
    """An execution id and name: on the shard of the name's index entry; an unnamed
    execution is named after its id, so its id must land on the shard its own name hashes to."""
    if name is None:
        execution_id = self_named_id(machine, shards)
        return execution_id, execution_id
    return id_on_shard(shard_of_name(machine, name, shards), shards), name

