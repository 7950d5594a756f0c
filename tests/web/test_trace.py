"""What the dashboard draws for retried tasks and Map iterations, from real executions.

A real service (tests/web/conftest.py) runs HTTP tasks against a stand-in files API served
by the test, and headless Chromium renders the execution page: a task that failed and then
succeeded on retry is green (its tooltip says so), a finished execution has no bar still
running even when its Map iterations' events interleave and one iteration failed, and each
iteration is labelled with its item's index.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from tests.api.client import Api
from tests.web.chromium import DumpDom
from tests.web.dom import Element

ROOT = Path(__file__).resolve().parents[2]
BATCH = ROOT / "definitions" / "batch-file-processing.yaml"
FILES = [f"file-{i}.csv" for i in range(10)]
BROKEN, FLAKY = "file-3.csv", "file-6.csv"


def files_api(calls: dict[str, int]) -> web.Application:
    """The batch workflow's files API: ``BROKEN`` cannot be parsed (400, not retried),
    ``FLAKY`` answers 503 once (retried), the rest parse and store."""

    async def listing(request: web.Request) -> web.Response:
        return web.json_response({"files": FILES})

    async def parse(request: web.Request) -> web.Response:
        file = (await request.json())["file"]
        calls[file] = calls.get(file, 0) + 1
        if file == BROKEN:
            return web.json_response({"error": "not CSV"}, status=400)
        if file == FLAKY and calls[file] == 1:
            return web.json_response({"error": "busy"}, status=503)
        return web.json_response({"records": [file]})

    async def store(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"file": body["file"], "count": len(body["records"])})

    app = web.Application()
    app.router.add_post("/batches/list", listing)
    app.router.add_post("/files/parse", parse)
    app.router.add_post("/files/store", store)
    return app


def bars(dom: Element) -> list[tuple[str, set[str], str]]:
    """The timeline's rows: (label, the bar's classes, the bar's tooltip)."""
    rows = dom.by_id("timeline").find_all("div", cls="tl-row")[1:]
    return [(row.find_all("div", cls="tl-label")[0].text(), row.find_all("div", cls="bar")[0].classes,
             row.find_all("div", cls="bar")[0].attrs["title"]) for row in rows]


def node_classes(dom: Element, name: str) -> set[str]:
    return next(g.classes for g in dom.by_id("graph").find_all("g", cls="node")
                if g.attrs.get("data-state") == name)


