"""The AWS API answered in process: what ``aws-sdk:sfn:*`` tasks call, since Step Functions
is this service here.

:class:`LocalSfn` is the :class:`~statemachine.runtime.invokers.aws.sfn.SfnApi` the
invokers are given: one AWS JSON 1.0 exchange (operation name, request body) answered by the
same operation handlers as ``POST /`` (:mod:`.protocol`), the body checked against the
input shape and the result written through the output shape, refusals as ``{"__type",
"message"}`` with their HTTP status.  Nothing is signed or checked against a key: the
caller is an execution of this service, whose definition an admin deployed; a TestState
run, whose definition is its caller's, may do only what the caller's role may
(:data:`~statemachine.service.probe.CALLER_ROLE`).  GetActivityTask is refused (a long poll
belongs to an HTTP caller, not to a task).
"""

from __future__ import annotations

from typing import Any

import orjson

from statemachine.api.aws.call import AwsError, Call, aws_error
from statemachine.api.aws.model import perform
from statemachine.api.aws.operations import OPERATIONS
from statemachine.api.problems import STORE_UNAVAILABLE, store_trouble
from statemachine.errors import DefinitionError, InputError
from statemachine.language.arns import InvalidArn
from statemachine.service.probe import CALLER_ROLE

__all__ = ["LocalSfn", "attach", "over_store"]

_NOT_IN_PROCESS = frozenset({"GetActivityTask"})


def attach(service: Any) -> LocalSfn:
    """The in-process API over ``service`` (a :class:`~statemachine.service.Service`), also
    given to the service's own in-process runs (StartSyncExecution, TestState)."""
    local = LocalSfn(service)
    service.express.sfn = local
    return local


def over_store(core: Any) -> LocalSfn:
    """The in-process API a worker gives its invokers, over its own store connection
    (``core``, a :class:`~statemachine.runtime.store.RedisStore`)."""
    from statemachine.runtime.store.gateway import Store
    from statemachine.service import Service

    return attach(Service(Store(core)))


class LocalSfn:
    """This service's AWS API for its own executions' ``aws-sdk:sfn`` tasks."""

    def __init__(self, service: Any) -> None:
        self._service = service

    async def close(self) -> None:
        """Close the service's in-process runs' invokers (the store is its owner's)."""
        await self._service.express.close()

    async def exchange(self, operation: str, body: bytes) -> tuple[int, bytes]:
        """Perform ``operation`` with the JSON ``body``: the HTTP status and JSON answer."""
        try:
            return 200, orjson.dumps(await self._perform(operation, body))
        except AwsError as error:
            return _refusal(error)
        except (InputError, InvalidArn, DefinitionError) as error:
            return _refusal(aws_error(error))
        except STORE_UNAVAILABLE as error:
            return _refusal(AwsError("ServiceUnavailableException", store_trouble(error), 503))

    async def _perform(self, name: str, raw: bytes) -> dict[str, Any]:
        operation = OPERATIONS.get(name)
        if operation is None or name in _NOT_IN_PROCESS:
            raise AwsError("UnknownOperationException",
                           f"{name} is not answered for a task of this service's executions")
        caller = CALLER_ROLE.get()
        if caller is not None and not caller.allows(operation.role):
            raise AwsError("AccessDeniedException",
                           f"the definition's author (a key of role {caller.value!r}) may not "
                           f"perform states:{name} (it needs {operation.role.value!r})")
        service = self._service
        return await perform(Call(service, service.settings.place, None, None, name), operation,
                             raw)


def _refusal(error: AwsError) -> tuple[int, bytes]:
    return error.status, orjson.dumps({"__type": error.code, "message": error.message})
