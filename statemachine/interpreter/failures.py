"""Error names, error matching and retry maths (ASL "Error Handling").

Pure: the jitter draw comes from a passed-in :class:`Entropy`.
"""

from __future__ import annotations

from statemachine.language.model import Retrier
from statemachine.language.scope import Entropy

ALL = "States.ALL"
TASK_FAILED = "States.TaskFailed"
RUNTIME = "States.Runtime"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
DATA_LIMIT = "States.DataLimitExceeded"
BRANCH_FAILED = "States.BranchFailed"
NO_CHOICE = "States.NoChoiceMatched"
RESULT_PATH_MATCH = "States.ResultPathMatchFailure"
PARAMETER_PATH = "States.ParameterPathFailure"
INTRINSIC = "States.IntrinsicFailure"
QUERY_EVALUATION = "States.QueryEvaluationError"
TOLERATED = "States.ExceedToleratedFailureThreshold"
LOST_OUTCOME = "lost child outcome"
"""The cause (of RUNTIME) when a child's outcome a Redis failover without replica
acknowledgement lost is needed: its result is unknown, so nothing goes on as if it had one."""

#: Errors that ``States.ALL`` does not match: AWS documents States.Runtime as terminal
#: (no retrier or catcher can handle it); the recorded corpus shows States.ALL *does*
#: catch States.DataLimitExceeded raised by a task's result.
_NOT_MATCHED_BY_ALL = frozenset({RUNTIME, QUERY_EVALUATION})
_TERMINAL = frozenset({RUNTIME, QUERY_EVALUATION})

#: States.TaskFailed matches any error a task raised, except a timeout.
_NOT_MATCHED_BY_TASK_FAILED = frozenset({TIMEOUT, HEARTBEAT_TIMEOUT}) | _NOT_MATCHED_BY_ALL

DATA_LIMIT_BYTES = 256 * 1024


def matches(error_equals: tuple[str, ...], error: str) -> bool:
    """Does a retrier's or catcher's ErrorEquals list match ``error``?"""
    if error in _TERMINAL:
        return False
    for name in error_equals:
        if name == error:
            return True
        if name == ALL and error not in _NOT_MATCHED_BY_ALL:
            return True
        if name == TASK_FAILED and error not in _NOT_MATCHED_BY_TASK_FAILED and not error.startswith(
            "States.Exceed"
        ):
            return True
    return False


def retry_delay(retrier: Retrier, attempts: int, entropy: Entropy) -> float:
    """Seconds to wait before attempt number ``attempts + 1`` (``attempts`` made so far, >= 0).

    IntervalSeconds * BackoffRate ** attempts, capped by MaxDelaySeconds, then with
    JitterStrategy FULL a uniform draw in [0, delay].
    """
    delay = retrier.interval * (retrier.backoff**attempts)
    if retrier.max_delay is not None:
        delay = min(delay, retrier.max_delay)
    if retrier.jitter == "FULL":
        delay = delay * entropy.random()
    return max(delay, 0.0)
