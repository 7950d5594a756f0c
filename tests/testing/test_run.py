"""``statemachine.testing.run()``: mocks from a mock config or the shorthand, real services for
the states left unmocked, the path and the calls in the definition's order, the virtual clock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from statemachine.testing import RunResult, run, run_async
from tests.conftest import app_in_thread

NEVER = "http://127.0.0.1:9/never-called"  # a mocked state must not reach it

ORDERS: dict[str, Any] = {
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task", "Resource": NEVER, "ResultPath": "$.charge",
            "Parameters": {"amount.$": "$.amount"},
            "Retry": [{"ErrorEquals": ["Payments.Busy"], "IntervalSeconds": 3600,
                       "MaxAttempts": 3, "BackoffRate": 2}],
            "Catch": [{"ErrorEquals": ["Payments.Declined"], "ResultPath": "$.failure",
                       "Next": "Declined"}],
            "Next": "Ship",
        },
        "Ship": {"Type": "Task", "Resource": NEVER, "ResultPath": "$.shipped", "End": True},
        "Declined": {"Type": "Fail", "Error": "Order.Declined", "Cause": "the card was declined"},
    },
}
MOCKS: dict[str, Any] = {
    "StateMachines": {"orders": {"TestCases": {
        "Happy": {"Charge": "Charged", "Ship": "Shipped"},
        "Busy": {"Charge": "BusyTwice", "Ship": "Shipped"},
        "Declined": {"Charge": "Declined"},
    }}},
    "MockedResponses": {
        "Charged": {"0": {"Return": {"id": "ch-1"}}},
        "BusyTwice": {"0-1": {"Throw": {"Error": "Payments.Busy", "Cause": "later"}},
                      "2": {"Return": {"id": "ch-2"}}},
        "Declined": {"0": {"Throw": {"Error": "Payments.Declined", "Cause": "no funds"}}},
        "Shipped": {"0": {"Return": "parcel-1"}},
    },
}


def test_a_mock_config_dict_drives_the_happy_path() -> None:
    result = run(ORDERS, {"amount": 5}, mocks=MOCKS, case="Happy", machine="orders")
    result.assert_succeeded({"amount": 5, "charge": {"id": "ch-1"}, "shipped": "parcel-1"})
    result.assert_path("Charge", "Ship")
    [charge] = result.calls_to("Charge")
    assert (charge.input, charge.attempt, charge.mocked, charge.output) == (
        {"amount": 5}, 0, True, {"id": "ch-1"})
    assert charge.resource == NEVER and charge.succeeded


def test_the_retry_path_lists_each_attempt_and_skips_the_hours_between() -> None:
    result = run(ORDERS, {"amount": 5}, mocks=MOCKS, case="Busy", machine="orders")
    result.assert_succeeded()
    calls = result.calls_to("Charge")
    assert [(c.attempt, c.error, c.cause) for c in calls] == [
        (0, "Payments.Busy", "later"), (1, "Payments.Busy", "later"), (2, None, None)]
    assert result.elapsed >= timedelta(hours=3)  # 1 h, then 2 h of backoff, virtual
    assert result.path == ("Charge", "Ship")  # a retry is not a new state entry


def test_the_catch_path_ends_in_the_fail_state() -> None:
    result = run(ORDERS, {"amount": 5}, mocks=MOCKS, case="Declined", machine="orders")
    result.assert_failed("Order.Declined", cause="the card was declined")
    result.assert_path("Charge", "Declined")
    assert result.output_of("Charge")["failure"] == {"Error": "Payments.Declined",
                                                     "Cause": "no funds"}
    assert not result.visited("Ship")


def test_a_mock_config_file_and_the_machine_named_after_the_definition_file(
        tmp_path: Path) -> None:
    definition = tmp_path / "orders.json"
    definition.write_text(json.dumps(ORDERS))
    mocks = tmp_path / "MockConfigFile.json"
    mocks.write_text(json.dumps(MOCKS))
    run(definition, {"amount": 1}, mocks=mocks, case="Happy").assert_succeeded()
    run(str(definition), {"amount": 1}, mocks=str(mocks), case="Busy").assert_succeeded()


def test_the_shorthand_takes_a_response_a_list_per_attempt_or_attempt_keys() -> None:
    result = run(ORDERS, {"amount": 2}, mocks={
        "Charge": [{"Throw": {"Error": "Payments.Busy"}}, {"Return": {"id": "ch-3"}}],
        "Ship": {"Return": "parcel-2"},
    })
    result.assert_succeeded()
    assert [c.error for c in result.calls_to("Charge")] == ["Payments.Busy", None]
    keyed = run(ORDERS, {"amount": 2}, mocks={
        "Charge": {"0-2": {"Throw": {"Error": "Payments.Busy", "Cause": "c"}}},
    })
    # past its last key the response keeps answering: the retries run out, nothing catches
    keyed.assert_failed("Payments.Busy", cause="c")
    assert len(keyed.calls_to("Charge")) == 4


@pytest.fixture
def service() -> Iterator[tuple[str, list[Any]]]:
    """A real local HTTP service: ``/echo`` answers what it got; ``/item`` answers a Map's
    items, item 0 only after item 1 has arrived (so iteration 1 finishes first);
    ``/broken`` answers 500."""
    received: list[Any] = []
    second = asyncio.Event()

    async def echo(request: web.Request) -> web.Response:
        body = await request.json()
        received.append(body)
        return web.json_response({"echo": body})

    async def item(request: web.Request) -> web.Response:
        value = await request.json()
        if value == 0:
            await second.wait()
        else:
            second.set()
        return web.json_response(value * 10)

    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"oops": True}, status=500)

    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_post("/item", item)
    app.router.add_post("/broken", broken)
    with app_in_thread(app, "testing-service") as base:
        yield base, received


def test_unmocked_states_call_their_service_for_real(service: tuple[str, list[Any]]) -> None:
    base, received = service
    definition = {"StartAt": "Charge", "States": {
        "Charge": {"Type": "Task", "Resource": NEVER, "ResultPath": "$.charge", "Next": "Audit"},
        "Audit": {"Type": "Task", "Resource": f"{base}/echo", "ResultPath": "$.audit",
                  "Next": "Report"},
        "Report": {"Type": "Task", "Resource": f"{base}/broken", "End": True},
    }}
    result = run(definition, {"n": 1}, mocks={"Charge": {"Return": 7}})
    assert received == [{"n": 1, "charge": 7}]
    audit, report = result.calls_to("Audit")[0], result.calls_to("Report")[0]
    assert (audit.mocked, audit.output) == (False, {"echo": {"n": 1, "charge": 7}})
    assert (report.mocked, report.error) == (False, "States.Http.StatusCode.500")
    result.assert_failed("States.Http.StatusCode.500")


def test_map_iterations_appear_in_index_order_whatever_order_they_ran_in(
        service: tuple[str, list[Any]]) -> None:
    base, _ = service
    definition = {"StartAt": "Items", "States": {
        "Items": {"Type": "Map", "ItemsPath": "$.items", "Next": "Both",
                  "ItemProcessor": {"StartAt": "Fetch", "States": {
                      "Fetch": {"Type": "Task", "Resource": f"{base}/item", "Next": "Done"},
                      "Done": {"Type": "Pass", "End": True}}}},
        "Both": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "Left", "States": {"Left": {"Type": "Task", "Resource": NEVER,
                                                    "End": True}}},
            {"StartAt": "Right", "States": {"Right": {"Type": "Pass", "Result": "r",
                                                      "End": True}}}]},
    }}
    result = run(definition, {"items": [0, 1]}, mocks={"Left": {"Return": "l"}})
    result.assert_succeeded(["l", "r"])
    # iteration 1 ended first (the service held item 0 back), yet the path reads 0, then 1
    ended = [e["mapIterationSucceededEventDetails"]["index"] for e in result.history
             if e["type"] == "MapIterationSucceeded"]
    assert ended == [1, 0]
    result.assert_path("Items", "Fetch", "Done", "Fetch", "Done", "Both", "Left", "Right")
    assert [c.input for c in result.calls_to("Fetch")] == [0, 1]
    assert result.outputs_of("Fetch") == (0, 10)
    assert [c.state for c in result.calls] == ["Fetch", "Fetch", "Left"]


def test_a_three_day_wait_is_instant_on_the_virtual_clock_and_real_without_it() -> None:
    definition = {"StartAt": "Wait", "States": {
        "Wait": {"Type": "Wait", "Seconds": 3 * 24 * 3600, "Next": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"at.$": "$$.State.EnteredTime"}, "End": True}}}
    result = run(definition)
    result.assert_succeeded()
    assert result.elapsed >= timedelta(days=3)
    instant = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 0, "End": True}}}
    run(instant, skip_time=False).assert_succeeded({})


def test_substitutions_come_from_the_file_beside_the_definition_then_the_argument(
        tmp_path: Path) -> None:
    (tmp_path / "substitutions.env").write_text("Greeting=hello\nWho=file\n")
    definition = tmp_path / "greet.yaml"
    definition.write_text("StartAt: Greet\nStates:\n  Greet:\n    Type: Pass\n"
                          "    Result: {greeting: '${Greeting}', who: '${Who}'}\n    End: true\n")
    run(definition, substitutions={"Who": "argument"}).assert_succeeded(
        {"greeting": "hello", "who": "argument"})
    as_dict = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "${X}", "End": True}}}
    run(as_dict, substitutions={"X": "filled"}).assert_succeeded("filled")


def test_the_execution_name_and_the_input_as_a_json_copy() -> None:
    definition = {"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Parameters": {"name.$": "$$.Execution.Name", "items.$": "$.items"},
        "End": True}}}
    result = run(definition, {"items": (1, 2)}, name="order-42")
    result.assert_succeeded({"name": "order-42", "items": [1, 2]})
    assert result.history[0]["type"] == "ExecutionStarted"
    assert isinstance(result, RunResult)


async def test_run_async_inside_an_event_loop_and_run_refusing_to() -> None:
    result = await run_async(ORDERS, {"amount": 3}, mocks=MOCKS, case="Happy", machine="orders")
    result.assert_succeeded()
    with pytest.raises(RuntimeError, match="await run_async"):
        run(ORDERS, {"amount": 3}, mocks=MOCKS, case="Happy", machine="orders")


def test_nested_children_and_a_map_entered_twice_read_depth_first() -> None:
    inner = {"StartAt": "Leaf", "States": {"Leaf": {"Type": "Task", "Resource": NEVER,
                                                    "End": True}}}
    definition = {"StartAt": "Outer", "States": {
        "Outer": {"Type": "Map", "ItemsPath": "$.groups", "ResultPath": "$.out", "Next": "Again?",
                  "ItemProcessor": {"StartAt": "Fan", "States": {"Fan": {
                      "Type": "Parallel", "End": True,
                      "Branches": [inner, {"StartAt": "Side", "States": {
                          "Side": {"Type": "Pass", "End": True}}}]}}}},
        "Again?": {"Type": "Choice", "Default": "Stop",
                   "Choices": [{"Variable": "$.again", "IsPresent": False, "Next": "Mark"}]},
        "Mark": {"Type": "Pass", "Result": True, "ResultPath": "$.again", "Next": "Outer"},
        "Stop": {"Type": "Succeed"},
    }}
    result = run(definition, {"groups": [1, 2]}, mocks={"Leaf": {"Return": "x"}})
    result.assert_succeeded()
    once = ("Outer", "Fan", "Leaf", "Side", "Fan", "Leaf", "Side", "Again?")
    result.assert_path(*once, "Mark", *once, "Stop")
    assert [c.input for c in result.calls_to("Leaf")] == [1, 2, 1, 2]
    assert all(c.attempt == 0 and c.mocked for c in result.calls)
