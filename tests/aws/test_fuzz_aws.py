"""Every operation of the AWS API, fuzzed through properly signed requests.

For each operation in :data:`~statemachine.api.aws.operations.OPERATIONS`, Hypothesis makes
bodies from botocore's input shape (values of the right kind, names of real and unknown
ARNs, enum members) and garbage (a member of the wrong type, huge strings, deep nesting,
bodies that are not objects, bytes that are not JSON); each is signed with the admin key
(botocore's SigV4Auth) and sent with urllib3.  The service must never answer 5xx, and
always with JSON: the operation's output, or ``{"__type", "message"}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statemachine.api.aws.operations import OPERATIONS
from tests.aws.conftest import AwsService, start_service, stop_service
from tests.aws.helpers import activity_arn, define, execution_arn, machine_arn, wait_machine
from tests.aws.signing import send, signed

EXAMPLES = 30
"""Hypothesis bodies per operation (about 35 operations: well under a minute on 2 cores)."""

ARNS = (machine_arn("fuzzed"), machine_arn("fuzzed") + ":1", machine_arn("fuzzed") + ":live",
        machine_arn("missing"), execution_arn("fuzzed", "first"), execution_arn("fuzzed", "x"),
        activity_arn("no-such-activity-7"), ("arn:aws:states:eu-west-1:123456789012:"
        "stateMachine:fuzzed"), "arn:aws:states:us-east-1:123456789012:express:fuzzed:a:b",
        "arn:aws:iam::123456789012:role/x", "arn:", "")
"""ARNs that mean something here (and some that do not); never an activity that exists, so a
GetActivityTask does not wait its minute."""


@pytest.fixture(scope="module")
def fuzzed_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsService]:
    service = start_service(Path(tmp_path_factory.mktemp("aws-fuzz")))
    try:
        define(service, "fuzzed", wait_machine())
        service.client().start_execution(stateMachineArn=machine_arn("fuzzed"), name="first")
        yield service
    finally:
        stop_service(service)


def _model() -> Any:
    return botocore.session.get_session().get_service_model("stepfunctions")


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
HUGE = st.sampled_from(["x" * 70_000, "€" * 40_000, "{" * 5_000])


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"a": [value]}
    return value


def strategy(shape: Any, name: str = "") -> st.SearchStrategy[Any]:
    """Values of ``shape`` (mostly well-typed, sometimes not)."""
    match shape.type_name:
        case "structure":
            members = {key: strategy(member, key) for key, member in shape.members.items()}
            required = {key: members.pop(key) for key in shape.required_members}
            return st.fixed_dictionaries(required, optional=members)
        case "list":
            return st.lists(strategy(shape.member, name), max_size=3)
        case "map":
            return st.dictionaries(st.text(max_size=10), strategy(shape.value), max_size=3)
        case "string":
            options = [st.text(max_size=40)]
            if shape.enum:
                options.append(st.sampled_from(list(shape.enum)))
            if name.lower().endswith("arn"):
                options.append(st.sampled_from(ARNS))
            if name in ("definition", "input", "output"):
                options.append(st.sampled_from([('{"StartAt": "A", "States": {"A": '
                                                '{"Type": "Pass", "End": true}}}'), "{}", "[]",
                                                "null", '{"a": 1}']))
            return st.one_of(*options)
        case "integer" | "long":
            low = int(shape.metadata.get("min", -10))
            high = int(shape.metadata.get("max", 1000))
            return st.integers(low - 2, min(high, 10_000) + 2)
        case "boolean":
            return st.booleans()
        case "timestamp":
            return st.integers(0, 2**33)
        case _:
            return JSON


def bodies(operation: str) -> st.SearchStrategy[bytes]:
    shape = _model().operation_model(operation).input_shape
    fitting = strategy(shape) if shape is not None else st.just({})

    def spoil(body: dict[str, Any], junk: Any, key: str) -> dict[str, Any]:
        return {**body, key: junk}

    keys = sorted(shape.members) if shape is not None else ["x"]
    spoiled = st.builds(spoil, fitting, JSON | HUGE | st.just(_deep(200)), st.sampled_from(keys))
    not_objects = JSON.filter(lambda value: not isinstance(value, dict))
    as_json = st.one_of(fitting, fitting, spoiled, not_objects).map(
        lambda value: json.dumps(value).encode())
    raw = st.sampled_from([b"", b"{", b"\xff\xfe", b"[" * 3000 + b"]" * 3000,
                           json.dumps(_deep(600)).encode(), b'{"a": 1}{"b": 2}'])
    return st.one_of(as_json, as_json, as_json, raw)


def check(service: AwsService, operation: str, body: bytes) -> None:
    answer = send(signed(service.endpoint, operation, body, service.key_id, service.secret))
    assert answer.status < 500, (operation, body[:300], answer.status, answer.data[:300])
    assert answer.headers.get("Content-Type", "").startswith("application/x-amz-json-1.0")
    reply = json.loads(answer.data)
    assert isinstance(reply, dict), (operation, reply)
    if answer.status != 200:
        assert isinstance(reply.get("__type"), str) and reply["__type"], (operation, reply)
        assert isinstance(reply.get("message"), str), (operation, reply)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_fuzzed_operation(fuzzed_service: AwsService, operation: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(body=bodies(operation))
    def run(body: bytes) -> None:
        check(fuzzed_service, operation, body)

    run()
