"""The one facade the REST API, the AWS API and the command line use (:class:`Service`).

``facade`` holds the class and the operations on executions and activities (callbacks in
:mod:`.callbacks`); each
further capability lives in a module of its own here and is reached from the facade:
``service.catalog`` (:mod:`.catalog`: state machines, versions, tags) and ``service.aliases``
(:mod:`.aliases`); :mod:`.definitions` checks names and definitions for all of them.
"""

from statemachine.service.callbacks import MAX_TOKEN
from statemachine.service.definitions import MAX_NAME, check_name
from statemachine.service.facade import EXECUTIONS_CURSOR, HISTORY_CURSOR, Service
from statemachine.service.operations import DEAD_ID, TASK_RESULTS

__all__ = ["DEAD_ID", "EXECUTIONS_CURSOR", "HISTORY_CURSOR", "MAX_NAME", "MAX_TOKEN",
           "TASK_RESULTS", "Service", "check_name"]
