"""The dashboard end to end: real redis-server, Service, Worker and API, read by headless Chromium.

Chromium renders the page (``--dump-dom`` after the scripts ran, ``--screenshot``) and the
tests read the resulting DOM: the list shows the executions with their statuses, and an
execution page shows the graph with the path taken, the history rows and the timeline bars.
Data is rendered as text, never as markup: a cause holding HTML stays visible text.  One
Chromium driven over the DevTools protocol fills in the Start form and presses Stop, and
visits every page with an eye on the console.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
from pathlib import Path
from typing import Any

import statemachine.web
from statemachine.interpreter.records import Status
from tests.api.client import Api
from tests.web.chromium import Browser, DumpDom
from tests.web.conftest import login_link
from tests.web.dom import Element

WEB = Path(statemachine.web.__file__).parent
MEDIA = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
SERVED = [path.relative_to(WEB).as_posix() for path in sorted(WEB.rglob("*"))
          if path.suffix in MEDIA]
"""The dashboard's files on disk, by their path under /ui/ (statuses.js is written by the server)."""

HOSTILE_CAUSE = '<img src=x onerror="document.title=\'pwned\'"> & <b>bold</b>'

OK = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"items": [1, 2]}, "Next": "Route"},
        "Route": {"Type": "Choice",
                  "Choices": [{"Variable": "$.items[0]", "NumericEquals": 1, "Next": "Each"}],
                  "Default": "Nowhere"},
        "Nowhere": {"Type": "Fail", "Error": "NoRoute"},
        "Each": {"Type": "Map", "ItemsPath": "$.items",
                 "ItemProcessor": {"StartAt": "Double",
                                   "States": {"Double": {"Type": "Pass", "End": True}}},
                 "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}

NAP = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}}

BROKEN = {
    "StartAt": "Check",
    "States": {
        "Check": {"Type": "Pass", "Next": "Boom"},
        "Boom": {"Type": "Fail", "Error": "Custom.Boom", "Cause": HOSTILE_CAUSE},
    },
}



