"""THE gateway to Redis: nothing outside this package names a key or calls Redis.

* :mod:`.keys` — the key schema (every key, documented) and the shard map;
* :mod:`.codec` — the messages kept in streams and lists (work items, dispatches,
  activity tasks) and the stored record, encoded and decoded in one place;
* :mod:`.scripts` and ``lua/`` — every Lua script, each headed by its KEYS and named ARGV,
  with its reply codes named on both sides;
* :mod:`.client` — the connection (:class:`RedisStore`: pool, scripts, shards, retries
  while Redis is away) and :mod:`.pipe` — the pipelined batches the hot paths use;
* the operations, by who uses them: :class:`Store` (:mod:`.gateway`) for the service —
  :mod:`.machines`, :mod:`.catalog`, :mod:`.executions`, :mod:`.callbacks`, :mod:`.operations`,
  :mod:`.apikeys`, :mod:`.connections` (also read by the workers' invokers); for the
  workers — :mod:`.records` (load, group reads, ``commit(plan)`` of a :class:`Plan`),
  :mod:`.streams` (read, claim, leases, acks, dead letters), :mod:`.timers` (promote,
  wake-ups), :mod:`.housekeeping` (sweep, stats); for both — :mod:`.listeners` (where the
  API listens, for the egress policy); for ``serve --time-skipping`` — :mod:`.virtual_clock`
  (the clock's stored offset, the tasks awaited).

Modules inside the package import each other by module, never through this file.
"""

from statemachine.runtime.store.apikeys import KeyRecord
from statemachine.runtime.store.callbacks import Callbacks
from statemachine.runtime.store.client import UNAVAILABLE, RedisStore, Refused
from statemachine.runtime.store.connections import Connections
from statemachine.runtime.store.gateway import Store
from statemachine.runtime.store.keys import Shard
from statemachine.runtime.store.listeners import announce as announce_listeners
from statemachine.runtime.store.listeners import listeners as api_listeners
from statemachine.runtime.store.listeners import withdraw as withdraw_listeners
from statemachine.runtime.store.plan import GroupState, Plan
from statemachine.runtime.store.records import ChildStart, Records
from statemachine.runtime.store.scripts import (
    AliasReply,
    CallbackReply,
    PublishReply,
    RedriveReply,
    StartReply,
    UnpublishReply,
)
from statemachine.runtime.store.streams import Backlog, StreamGroup, backlog, leases

__all__ = ["UNAVAILABLE", "AliasReply", "Backlog", "CallbackReply", "Callbacks", "ChildStart",
           "Connections",
           "GroupState", "KeyRecord", "Plan", "PublishReply", "Records", "RedisStore",
           "RedriveReply", "Refused", "Shard", "StartReply", "Store", "StreamGroup",
           "UnpublishReply", "announce_listeners", "api_listeners", "backlog", "leases",
           "withdraw_listeners"]
