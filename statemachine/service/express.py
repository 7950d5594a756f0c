"""EXPRESS executions run synchronously in the API process (AWS's ``StartSyncExecution``).

An EXPRESS execution here is the in-memory runner (:class:`~statemachine.runtime.local.
LocalRunner`, what ``cli.py run`` uses) driven in the API's event loop: no transition is
written to Redis, nothing is kept once the answer is sent (AWS sends an EXPRESS
execution's history to CloudWatch Logs only; ``DescribeExecution`` and
``GetExecutionHistory`` do not serve EXPRESS executions).  Its tasks are performed by the
same invokers the workers use — the connections' credentials and the egress policy apply
as on a worker: the settings' allow/deny rules, the API's own listeners (read from Redis,
where ``serve`` records them, as a worker's :class:`ListenerWatch` does) and Redis itself.

Limits as AWS has them: an EXPRESS execution times out after 5 minutes
(:data:`~statemachine.interpreter.records.EXPRESS_LIMIT_S`, applied by the interpreter
together with the definition's ``TimeoutSeconds``); ``StartSyncExecution`` of a STANDARD
machine is ``StateMachineTypeNotSupported``.

Asynchronous starts of an EXPRESS machine (``StartExecution``, and the REST start) are not
made here: they go through the durable engine like a STANDARD one (at-least-once, as AWS's
are), their record flagged ``express`` (``Service.start`` reads the machine's type), so that
``$$.Execution``, the 5-minute limit and the refusal of a redrive are an EXPRESS
execution's.  Unlike AWS, which sends their history to CloudWatch Logs only, this service
keeps their record and history as it does a STANDARD execution's: DescribeExecution and
GetExecutionHistory answer for them (a superset; nothing AWS answers is changed).
"""

from __future__ import annotations

import contextlib
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from enum import StrEnum
from typing import Any, assert_never

import orjson

from statemachine.errors import InputError
from statemachine.interpreter.execution_log import LoggingConfiguration, LogLevel
from statemachine.interpreter.formats import iso
from statemachine.interpreter.records import Status
from statemachine.language.mocks import MockCase
from statemachine.language.model import Machine, compile_machine
from statemachine.runtime import clock
from statemachine.runtime.clock import now_ms
from statemachine.runtime.connections import ConnectionBook
from statemachine.runtime.execution_lines import ExecutionLog
from statemachine.runtime.invokers import Invokers
from statemachine.runtime.invokers.aws.sfn import SfnApi
from statemachine.runtime.local import Invoke, LocalRunner
from statemachine.runtime.mocking import mocked
from statemachine.runtime.nested import StoreStarter
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import RedisStore, api_listeners
from statemachine.service.heads import Heads

MachineLookup = Callable[[str, int | None], Awaitable[dict[str, Any]]]
"""``Service.get_machine``: a stored machine (latest revision unless one is given)."""
PinLookup = Callable[[str, int | str], Awaitable[Any]]
"""``Aliases.pin``: the revision a published version (int) or an alias (str) runs."""

__all__ = ["BILLED_MEMORY_MB", "LISTENERS_REFRESH_S", "Express", "MachineType"]

BILLED_MEMORY_MB = 64
"""What ``billingDetails`` reports as memory: AWS bills EXPRESS memory in 64 MB steps."""
BILLED_STEP_MS = 100
"""AWS bills an EXPRESS execution's duration rounded up to the next 100 ms."""
LISTENERS_REFRESH_S = 15.0
"""How often the API's listeners are read again for the egress policy (a worker's pace)."""
class MachineType(StrEnum):
    """A state machine's type (``get_machine(...)["type"]``; absent: STANDARD)."""

    STANDARD = "STANDARD"
    EXPRESS = "EXPRESS"


