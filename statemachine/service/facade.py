"""The one facade the REST API and the command line use: define, start, describe, stop...

Every method is async: it checks its arguments and calls the store's gateway
(:class:`~statemachine.runtime.store.Store`), which alone talks to Redis; workers
(:mod:`statemachine.runtime.worker`) are separate and may run in other processes.
Errors are the exceptions of :mod:`statemachine.errors`: ``DefinitionError``,
``InputError``, ``NotFound``, ``Conflict``, ``InvalidToken``, ``TaskTimedOut``.

Behaviour taken from Step Functions:

* ``start`` is idempotent by name: the same name and input give back the same execution,
  another input is a ``Conflict`` (AWS's ExecutionAlreadyExists).  Input is limited to
  256 KiB, names to 80 characters without whitespace or ``<>{}[]?*"#%\\^|~`$&,;:/``.
* Callbacks (``SendTaskSuccess`` & co.) are answered as AWS's: :mod:`.callbacks`.

Operations: ``dead_letters`` lists the work items the workers gave up on (see
:mod:`statemachine.runtime.worker`) and ``requeue_dead_letter`` puts one back, like an SQS
redrive; ``stats`` reads the gauges and the workers' counters ``GET /metrics`` shows.
An execution's log (its history as its machine's loggingConfiguration logs it) is
:attr:`Service.logs` (:mod:`.execution_logs`).  Connections (credentials HTTP tasks use) are
:attr:`Service.connections`
(:class:`~statemachine.runtime.connections.ConnectionBook`).  Two operations run in this
process, with the workers' invokers: ``start_sync`` (an EXPRESS execution, :mod:`.express`)
and ``test_state`` (AWS's TestState, :mod:`.probe`).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from collections.abc import Callable
from typing import Any, assert_never

import orjson

from statemachine.errors import (
    Conflict,
    InputError,
    NotFound,
)
from statemachine.interpreter.children import batch_size, root_of
from statemachine.interpreter.execution_log import OFF, LoggingConfiguration
from statemachine.interpreter.formats import iso
from statemachine.interpreter.records import TERMINAL, Execution, Status
from statemachine.interpreter.step import new_execution
from statemachine.runtime.clock import now_ms
from statemachine.runtime.connections import ConnectionBook
from statemachine.runtime.settings import Settings
from statemachine.runtime.store import (
    StartReply,
    Store,
    announce_listeners,
    withdraw_listeners,
)
from statemachine.runtime.timings import Timings
from statemachine.security.roles import Role
from statemachine.service.activities import ActivityBook
from statemachine.service.aliases import Aliases
from statemachine.service.callbacks import Callbacks
from statemachine.service.catalog import Catalog
from statemachine.service.definitions import check_name, checked_definition
from statemachine.service.execution_logs import ExecutionLogs
from statemachine.service.express import Express, MachineType
from statemachine.service.heads import Heads
from statemachine.service.map_runs import MapRunBook, own_id
from statemachine.service.mocks import check_test_case
from statemachine.service.operations import Operations
from statemachine.service.probe import CALLER_ROLE, InspectionLevel, Mock, run_test_state
from statemachine.service.queues import Queues, checked_queue
from statemachine.service.redrive import (
    check_redrive_filter,
    redrive,
    redrive_fields,
    redrive_summary,
    redriven_only,
)
from statemachine.service.resources import logging_config
from statemachine.service.validation import Checked, check_definition

# The cursors ``nextCursor`` gives: ``<start ms>|<execution id>`` of executions, an event
# number of a history; numbers short enough for Redis.  The OpenAPI document states these.
EXECUTIONS_CURSOR = re.compile(r"([0-9]{1,18})\|([^|]+)")
HISTORY_CURSOR = re.compile(r"[0-9]{1,18}")
_STATUSES = frozenset(Status)


_SECOND: list[Any] = [None, ""]


def _start_date(ms: int) -> str:
    """``iso(ms)`` for start times: the text of the current second is made once, not per start."""
    second = ms // 1000
    if _SECOND[0] != second:
        _SECOND[1] = iso(second * 1000)[:-4]
        _SECOND[0] = second
    return f"{_SECOND[1]}{ms % 1000:03d}Z"


def _express(express: bool) -> dict[str, Any]:
    return {"express": True} if express else {}


def _not_found(execution_id: Any) -> NotFound:
    return NotFound(f"execution {execution_id!r} does not exist", "ExecutionDoesNotExist")


class Service:
    """Definitions, executions, callbacks and activities over one Redis."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.settings = store.settings
        self.connections = ConnectionBook(store.connections, store.settings.data_dir,
                                          place=store.settings.place)
        self.activities = ActivityBook(store)
        self.catalog = Catalog(store, store.settings)
        self.operations = Operations(store)
        self.aliases = Aliases(store, store.settings)
        self.heads = Heads(store.catalog)  # as starts read them: once a second per name
        self.express = Express(store.settings, store.core, self.connections, self.get_machine,
                               self.aliases.pin, self.heads)
        self.map_runs = MapRunBook(store, self._summary)
        self.timings = Timings()
        """This process's start latency and callback wait observations (the API flushes
        them: ``operations.flush_timings``)."""
        self.callbacks = Callbacks(store, self.timings)
        self.queues = Queues(store, self.heads)
        self.logs = ExecutionLogs(store, store.settings.place, self._record)

    @classmethod
    async def connect(cls, redis_url: str, *, settings: Settings | None = None) -> Service:
        base = settings or Settings.from_env()
        return cls(await Store.connect(base.with_(redis_url=redis_url)))

    async def close(self) -> None:
        await self.express.close()
        await self.store.close()

    async def healthy(self) -> bool:
        """Redis answers PING within two seconds."""
        return await self.store.healthy()

    async def announce_listeners(self, endpoints: list[str], ttl_s: float) -> None:
        """Record where the API listens (``host:port``s), for the workers' egress policy."""
        await announce_listeners(self.store.core, endpoints, ttl_s)

    async def withdraw_listeners(self, endpoints: list[str]) -> None:
        await withdraw_listeners(self.store.core, endpoints)

    # -- state machines ----------------------------------------------------------------------

    async def define(self, name: str, definition: dict[str, Any] | str,
                     substitutions: dict[str, str] | None = None,
                     logging: Any = None, queue: str | None = None) -> dict[str, Any]:
        """Validate and compile ``definition``, store it as ``name``'s next version, with
        the ``logging`` configuration given (else the version before's); with ``queue``,
        make it the queue of the machine's new executions (:mod:`.queues`)."""
        check_name(name, "state machine name")
        queue = None if queue is None else checked_queue(queue)
        changes = ({} if logging is None
                   else {"loggingConfiguration": logging_config(logging, need_destination=False)})
        checked = checked_definition(definition, substitutions)
        version, created, _ = await self.catalog.revise(name, checked, **changes)
        if queue is not None:
            await self.queues.assign(name, queue)
        return {"name": name, "version": version, "createdAt": created, "definition": checked,
                "loggingConfiguration": await self.logging_of(name, version),
                **({} if queue is None else {"queue": queue})}

    @staticmethod
    def validate_definition(text: str, machine_type: str = "STANDARD") -> Checked:
        """Every problem of definition ``text`` (see :mod:`~statemachine.service.validation`)."""
        return check_definition(text, machine_type)

    async def list_machines(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in (await self.get_machine(n)).items() if k != "definition"}
                for n in await self.store.machines.names()]

    async def get_machine(self, name: str, version: int | None = None) -> dict[str, Any]:
        """One version of a state machine (the latest by default).

        Versions never change once written, so the store decodes each once and keeps it;
        the latest version number is read every time (one small HGET).  The returned
        ``definition`` is shared with that cache: callers must not modify it.
        """
        head = await self.store.catalog.head(name)  # latest and type in one round trip
        if version is None:
            version = head.latest
            if version is None:
                raise NotFound(f"state machine {name!r} does not exist", "StateMachineDoesNotExist")
        stored = await self.store.machines.version(name, version)
        if stored is None:
            raise NotFound(f"state machine {name!r} has no version {version}",
                           "StateMachineDoesNotExist")
        return {"name": name, "version": version, "createdAt": stored["createdAt"],
                "type": head.type, "definition": stored["definition"],
                "loggingConfiguration": stored.get("loggingConfiguration", OFF.shape()),
                **({} if head.queue is None else {"queue": head.queue})}

    async def logging_of(self, name: str, version: int) -> dict[str, Any]:
        """The loggingConfiguration of ``name``'s version ``version`` (OFF: none set)."""
        stored = await self.store.machines.version(name, version)
        return LoggingConfiguration.stored((stored or {}).get("loggingConfiguration")).shape()

    # -- executions ----------------------------------------------------------------------------

    async def start(self, machine: str, input: Any = None, name: str | None = None, *,
                    qualifier: int | str | None = None,
                    express: bool | None = None,
                    trace_header: str | None = None,
                    test_case: str | None = None) -> dict[str, Any]:
        """Start an execution of ``machine``'s latest version (idempotent by ``name``), or of
        its published version ``qualifier`` (int) or of a version its alias (str) picks;
        ``trace_header`` (AWS X-Ray's) is kept and shown by describe; ``test_case``: run with
        that test case of the mock config (:mod:`.mocks`; part of what makes a start by the
        same name the same).

        An EXPRESS machine's (asynchronous) start: the durable engine runs it (at-least-once,
        as AWS does), its record flagged so that ``$$.Execution`` and the 5-minute limit are
        an EXPRESS execution's (:mod:`.express`), and the answer says ``"express": true``.
        ``express`` None: the machine's type says (read once a second per name at most:
        :mod:`.heads`); a caller that knows it passes it.

        One script round trip (shared with the other starts of the same event-loop turn):
        the script itself reads the latest version from its shard's copy; only a shard that
        has no copy yet costs a second read of the global latest version.
        """
        if name is not None:
            check_name(name, "execution name")
        if test_case is not None:
            check_test_case(self.settings.mock_config, machine, test_case)
        data = orjson.dumps({} if input is None else input, option=orjson.OPT_SORT_KEYS)
        if len(data) > self.settings.max_input_bytes:
            raise InputError(f"input is {len(data)} bytes, over the limit of "
                             f"{self.settings.max_input_bytes} bytes", "InvalidExecutionInput")
        if express is None:
            express = await self.express.machine_type(machine) == MachineType.EXPRESS
        unnamed = name is None
        execution_id, name = self.store.executions.new_id(machine, name)
        now = now_ms()
        record = new_execution(execution_id=execution_id, name=name, machine=machine,
                               machine_version=0, input=orjson.loads(data), now=now,
                               salt=secrets.token_hex(16), place=self.settings.record_place,
                               express=express, test_case=test_case)
        if trace_header:
            record["trace"] = trace_header  # X-Ray's header: kept, shown by describe
        if (queue := await self.queues.of(machine)) is not None:
            record["queue"] = queue  # its work goes to that queue's workers
        revision = None
        if qualifier is not None:
            pin = await self.aliases.pin(machine, qualifier)
            revision, record["published_version"] = pin.revision, pin.version
            if pin.alias is not None:
                record["alias"] = pin.alias
        digest = hashlib.sha256(data)
        if test_case is not None:  # the same name with another case is another execution
            digest.update(f"#{test_case}".encode())
        started = await self.store.executions.start(record, digest.hexdigest(),
                                                    unnamed=unnamed, revision=revision)
        match started.reply:
            case StartReply.CREATED:
                return {"executionId": execution_id, "name": name, "stateMachine": machine,
                        "version": started.version, "startDate": _start_date(now),
                        "status": Status.RUNNING, "created": True, **_express(express)}
            case StartReply.EXISTS:
                existing = await self.describe(started.execution_id)
                return {"executionId": started.execution_id, "name": existing["name"],
                        "stateMachine": machine, "version": existing["version"],
                        "startDate": existing["startDate"], "status": existing["status"],
                        "created": False, **_express(express)}
            case StartReply.OTHER_INPUT:
                raise Conflict(f"execution {name!r} of {machine!r} already exists with another "
                               f"input ({started.execution_id})", "ExecutionAlreadyExists")
            case StartReply.NAME_TAKEN:
                raise Conflict(f"execution {name!r} of {machine!r} already exists",
                               "ExecutionAlreadyExists")
            case StartReply.NO_VERSION:
                raise NotFound(f"state machine {machine!r} does not exist",
                               "StateMachineDoesNotExist")
            case _:
                assert_never(started.reply)

    async def find_execution(self, machine: str, name: str) -> str:
        """The id of ``machine``'s execution named ``name`` (what its ARN names); a Map Run
        child's machine is ``<machine>/<label>``, its id read from its name."""
        if "/" in machine:
            return await self.map_runs.find_child(machine, name)
        found = await self.store.executions.find(machine, check_name(name, "execution name"))
        if found is None:
            raise NotFound(f"Execution Does Not Exist: '{self.settings.place.execution(machine, name)}'",
                           "ExecutionDoesNotExist")
        return found

    async def _record(self, execution_id: str) -> Execution:
        if not isinstance(execution_id, str) or not execution_id or not self.store.shards:
            raise _not_found(execution_id)
        record = await self.store.executions.load(execution_id)
        if record is None:
            raise _not_found(execution_id)
        return record

    def _summary(self, record: Execution) -> dict[str, Any]:
        summary = {
            "executionId": record["id"], "name": record["name"], "stateMachine": record["machine"],
            "version": record["machine_version"], "status": record["status"],
            "startDate": iso(record["start"]),
            "stopDate": iso(record["stop"]) if record["stop"] is not None else None,
            **redrive_summary(record),
        }
        if "map_run" in record:  # a Distributed Map's child: its ARN names the Map's label
            run = record["map_run"]
            summary["label"] = run["label"]
            summary["mapRunArn"] = run["arn"]
            summary["itemCount"] = batch_size(record["input"]) if run["batched"] else 1
            if run.get("express"):  # no history kept; AWS's ListExecutions leaves it out
                summary["executionType"] = "EXPRESS"
        if "published_version" in record:  # started through a version or an alias
            place = self.settings.place
            summary["stateMachineVersionArn"] = place.machine(record["machine"],
                                                              record["published_version"])
            if "alias" in record:
                summary["stateMachineAliasArn"] = place.machine(record["machine"], record["alias"])
        return summary

    async def describe(self, execution_id: str) -> dict[str, Any]:
        execution_id = own_id(execution_id)
        record = await self._record(execution_id)
        described = self._summary(record)
        described.update(input=record["input"], output=record["output"], error=record["error"],
                         cause=record["cause"], **redrive_fields(record, now_ms()))
        if "trace" in record:
            described["traceHeader"] = record["trace"]
        if "test_case" in record:
            described["testCase"] = record["test_case"]
        described.update(await self.queues.describe(record))
        if "started_by" in record:  # a nested execution: the parent whose task started it
            link = record["started_by"]  # (the root, for a task inside a Map or Parallel)
            described["startedBy"] = {"executionId": root_of(link["id"]),
                                      "pattern": link["pattern"]}
        nested = await self.store.nested.children(execution_id)
        if nested:
            described["nestedExecutions"] = [{"executionId": child, "pattern": pattern}
                                             for child, pattern in sorted(nested.items())]
        # Stalled: a dead letter holds work of this execution (see Operations.stalls).
        stalls = (await self.store.operations.stalls(execution_id)
                  if record["status"] == Status.RUNNING else [])
        described["stalled"] = bool(stalls)
        if stalls:
            described["stalledBy"] = stalls
        return described

    async def list_executions(self, machine: str | None = None, status: str | None = None,
                              limit: int = 100, cursor: str | None = None,
                              redrive_filter: str | None = None) -> dict[str, Any]:
        """Newest first, merged over the shards; ``nextCursor`` continues after the last one.
        ``redrive_filter``: REDRIVEN or NOT_REDRIVEN executions only (AWS's ``redriveFilter``)."""
        if status is not None and status not in _STATUSES:
            raise InputError(f"status must be one of {', '.join(Status)}", "InvalidStatus")
        redriven = check_redrive_filter(redrive_filter)
        limit = max(1, min(int(limit), 1000))
        after = None
        if cursor:
            place = EXECUTIONS_CURSOR.fullmatch(cursor)
            if place is None:
                raise InputError("malformed cursor", "InvalidCursor")
            after = (int(place[1]), place[2])
        found = await self.store.executions.list_page(
            machine, None if status is None else Status(status), limit, after,
            None if redriven is None else redriven_only(redriven))
        next_cursor = None
        if len(found) == limit:
            end_start, end_id = found[-1][0]
            next_cursor = f"{end_start}|{end_id}"
        return {"executions": [self._summary(record) for _, record in found],
                "nextCursor": next_cursor}

    async def history(self, execution_id: str, limit: int = 1000, cursor: str | None = None,
                      reverse: bool = False) -> dict[str, Any]:
        """Step Functions-shaped events in id order (newest first with ``reverse``);
        ``nextCursor`` is where the next page starts.

        A page is one read by position, as cheap at event 100,000 as at event 10.
        """
        execution_id = own_id(execution_id)
        record = await self._record(execution_id)
        run = record.get("map_run")
        if run is not None and run.get("express"):
            # AWS keeps no history of an EXPRESS execution (CloudWatch Logs has it) and its
            # GetExecutionHistory serves none: an EXPRESS Map Run child's is refused as such.
            raise InputError("Invalid Arn: 'Resource type not valid in this context: express' "
                             f"(execution {record['name']} is an EXPRESS Map Run child; "
                             "GetExecutionHistory does not serve EXPRESS executions)",
                             "InvalidArn")
        limit = max(1, min(int(limit), 1000))
        at = None
        if cursor:
            if HISTORY_CURSOR.fullmatch(cursor) is None:
                raise InputError("malformed cursor", "InvalidCursor")
            at = int(cursor)
        if reverse:
            events, oldest = await self.store.executions.history_page_back(execution_id, at, limit)
            return {"events": events, "nextCursor": str(oldest) if oldest > 1 else None}
        after = at or 0
        events, more = await self.store.executions.history_page(execution_id, after, limit)
        return {"events": events, "nextCursor": str(after + limit) if more else None}

    async def redrive(self, execution_id: str, client_token: str | None = None) -> dict[str, Any]:
        """Resume a FAILED/TIMED_OUT/ABORTED execution where it failed (:mod:`.redrive`)."""
        return await redrive(self.store, self._record, execution_id, client_token)

    async def stop(self, execution_id: str, error: str | None = None, cause: str | None = None) -> dict[str, Any]:
        """Ask the workers to abort a running execution (its children and tasks stop too)."""
        execution_id = own_id(execution_id)
        record = await self._record(execution_id)
        if record["status"] in TERMINAL:
            return {"executionId": execution_id, "status": record["status"],
                    "stopDate": iso(record["stop"]) if record["stop"] else None}
        await self.store.executions.stop(execution_id, error, cause)
        stopped = {"executionId": execution_id, "status": Status.RUNNING, "stopDate": iso(now_ms())}
        # as AWS does, a stopped parent stops the nested executions its .sync tasks wait for
        for child, pattern in (await self.store.nested.children(execution_id)).items():
            if pattern in ("sync", "sync2"):
                with contextlib.suppress(NotFound):
                    await self.stop(child, error, cause)
        return stopped

    async def start_sync(self, machine: str, input: Any = None, name: str | None = None, *,
                         qualifier: int | str | None = None, trace_header: str | None = None,
                         include_data: bool = True,
                         test_case: str | None = None) -> dict[str, Any]:
        """Run an EXPRESS execution to its end in this process (AWS's StartSyncExecution;
        see :meth:`.express.Express.start_sync`), with the mock config's ``test_case``."""
        if name is not None:
            check_name(name, "execution name")
        case = None
        if test_case is not None:
            config = self.settings.mock_config
            check_test_case(config, machine, test_case)
            assert config is not None  # check_test_case refuses a case without one
            case = config.cases[machine][test_case]
        return await self.express.start_sync(
            machine, input, name, qualifier=qualifier, trace_header=trace_header,
            include_data=include_data, mock_case=case)

    async def test_state(self, definition: Any, *, input: Any = None, state_name: str | None = None,
                         inspection_level: InspectionLevel = InspectionLevel.INFO,
                         variables: Any = None, reveal_secrets: bool = False, admin: bool = False,
                         retrier_retry_count: int = 0, mock: Mock | None = None) -> dict[str, Any]:
        """Run one state once (AWS's TestState; :mod:`.probe`); ``admin``: the caller may
        ``reveal_secrets``."""
        invokers = await self.express.invokers()
        acting = CALLER_ROLE.set(Role.ADMIN if admin else Role.OPERATOR)
        try:
            with self.express.slot():
                return await run_test_state(
                    self.settings, invokers, definition, input=input, state_name=state_name,
                    inspection_level=inspection_level, variables=variables,
                    reveal_secrets=reveal_secrets, admin=admin,
                    retrier_retry_count=retrier_retry_count, mock=mock)
        finally:
            CALLER_ROLE.reset(acting)

    # -- callbacks ---------------------------------------------------------------------------

    async def send_task_success(self, token: str, output: Any, *,
                                traceparent: str | None = None) -> None:
        """``traceparent``: the caller's W3C trace context, which the task's span links to."""
        await self.callbacks.success(token, output, traceparent)

    async def send_task_failure(self, token: str, error: str | None = None, cause: str | None = None,
                                *, traceparent: str | None = None) -> None:
        await self.callbacks.failure(token, error, cause, traceparent)

    async def send_task_heartbeat(self, token: str) -> None:
        await self.callbacks.heartbeat(token)

    # -- activities --------------------------------------------------------------------------

    async def create_activity(self, name: str, tags: Any = None) -> dict[str, Any]:
        """Create (or return) the activity ``name`` (see :class:`ActivityBook`)."""
        return await self.activities.create(name, tags)

    async def poll_activity(self, name: str, timeout: float = 60.0, worker: str | None = None,
                            gone: Callable[[], bool] | None = None) -> dict[str, Any] | None:
        """The next task of activity ``name`` as ``{"taskToken", "input"}``, or None on timeout
        (see :meth:`ActivityBook.poll`)."""
        return await self.activities.poll(name, timeout, worker, gone)

    # -- operations: dead letters, runtime statistics (service/operations.py) ----------------

    async def dead_letters(self, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        return await self.operations.dead_letters(limit, cursor)

    async def requeue_dead_letter(self, dead_id: str) -> dict[str, Any]:
        return await self.operations.requeue_dead_letter(dead_id)

    async def stats(self) -> dict[str, Any]:
        return await self.operations.stats()
