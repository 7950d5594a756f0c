"""The dashboard shows an execution's queue (and its Task's own ``x-queue``), and that it
waits for a worker of that queue when none runs (the API's in-process worker takes the
default queue only)."""

from __future__ import annotations

import asyncio

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


async def test_a_task_waiting_for_a_worker_of_its_own_queue_says_so(api: Api,
                                                                   dump_dom: DumpDom) -> None:
    render = {"StartAt": "Render", "States": {"Render": {
        "Type": "Task", "Resource": "http://127.0.0.1:9/render", "x-queue": "gpu", "End": True}}}
    status, _ = await api.call("POST", "/v1/state-machines",
                               json={"name": "frames", "definition": render})
    assert status == 201
    started = await api.start("frames", {})
    path = f"/v1/executions/{started['executionId']}"
    for _ in range(100):  # until the in-process worker has entered the Task state
        status, described = await api.call("GET", path)
        if status == 200 and "taskQueue" in described:
            break
        await asyncio.sleep(0.1)
    assert (described["taskQueue"], described["waitingForWorker"]) == ("gpu", True)
    page = await dump_dom(f"#/executions/{started['executionId']}")
    assert page.by_id("x-queue").text().startswith("default")
    assert page.by_id("x-task-queue").text() == " · this task on gpu"
    assert page.by_id("x-no-worker").text() == "waiting for a worker on queue gpu"
