"""The asynchronous I/O shell around the pure core: store, timers, workers and task invokers.

Everything that talks to Redis, HTTP services, SQS or the clock lives under this package;
``statemachine.language`` and ``statemachine.interpreter`` never import it.
"""
