"""The durable worker, made of parts: work items in, ``advance()``, one atomic commit out.

A :class:`Worker` process (``cli.py worker``, or in-process in ``cli.py serve``) composes:

* :mod:`.consumer` — every shard's ``ready`` and ``tasks`` streams read into two inboxes
  (one blocking ``XREADGROUP`` per kind for all shards), idle entries of dead workers
  claimed (``XAUTOCLAIM``), the leases of the entries in hand kept;
* :mod:`.transitions` — the hands of the ready inbox: load → ``advance()`` → plan
  (:mod:`.plan`, pure) → ``commit.lua``, retried from a fresh load when refused;
* :mod:`.dispatcher` — the hands of the tasks inbox: tasks performed by the invokers, each
  result applied at once through the transitions;
* :mod:`.scheduler` — due timers promoted into the ready streams, woken by the commits
  that set an earlier one;
* :mod:`.housekeeping` — counters flushed to ``sm:stats``, listing indexes swept, entries
  whose handling keeps raising dead-lettered;
* :mod:`.loops` — what the loops share: expected failures (Redis away: waited out, one
  log line per outage) told from unexpected ones (logged with the traceback, counted).

``Worker.run(drain=True)`` (``cli.py worker --drain``) returns by itself once no work is
left, like arq's burst mode: the tests end that way instead of polling.

Every Redis call goes through :mod:`statemachine.runtime.store`.
"""

from statemachine.runtime.worker.worker import Worker

__all__ = ["Worker"]
