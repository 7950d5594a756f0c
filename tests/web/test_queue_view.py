"""The dashboard shows an execution's queue, and that it waits for a worker of that queue
when none runs (the API's in-process worker takes the default queue only)."""

from __future__ import annotations

from tests.api.client import Api
from tests.web.chromium import DumpDom

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


async def test_an_execution_waiting_for_a_worker_of_its_queue_says_so(api: Api,
                                                                     dump_dom: DumpDom) -> None:
    status, _ = await api.call("POST", "/v1/state-machines",
                               json={"name": "nightly", "definition": PASS, "queue": "batch"})
    assert status == 201
    started = await api.start("nightly", {})
    page = await dump_dom(f"#/executions/{started['executionId']}")
    assert page.by_id("x-queue").text().startswith("batch")
    assert page.by_id("x-no-worker").text() == "waiting for a worker on queue batch"
