"""What the definition checks check against: diagnostic codes and tables of fields.

:mod:`statemachine.language.validate` walks a definition and reports problems with
the codes below (after AWS's ``ValidateStateMachineDefinition`` where it has one).
The tables say which fields belong to which query language and state type, which
exclude each other, and which hold paths, templates or JSONata; the JSON Schema
(:mod:`statemachine.language.schema`) cannot express these.
"""

from __future__ import annotations

import functools

from statemachine.language.schema import load_schema

MAX_NAME = 80
JSONPATH, JSONATA = "JSONPath", "JSONata"

# Codes, after AWS's ValidateStateMachineDefinition where it has one.
SCHEMA = "SCHEMA_VALIDATION_FAILED"
MISSING_TARGET = "MISSING_TRANSITION_TARGET"
UNREACHABLE = "UNREACHABLE_STATE"
NO_TERMINAL = "MISSING_TERMINAL_STATE"
NEXT_AND_END = "TERMINAL_STATE_WITH_NEXT"
NO_NEXT = "MISSING_NEXT_OR_END"
DUPLICATE_NAME = "DUPLICATE_STATE_NAME"
NAME_TOO_LONG = "STATE_NAME_TOO_LONG"
DUPLICATE_FIELD = "DUPLICATE_FIELD_NAME"
CONFLICT = "CONFLICTING_FIELDS"
STATES_ALL = "INVALID_STATES_ALL"
QUERY_LANGUAGE = "QUERY_LANGUAGE_MISMATCH"
BAD_PATH = "INVALID_JSON_PATH"
BAD_INTRINSIC = "INVALID_INTRINSIC_FUNCTION"
BAD_JSONATA = "INVALID_JSONATA"
BAD_CHOICE = "INVALID_CHOICE_RULE"
BAD_RESOURCE = "INVALID_RESOURCE"

FLOW_TYPES = frozenset({"Task", "Pass", "Wait", "Parallel", "Map"})
TERMINAL_TYPES = ("Succeed", "Fail")  # a tuple: "in" must not hash a malformed Type

#: Fields that only one query language has, with what to use in the other.
JSONPATH_ONLY: dict[str, str] = {
    "InputPath": "read $states.input in 'Arguments'",
    "Parameters": "use 'Arguments'",
    "ResultSelector": "use 'Output'",
    "ResultPath": "use 'Output' or 'Assign'",
    "OutputPath": "use 'Output'",
    "Result": "use 'Output'",
    "ItemsPath": "use 'Items'",
    "SecondsPath": "use 'Seconds' with a {% %} expression",
    "TimestampPath": "use 'Timestamp' with a {% %} expression",
    "TimeoutSecondsPath": "use 'TimeoutSeconds' with a {% %} expression",
    "HeartbeatSecondsPath": "use 'HeartbeatSeconds' with a {% %} expression",
    "ErrorPath": "use 'Error' with a {% %} expression",
    "CausePath": "use 'Cause' with a {% %} expression",
    "MaxConcurrencyPath": "use 'MaxConcurrency' with a {% %} expression",
    "ToleratedFailurePercentagePath": "use 'ToleratedFailurePercentage' with a {% %} expression",
    "ToleratedFailureCountPath": "use 'ToleratedFailureCount' with a {% %} expression",
}
JSONATA_ONLY: dict[str, str] = {
    "Arguments": "use 'Parameters'",
    "Output": "use 'ResultSelector' or 'OutputPath'",
    "Items": "use 'ItemsPath'",
}
#: Fields whose value is a JSONPath payload template (``"key.$": "$.path"``).
TEMPLATES = ("Parameters", "ResultSelector", "ItemSelector", "Credentials", "Assign")
#: Fields evaluated as JSONata in a JSONata state (any ``{% %}`` string inside).
JSONATA_FIELDS = (
    "Arguments", "Output", "Assign", "ItemSelector", "Credentials", "Items", "Seconds",
    "Timestamp", "TimeoutSeconds", "HeartbeatSeconds", "MaxConcurrency", "Error", "Cause",
    "ToleratedFailurePercentage", "ToleratedFailureCount",
)
#: Number fields that accept a JSONata expression (JSONata only) or a placeholder.
NUMBER_FIELDS = (
    "Seconds", "TimeoutSeconds", "HeartbeatSeconds", "MaxConcurrency",
    "ToleratedFailurePercentage", "ToleratedFailureCount",
)
#: Plain JSONPath fields (a path, or null where the schema allows it).
PATH_FIELDS = (
    "InputPath", "OutputPath", "ItemsPath", "SecondsPath", "TimestampPath",
    "TimeoutSecondsPath", "HeartbeatSecondsPath", "ErrorPath", "CausePath",
    "MaxConcurrencyPath", "ToleratedFailurePercentagePath", "ToleratedFailureCountPath",
)
#: Path fields that may also hold an intrinsic function call.
INTRINSIC_PATH_FIELDS = frozenset({"ErrorPath", "CausePath"})
#: Per state type: groups of fields of which at most one may be set.
AT_MOST_ONE: dict[str, tuple[tuple[str, ...], ...]] = {
    "Task": (
        ("TimeoutSeconds", "TimeoutSecondsPath"), ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ),
    "Fail": (("Error", "ErrorPath"), ("Cause", "CausePath")),
    "Map": (
        ("ItemProcessor", "Iterator"), ("ItemSelector", "Parameters"), ("Items", "ItemsPath"),
        ("MaxConcurrency", "MaxConcurrencyPath"),
        ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
        ("ToleratedFailureCount", "ToleratedFailureCountPath"),
    ),
}
BATCHER_PAIRS = (("MaxItemsPerBatch", "MaxItemsPerBatchPath"),
                  ("MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath"))
WAIT_FIELDS = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")

RULE_COMBINATORS = ("And", "Or", "Not")
_RULE_STRUCTURE = frozenset({"Variable", "Next", "Comment", "Assign", "Output", "Condition",
                             *RULE_COMBINATORS})


@functools.cache
def choice_operators() -> frozenset[str]:
    """The Choice comparison operators, as the schema lists them."""
    rule = load_schema()["$defs"]["nestedChoiceRule"]["properties"]
    return frozenset(rule) - _RULE_STRUCTURE