class Express:
    """Runs EXPRESS executions for one ``Service`` (reached as ``service.express``)."""

    def __init__(self, settings: Settings, store: RedisStore, connections: ConnectionBook,
                 get_machine: MachineLookup, pin: PinLookup, heads: Heads) -> None:
        self._settings = settings
        self._heads = heads
        self._store = store
        self._connections = connections
        self._get_machine = get_machine
        self._pin = pin
        self._invokers: Invokers | None = None
        self.sfn: SfnApi | None = None
        """The service's AWS API for ``aws-sdk:sfn`` tasks, set by the API layer."""
        self._configured: tuple[str, ...] = ()
        self._listeners_read = -math.inf
        self._machines: dict[tuple[str, int], Machine] = {}
        self._running = 0
        self._log = ExecutionLog(settings)

    async def invokers(self) -> Invokers:
        """The shared invokers, made on first use; the API's listeners refreshed now and then."""
        settings = self._settings
        if self._invokers is None:
            self._invokers = Invokers(replace(settings.invokers, redis_endpoint=settings.redis_url),
                                      self._connections.resolve,
                                      StoreStarter(self._store, settings), self.sfn)
            self._configured = settings.invokers.api_endpoints
        if time.monotonic() - self._listeners_read >= LISTENERS_REFRESH_S:
            self._listeners_read = time.monotonic()
            found = await api_listeners(self._store)
            self._invokers.protect(tuple(sorted({*self._configured, *found})))
        return self._invokers

    async def machine_type(self, name: str) -> MachineType:
        """The type of machine ``name`` (STANDARD for a machine that does not exist: its start
        is refused anyway), read with its head (:mod:`.heads`: at most once a second)."""
        return MachineType((await self._heads.of(name)).type)

    async def close(self) -> None:
        if self._invokers is not None:
            await self._invokers.close()
            self._invokers = None

    async def machine(self, name: str, qualifier: int | str | None = None,
                      ) -> tuple[dict[str, Any], Machine]:
        """The stored machine (its latest revision, or the one its published version (int) or
        alias (str) ``qualifier`` runs) and its compiled form, compiled once per revision
        (revisions never change, and their numbers are never given again)."""
        revision = None if qualifier is None else (await self._pin(name, qualifier)).revision
        stored = await self._get_machine(name, revision)
        key = (name, stored["version"])
        compiled = self._machines.get(key)
        if compiled is None:
            compiled = self._machines[key] = compile_machine(stored["definition"])
        return stored, compiled

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """One of the API process's places for a run in this process (a synchronous
        execution, a TestState): ``ThrottlingException`` (429 on REST) when all
        ``max_sync_executions`` are taken, as AWS throttles, rather than let runs pile up."""
        if self._running >= self._settings.max_sync_executions:
            raise InputError(f"Rate exceeded: this API process already runs {self._running} "
                             "executions in process (STATEMACHINE_MAX_SYNC_EXECUTIONS); "
                             "retry later", "ThrottlingException", 429)
        self._running += 1
        try:
            yield
        finally:
            self._running -= 1

    async def start_sync(self, machine: str, input: Any = None, name: str | None = None, *,
                         qualifier: int | str | None = None, trace_header: str | None = None,
                         include_data: bool = True,
                         mock_case: MockCase | None = None) -> dict[str, Any]:
        """Run an execution of ``machine`` to its end here and return AWS's
        ``StartSyncExecution`` result (timestamps as ISO text, input/output as JSON text).

        ``qualifier``: run the published version (int) or a version the alias (str) picks.
        ``include_data`` False: AWS's ``includedData=METADATA_ONLY``, no input or output.
        ``mock_case``: a mock config's test case answers the states it mocks.
        ``name`` is checked by the caller (the facade's ``check_name``).
        """
        settings = self._settings
        data = orjson.dumps({} if input is None else input)
        if len(data) > settings.max_input_bytes:
            raise InputError(f"input is {len(data)} bytes, over the limit of "
                             f"{settings.max_input_bytes} bytes", "InvalidExecutionInput")
        stored, compiled = await self.machine(machine, qualifier)
        kind = MachineType(stored.get("type", MachineType.STANDARD))
        match kind:
            case MachineType.STANDARD:
                raise InputError(f"state machine {machine!r} is a STANDARD state machine: "
                                 "StartSyncExecution runs EXPRESS state machines only",
                                 "StateMachineTypeNotSupported")
            case MachineType.EXPRESS:
                pass
            case _:
                assert_never(kind)
        name = name or str(uuid.uuid4())
        invoke: Invoke = (await self.invokers()).invoke
        if mock_case is not None:
            invoke = mocked(invoke, mock_case)
        runner = LocalRunner(compiled, invoke, name=machine,
                             express=True, place=settings.record_place)
        runner.virtual_time = clock.virtual()  # serve --time-skipping: its waits skip too
        started = time.monotonic()
        with self.slot():
            result = await runner.run(orjson.loads(data), execution_name=name)
        duration_ms = (time.monotonic() - started) * 1000
        ex = result.execution
        logged = LoggingConfiguration.stored(stored.get("loggingConfiguration"))
        if logged.level is not LogLevel.OFF:  # AWS's only record of an EXPRESS execution
            self._log.finished(logged, ex, stored["version"], result.history, result.origins)
        place = settings.place
        status = ex["status"]
        # Nothing stops a synchronous run from outside: ABORTED cannot end one, but if a bug
        # let it, the caller sees a failure rather than a status AWS never sends.
        shown = status if status in (Status.SUCCEEDED, Status.TIMED_OUT) else Status.FAILED
        billed = max(BILLED_STEP_MS, math.ceil(duration_ms / BILLED_STEP_MS) * BILLED_STEP_MS)
        reply: dict[str, Any] = {
            "executionArn": place.execution(machine, name, express_id=ex["id"]),
            "stateMachineArn": place.machine(machine, qualifier),
            "name": name,
            "startDate": iso(ex["start"]),
            "stopDate": iso(ex["stop"] if ex["stop"] is not None else now_ms()),
            "status": str(shown),
            "error": ex["error"],
            "cause": ex["cause"],
            "input": data.decode() if include_data else None,
            "inputDetails": {"included": include_data},
            "output": (orjson.dumps(ex["output"]).decode()
                       if include_data and status == Status.SUCCEEDED else None),
            "outputDetails": {"included": include_data},
            "billingDetails": {"billedMemoryUsedInMB": BILLED_MEMORY_MB,
                               "billedDurationInMilliseconds": billed},
            "traceHeader": trace_header,
        }
        return reply
