"""What an execution's log holds (:mod:`statemachine.interpreter.execution_log`): AWS's log
levels over the history's event types, and a logged event in CloudWatch Logs' shape."""

from __future__ import annotations

import pytest

from statemachine.interpreter.execution_log import (
    OFF,
    LoggingConfiguration,
    LogLevel,
    log_event,
    without_data,
)

# A few rows of AWS's table ("Log levels"): which levels log the event type.
TABLE = {
    "ExecutionStarted": {"ALL"},
    "ExecutionFailed": {"ALL", "ERROR", "FATAL"},
    "ExecutionAborted": {"ALL", "ERROR", "FATAL"},
    "ExecutionTimedOut": {"ALL", "ERROR", "FATAL"},
    "ExecutionSucceeded": {"ALL"},
    "FailStateEntered": {"ALL", "ERROR"},
    "TaskFailed": {"ALL", "ERROR"},
    "TaskTimedOut": {"ALL", "ERROR"},
    "TaskScheduled": {"ALL"},
    "MapIterationFailed": {"ALL", "ERROR"},
    "ParallelStateFailed": {"ALL", "ERROR"},
    "WaitStateAborted": {"ALL", "ERROR"},
    "PassStateEntered": {"ALL"},
}


@pytest.mark.parametrize(("event_type", "levels"), TABLE.items())
def test_each_level_logs_the_events_aws_lists(event_type: str, levels: set[str]) -> None:
    logged = {level.value for level in LogLevel
              if LoggingConfiguration(level).includes(event_type)}
    assert logged == levels


def test_a_stored_configuration_and_its_shape() -> None:
    assert LoggingConfiguration.stored(None) is OFF
    assert OFF.shape() == {"level": "OFF", "includeExecutionData": False}
    group = [{"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:r:1:log-group:g:*"}}]
    stored = {"level": "ERROR", "includeExecutionData": True, "destinations": group}
    config = LoggingConfiguration.stored(stored)
    assert (config.level, config.include_execution_data) == (LogLevel.ERROR, True)
    assert config.shape() == stored


def test_a_logged_event_is_shaped_as_cloudwatch_has_it() -> None:
    event = {"id": 3, "previousEventId": 2, "timestamp": 1736416800125, "type": "TaskScheduled",
             "taskScheduledEventDetails": {"resource": "invoke", "parameters": '{"a":1}',
                                           "region": "us-east-1"}}
    arn = "arn:aws:states:us-east-1:123456789012:execution:m:x"
    assert log_event(event, arn, include_data=False) == {
        "id": "3", "type": "TaskScheduled",
        "details": {"resource": "invoke", "region": "us-east-1"},
        "previous_event_id": "2", "event_timestamp": "1736416800125", "execution_arn": arn}
    assert log_event(event, arn, include_data=True)["details"]["parameters"] == '{"a":1}'
    bare = {"id": 9, "previousEventId": 8, "timestamp": 1, "type": "MapStateSucceeded"}
    assert "details" not in log_event(bare, arn, include_data=True)
    assert without_data({"name": "S", "input": "{}", "inputDetails": {"truncated": False},
                         "output": "1", "outputDetails": {}, "assignedVariables": {},
                         "assignedVariablesDetails": {}}) == {"name": "S"}
