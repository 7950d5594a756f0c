"""Task callbacks (``SendTaskSuccess``, ``SendTaskFailure``, ``SendTaskHeartbeat``) as Step
Functions answers them.

A token that was never issued is ``InvalidToken``; one whose task is closed (answered, timed
out, execution stopped) is ``TaskTimedOut`` ("The task token has either expired or the task
associated with the token has already been closed").  Only the first success/failure for a
token transitions.
"""

from __future__ import annotations

from typing import Any, assert_never

import orjson

from statemachine.errors import InputError, InvalidToken, TaskTimedOut
from statemachine.interpreter.records import Execution
from statemachine.interpreter.tokens import derive, task_token, token_execution
from statemachine.runtime.store import CallbackReply, Store
from statemachine.runtime.timings import Timings, callback_waited
from statemachine.runtime.tracing.context import w3c

__all__ = ["MAX_TOKEN", "Callbacks"]

MAX_TOKEN = 1024
_INVALID_TOKEN = "The provided token is not valid."


class Callbacks:
    """Answers to waiting tasks, by token."""

    def __init__(self, store: Store, timings: Timings) -> None:
        """``timings``: where a callback that closes its task observes how long it waited."""
        self._store = store
        self._timings = timings

    async def success(self, token: str, output: Any, traceparent: str | None = None) -> None:
        """``traceparent``: the caller's W3C trace context (the task's span links to it; a
        malformed one is ignored, as W3C says)."""
        data = orjson.dumps(output)
        if len(data) > self._store.settings.max_input_bytes:
            raise InputError(f"output is {len(data)} bytes, over the limit of "
                             f"{self._store.settings.max_input_bytes} bytes", "InvalidOutput")
        await self._callback(token, _traced({"type": "TaskSucceeded", "token": token,
                                             "output": orjson.loads(data)}, traceparent), True)

    async def failure(self, token: str, error: str | None = None, cause: str | None = None,
                      traceparent: str | None = None) -> None:
        await self._callback(token, _traced({"type": "TaskFailed", "token": token, "error": error,
                                             "cause": cause}, traceparent), True)

    async def heartbeat(self, token: str) -> None:
        await self._callback(token, {"type": "TaskHeartbeat", "token": token}, False)

    async def _callback(self, token: str, event: dict[str, Any], consume: bool) -> None:
        execution_id = token_execution(token) if isinstance(token, str) and len(token) <= MAX_TOKEN else None
        if not execution_id or not self._store.shards:
            raise InvalidToken(_INVALID_TOKEN)
        reply, issued = await self._store.callbacks.callback(execution_id, token, event, consume)
        callback_waited(self._timings, issued, event["type"])
        match reply:
            case CallbackReply.ENQUEUED:
                return
            case CallbackReply.NOT_AWAITED:
                record = await self._store.executions.load(execution_id)
                if record is not None and _issued(record, token):
                    raise TaskTimedOut("The task token has either expired or the task associated "
                                       "with the token has already been closed.")
                raise InvalidToken(_INVALID_TOKEN)
            case CallbackReply.NO_RECORD:
                raise InvalidToken(_INVALID_TOKEN)
            case CallbackReply.OTHER_QUEUE:  # answered inside the store (it calls again)
                raise AssertionError("callback.lua's OTHER_QUEUE reached the service")
            case _:
                assert_never(reply)


def _traced(event: dict[str, Any], traceparent: str | None) -> dict[str, Any]:
    """``event`` with the callback's ``traceparent`` when it is a well-formed one."""
    if traceparent is not None and w3c(traceparent) is not None:
        event["traceparent"] = traceparent.strip().lower()
    return event


def _issued(record: Execution, token: str) -> bool:
    """Whether ``token`` is one this execution handed out at some point (it moved on since)."""
    secret = token.partition(".")[2]
    if task_token(record["id"], secret) != token:
        return False
    salt = record["salt"]
    return any(derive(salt, "token", seq) == secret for seq in range(record["seq"] + 1))
