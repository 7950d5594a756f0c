"""A run-through that reaches AWS's history limit commits in one piece and fails the execution."""

from __future__ import annotations

from typing import Any

SPIN = {"StartAt": "Spin", "States": {
    "Spin": {"Type": "Pass", "Next": "Again"},
    "Again": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}],
              "Default": "Spin"},
    "Done": {"Type": "Succeed"},
}}


async def test_a_loop_with_no_way_out_fails_durably_at_event_25000(runtime: Any) -> None:
    async with runtime() as rt:
        service = rt.service
        await service.define("spin", SPIN)
        started = await service.start("spin", {})
        done = await rt.finished(started["executionId"])
        assert done["status"] == "FAILED" and done["error"] == "States.Runtime"
        assert done["cause"] == "The execution reached the maximum number of history events (25000)."
        events = await rt.events(started["executionId"])
        assert len(events) == 25_000 and events[-1]["type"] == "ExecutionFailed"
        assert [e["id"] for e in events] == list(range(1, 25_001))