def keep(shot: Path) -> None:
    """Keep a screenshot in $STATEMACHINE_SCREENSHOTS when set, to look at."""
    folder = os.environ.get("STATEMACHINE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / shot.name)


async def history(api: Api, execution_id: str) -> list[dict[str, Any]]:
    status, body = await api.call("GET", f"/v1/executions/{execution_id}/history")
    assert status == 200
    return list(body["events"])


async def test_a_task_that_succeeded_on_retry_is_green(api: Api, serve_app: Any,
                                                      dump_dom: DumpDom, tmp_path: Path) -> None:
    calls: dict[str, int] = {}
    async with serve_app(files_api(calls)) as base:
        await api.define("charge", {"StartAt": "Parse", "States": {
            "Parse": {"Type": "Task", "Resource": f"{base}/files/parse", "End": True,
                      "Retry": [{"ErrorEquals": ["States.Http.StatusCode.503"],
                                 "IntervalSeconds": 1, "MaxAttempts": 2}]}}})
        started = await api.start("charge", {"file": FLAKY})
        done = await api.finished(started["executionId"])
        assert done["status"] == "SUCCEEDED" and calls == {FLAKY: 2}
        types = [e["type"] for e in await history(api, started["executionId"])]
        assert types.count("TaskFailed") == 1 and types.count("TaskSucceeded") == 1
        shot = tmp_path / "retried.png"
        dom = await dump_dom(f"#/executions/{started['executionId']}", screenshot=shot)
    keep(shot)
    assert "visited" in node_classes(dom, "Parse") and "failed" not in node_classes(dom, "Parse")
    [(label, classes, title)] = bars(dom)
    assert label == "Parse" and "o-succeeded" in classes, (label, classes)
    assert title.endswith("(succeeded after 1 retry)"), title


async def test_a_finished_batch_has_no_running_bar_and_iterations_go_by_index(
        api: Api, serve_app: Any, dump_dom: DumpDom, tmp_path: Path) -> None:
    """The batch workflow of definitions/: ten files fan out in a Map whose iterations'
    events interleave; one file is broken (its iteration fails, tolerated), one is parsed on
    the second attempt. The run SUCCEEDED: no bar runs, each bar is its own file's."""
    calls: dict[str, int] = {}
    async with serve_app(files_api(calls)) as base:
        definition = yaml.safe_load(BATCH.read_text().replace("${FilesApi}", base))
        await api.define("batch", definition)
        started = await api.start("batch", {"batchId": "b-1"})
        done = await api.finished(started["executionId"], timeout=30)
        assert done["status"] == "SUCCEEDED", done
        events = await history(api, started["executionId"])
        shot = tmp_path / "batch.png"
        dom = await dump_dom(f"#/executions/{started['executionId']}", screenshot=shot)
    keep(shot)
    rows = bars(dom)
    assert not [row for row in rows if "o-running" in row[1]], rows
    # Each Parse file bar is labelled with the index of the file its entry got, in the
    # order the iterations started (not the items' order).
    entered = [json.loads(e["stateEnteredEventDetails"]["input"]) for e in events
               if e["type"] == "TaskStateEntered" and
               e["stateEnteredEventDetails"]["name"] == "Parse file"]
    parse_rows = [row for row in rows if row[0].startswith("Parse file")]
    assert [row[0] for row in parse_rows] == [f"Parse file [{x['index']}]" for x in entered]
    outcome = {label: (classes, title) for label, classes, title in parse_rows}
    assert "o-failed" in outcome["Parse file [3]"][0]
    assert "o-succeeded" in outcome["Parse file [6]"][0]
    assert outcome["Parse file [6]"][1].endswith("(succeeded after 1 retry)")
    others = [label for label in outcome if label not in ("Parse file [3]", "Parse file [6]")]
    assert len(others) == 8 and all("o-succeeded" in outcome[label][0] for label in others)
    stores = sorted(label for label, classes, _ in rows if label.startswith("Store records")
                    and "o-succeeded" in classes)
    assert stores == sorted(f"Store records [{i}]" for i in range(10) if i != 3)
    # One file failed for good: the node is red; the Map, the rest of the path, green.
    assert "failed" in node_classes(dom, "Parse file")
    for name in ("List files", "Process files", "Store records", "Summarise"):
        assert "visited" in node_classes(dom, name), name
    assert "unvisited" in node_classes(dom, "Batch failed")


async def test_a_parallel_branch_that_fails_calls_off_the_other(
        api: Api, serve_app: Any, dump_dom: DumpDom) -> None:
    """One branch's task fails (400), the other waits: the Parallel fails, its Catch goes on
    to Done and the run SUCCEEDED. The waiting branch was called off (aborted), the task's
    bar is red, and nothing is left running."""
    calls: dict[str, int] = {}
    async with serve_app(files_api(calls)) as base:
        await api.define("both", {"StartAt": "Both", "States": {
            "Both": {"Type": "Parallel", "Next": "Done",
                     "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
                     "Branches": [
                         {"StartAt": "Parse", "States": {"Parse": {
                             "Type": "Task", "Resource": f"{base}/files/parse", "End": True}}},
                         {"StartAt": "Nap", "States": {"Nap": {
                             "Type": "Wait", "Seconds": 3600, "End": True}}}]},
            "Done": {"Type": "Pass", "End": True}}})
        started = await api.start("both", {"file": BROKEN})
        assert (await api.finished(started["executionId"]))["status"] == "SUCCEEDED"
        dom = await dump_dom(f"#/executions/{started['executionId']}")
    outcomes = {label: classes for label, classes, _ in bars(dom)}
    assert set(outcomes) == {"Both", "Parse", "Nap", "Done"}, outcomes
    assert "o-failed" in outcomes["Parse"] and "o-aborted" in outcomes["Nap"]
    assert "o-failed" in outcomes["Both"] and "o-succeeded" in outcomes["Done"]
    assert "failed" in node_classes(dom, "Parse") and "aborted" in node_classes(dom, "Nap")
