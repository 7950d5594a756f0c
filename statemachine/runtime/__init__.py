"""The asynchronous I/O shell around the pure core: store, workers and task invokers.

Everything that talks to Redis, HTTP services, SQS or the clock lives under this package;
``statemachine.language`` and ``statemachine.interpreter`` never import it.

* :mod:`.store` — the one gateway to Redis (keys, codec, Lua scripts, named operations);
* :mod:`.worker` — the durable worker, made of parts;
* :mod:`.invokers` — task invokers, one plug-in per resource family;
* :mod:`.local` — the in-memory runner (``cli.py run``);
* :mod:`.settings`, :mod:`.embedded` — runtime settings; the private redis-server of ``serve``.
"""
