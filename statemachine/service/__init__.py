"""The one facade the REST API, the AWS API and the command line use (:class:`Service`).

``facade`` holds the class and the operations on executions, callbacks and activities; each
further capability lives in a module of its own here and is reached from the facade.
"""

from statemachine.service.facade import (
    DEAD_ID,
    EXECUTIONS_CURSOR,
    HISTORY_CURSOR,
    MAX_NAME,
    MAX_TOKEN,
    TASK_RESULTS,
    Service,
    check_name,
)

__all__ = ["DEAD_ID", "EXECUTIONS_CURSOR", "HISTORY_CURSOR", "MAX_NAME", "MAX_TOKEN",
           "TASK_RESULTS", "Service", "check_name"]