async def run_two(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """One execution that succeeds and one that fails in a Fail state with no Catch."""
    await api.define("orders", OK)
    await api.define("broken", BROKEN)
    ok = await api.finished((await api.start("orders", {"order": 7}))["executionId"])
    failed = await api.finished((await api.start("broken", {"x": 1}))["executionId"])
    assert ok["status"] == "SUCCEEDED" and failed["status"] == "FAILED", (ok, failed)
    return ok, failed


# tests ------------------------------------------------------------------------------------


async def test_the_dashboard_is_served_with_a_strict_policy(api: Api) -> None:
    status, _ = await api.call("GET", "/", allow_redirects=False)
    assert status == 302
    async with api.client.get("/", allow_redirects=False) as response:
        assert response.headers["Location"] == "/ui/"
    modules = [(f"/ui/{name}", MEDIA[Path(name).suffix]) for name in [*SERVED, "statuses.js"]]
    assert ("/ui/pages/execution.js", "text/javascript") in modules
    for path, media in (("/ui/", "text/html"), ("/ui/app.js", "text/javascript"),
                        ("/ui/style.css", "text/css"), *modules):
        async with api.client.get(path) as response:
            assert response.status == 200 and response.content_type == media, path
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    for path in ("/ui/__init__.py", "/ui/..%2f__init__.py", "/ui/nothing.js", "/ui/pages/",
                 "/ui/pages/nothing.js", "/ui/pages/..%2f..%2fweb%2f__init__.py"):
        status, body = await api.call("GET", path)
        assert status == 404 and body["error"] == "NotFound", (path, body)


async def test_nothing_is_fetched_from_elsewhere(api: Api) -> None:
    """No CDN, no remote font: every URL the files name is relative or this origin's."""
    for name in ("index.html", "app.js", "style.css", *SERVED, "statuses.js"):
        _, text = await api.call("GET", f"/ui/{name}")
        remote = [part.split("\"")[0] for part in text.split("://")[1:]]
        assert remote in ([], ["www.w3.org/2000/svg"]), (name, remote)


async def test_the_statuses_come_from_the_server(api: Api) -> None:
    """statuses.js is written from Status; no other module of the dashboard spells one out."""
    status, text = await api.call("GET", "/ui/statuses.js")
    assert status == 200
    for value in Status:
        assert f'"{value}"' in text, value
    for name in SERVED:
        source = (WEB / name).read_text()
        spelled = [value for value in Status if f'"{value}"' in source or f"'{value}'" in source]
        assert not spelled or name.endswith(".css"), (name, spelled)


async def test_every_page_loads_without_errors(api: Api, page: Browser) -> None:
    """Each page's modules load and run with nothing reported in the console."""
    ok, failed = await run_two(api)
    base = str(api.client.make_url("/ui/"))
    await page.open(await login_link(api))
    await page.until("location.search === '' && document.getElementById('who')?.textContent")
    rows = "[...document.querySelectorAll('#executions-body .execution-row')]"
    visits = (
        ("#/", f"{rows}.length === 2"),
        ("#/?status=FAILED", f"{rows}.map(r => r.dataset.status).join() === 'FAILED'"),
        ("#/machines", "document.querySelectorAll('#machines-body tr').length === 2"),
        ("#/machines/orders", ("document.querySelector('#start-form') !== null &&"
                               " document.querySelector('#graph .node[data-state=Each]') !== null")),
        *((f"#/executions/{x['executionId']}",
           (f"document.querySelector('h1')?.textContent.includes({json.dumps(x['name'])}) &&"
            " document.querySelector('#timeline .bar') !== null &&"
            " document.querySelector('#history-body .history-row') !== null"))
          for x in (ok, failed)),
    )
    for fragment, ready in visits:
        await page.open(base + fragment)
        await page.until(ready)
        if fragment.startswith("#/?"):
            options = await page.eval("[...document.querySelectorAll('#f-status option')]"
                                      ".map(o => o.value)")
            assert options == ["", *Status]
    assert page.errors == []


async def test_list_and_execution_pages(api: Api, dump_dom: DumpDom, tmp_path: Path) -> None:
    """One succeeded and one failed execution, seen from the list and from their own pages."""
    ok, failed = await run_two(api)
    status, history = await api.call("GET", f"/v1/executions/{failed['executionId']}/history")
    assert status == 200
    shot = tmp_path / "execution.png"
    listing, failed_page, ok_page = await asyncio.gather(
        dump_dom(),
        dump_dom(f"#/executions/{failed['executionId']}", screenshot=shot),
        dump_dom(f"#/executions/{ok['executionId']}"),
    )
    check_list(listing, {ok["name"]: "SUCCEEDED", failed["name"]: "FAILED"})
    options = [o.attrs["value"] for o in listing.by_id("f-machine").find_all("option")]
    assert options == ["", "broken", "orders"]
    check_failed_page(failed_page, history["events"])
    check_succeeded_page(ok_page, ok)
    check_screenshot(shot)


def check_list(dom: Element, expected: dict[str, str]) -> None:
    """The list's rows are exactly the expected executions, each with its status badge."""
    rows = dom.by_id("executions-body").find_all("tr", cls="execution-row")
    seen = {row.find_all("a", cls="execution-link")[0].text(): row.attrs["data-status"]
            for row in rows}
    assert seen == expected
    assert [row.find_all("span", cls="badge")[0].text() for row in rows] == [
        row.attrs["data-status"] for row in rows]


def graph_nodes(dom: Element) -> dict[str, set[str]]:
    return {g.attrs["data-state"]: g.classes for g in dom.by_id("graph").find_all("g", cls="node")
            if "data-state" in g.attrs}


def check_failed_page(dom: Element, events: list[dict[str, Any]]) -> None:
    """Graph path ending in red, one history row per event, one timeline bar per state."""
    nodes = graph_nodes(dom)
    assert set(nodes) == {"Check", "Boom"}
    assert "visited" in nodes["Check"] and "failed" in nodes["Boom"]
    taken = [p for p in dom.by_id("graph").find_all("path", cls="edge") if "taken" in p.classes]
    assert len(taken) == 2  # Start -> Check -> Boom

    rows = dom.by_id("history-body").find_all("tr", cls="history-row")
    types = [row.find_all("td", cls="type")[0].text() for row in rows]
    assert types == [event["type"] for event in events] and len(types) == 5
    assert types[-1] == "ExecutionFailed" and "bad" in rows[-1].classes

    bars = dom.by_id("timeline").find_all("div", cls="bar")
    assert [sorted(bar.classes) for bar in bars] == [["bar", "o-succeeded"], ["bar", "o-failed"]]

    assert dom.by_id("x-error").text() == "Custom.Boom"
    assert dom.by_id("x-cause").text() == HOSTILE_CAUSE
    assert not dom.find_all("img") and not dom.find_all("b")
    assert dom.find_all("title")[0].text() != "pwned"


def check_succeeded_page(dom: Element, execution: dict[str, Any]) -> None:
    """Choice and Map on the path are green, the branch not taken stays grey."""
    nodes = graph_nodes(dom)
    assert set(nodes) == {"Prepare", "Route", "Nowhere", "Each", "Double", "Done"}
    assert "container" in nodes["Each"]
    for name in ("Prepare", "Route", "Each", "Double", "Done"):
        assert "visited" in nodes[name], name
    assert "unvisited" in nodes["Nowhere"]
    assert not any("failed" in classes for classes in nodes.values())
    labels = [row.find_all("div", cls="tl-label")[0].text()
              for row in dom.by_id("timeline").find_all("div", cls="tl-row")[1:]]
    # Map iterations are labelled by their item's index, whichever started first.
    assert labels[:3] == ["Prepare", "Route", "Each"] and labels[-1] == "Done"
    assert sorted(labels[3:5]) == ["Double [0]", "Double [1]"]
    assert json.loads(dom.by_id("x-output").text()) == execution["output"]
    assert not dom.find_all("button", id="stop")


async def test_start_form_then_stop_button(api: Api, page: Browser) -> None:
    """The Start form refuses bad JSON with a message, starts a run; Stop aborts it."""
    await api.define("nap", NAP)
    await api.define("nap", {**NAP, "Comment": "second version"})
    await page.open(await login_link(api, "#/machines/nap?version=1"))
    await page.until("document.getElementById('start-form') !== null")
    assert await page.eval("[...document.querySelectorAll('#version option')]"
                           ".map(o => o.value)") == ["2", "1"]
    assert await page.eval("document.querySelector('#version option').textContent") \
        == "revision 2 (latest)"  # a definition's revisions, not its published versions
    assert await page.eval("document.querySelector('.graph .node[data-state=Nap]')"
                           ".getAttribute('class')") == "node plain t-wait"

    await page.eval("document.getElementById('start-input').value = '{\"who\": ';"
                    "document.getElementById('start-form').requestSubmit()")
    message = await page.until("document.getElementById('start-message').textContent")
    assert message.startswith("Input is not valid JSON:"), message
    listed = await api.call("GET", "/v1/executions")
    assert listed[1]["executions"] == []

    await page.eval("document.getElementById('start-input').value = '{\"who\": \"Ada\"}';"
                    "document.getElementById('start-form').requestSubmit()")
    await page.until("location.hash.startsWith('#/executions/')")
    await page.until("document.querySelector('.graph .node.active') !== null")
    assert await page.eval("document.querySelectorAll('#timeline .bar.o-running').length") == 1
    execution_id = await page.eval("decodeURIComponent(location.hash.split('/')[2])")
    status, described = await api.call("GET", f"/v1/executions/{execution_id}")
    assert status == 200 and described["input"] == {"who": "Ada"}
    assert described["status"] == "RUNNING"

    await page.eval("window.confirm = () => true; document.getElementById('stop').click()")
    await page.until("document.querySelector('h1 .badge').textContent === 'ABORTED'")
    assert (await api.finished(execution_id))["status"] == "ABORTED"
    assert await page.eval("document.getElementById('stop')") is None
    assert await page.eval("document.querySelector('.graph .node[data-state=Nap]')"
                           ".classList.contains('aborted')")


def check_screenshot(shot: Path) -> None:
    """A 1280x800 PNG (kept in $STATEMACHINE_SCREENSHOTS when set, to look at)."""
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 800)
    keep = os.environ.get("STATEMACHINE_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / shot.name).write_bytes(data)


async def test_a_stalled_execution_is_marked_and_requeued_from_its_page(api: Api,
                                                                        page: Browser) -> None:
    """A dead letter holding work of a RUNNING execution: its page shows STALLED with the
    error; the Requeue button puts the letter back and the mark goes."""
    import redis.asyncio as aioredis

    await api.define("nap", NAP)
    xid = (await api.start("nap", {}))["executionId"]
    shard = api.service.store.shard(xid)
    client = aioredis.Redis.from_url(api.redis_url)
    try:
        # What dead.lua writes once a work item failed on every delivery (a stale timer's
        # here, so that the requeued item changes nothing).
        message = json.dumps({"x": xid, "e": {"type": "TimerFired", "timer": "gone"}})
        await client.xadd(shard.dead, {"stream": shard.ready, "group": "workers", "id": "1-0",
                                       "m": message, "error": "KeyError: 'seq'",
                                       "consumer": "w:1", "at": 1_764_121_200_000})
        await page.open(await login_link(api, f"#/executions/{xid}"))
        await page.until("document.getElementById('stalled') !== null")
        assert await page.eval("document.getElementById('x-stalled').textContent") == "STALLED"
        assert "KeyError: 'seq'" in await page.eval(
            "document.getElementById('stalled').textContent")
        await page.eval("document.querySelector('#stalled button.requeue').click()")
        await page.until("document.getElementById('stalled') === null")
        assert await client.xlen(shard.dead) == 0
        status, described = await api.call("GET", f"/v1/executions/{xid}")
        assert status == 200 and (described["status"], described["stalled"]) == ("RUNNING", False)
    finally:
        await client.aclose()
