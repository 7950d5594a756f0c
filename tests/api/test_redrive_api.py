"""Redrive over the REST API (``POST /v1/executions/{id}/redrive``, describe's redrive fields,
``redriveFilter``) and the command line (``cli.py redrive ID``)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from statemachine.security.roles import Role
from tests.api.client import Api

CLI = [sys.executable, str(Path(__file__).resolve().parents[2] / "cli.py")]


def _service() -> tuple[web.Application, dict[str, Any]]:
    """A service that answers 500 until ``state["up"]``."""
    state: dict[str, Any] = {"up": False, "calls": 0}

    async def handle(request: web.Request) -> web.Response:
        state["calls"] += 1
        if not state["up"]:
            return web.json_response({"message": "down"}, status=500)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/", handle)
    return app, state


def _machine(url: str) -> dict[str, Any]:
    return {"StartAt": "First", "States": {
        "First": {"Type": "Pass", "Result": {"a": 1}, "Next": "Call"},
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                 "Parameters": {"ApiEndpoint": url, "Method": "POST"},
                 "ResultSelector": {"body.$": "$.ResponseBody"}, "End": True}}}


async def test_redrive_over_rest_and_the_command_line(api: Api, serve_app: Any) -> None:
    app, state = _service()
    async with serve_app(app) as url:
        await api.define("flaky", _machine(url))
        xid = (await api.start("flaky", {}))["executionId"]
        failed = await api.finished(xid)
        assert failed["status"] == "FAILED" and failed["redriveStatus"] == "REDRIVABLE"
        assert failed["redriveCount"] == 0 and failed["redriveDate"] is None

        viewer = await api.key(Role.VIEWER)
        status, _ = await api.call("POST", f"/v1/executions/{xid}/redrive", auth=viewer)
        assert status == 403
        status, body = await api.call("POST", "/v1/executions/nope/redrive")
        assert status == 404 and body["error"] == "ExecutionDoesNotExist"
        status, body = await api.call("POST", f"/v1/executions/{xid}/redrive",
                                      json={"clientToken": ""})
        assert status == 400, body

        state["up"] = True
        operator = await api.key(Role.OPERATOR)
        status, body = await api.call("POST", f"/v1/executions/{xid}/redrive", auth=operator,
                                      json={"clientToken": "once"})
        assert status == 200 and body["executionId"] == xid and body["redriveCount"] == 1
        done = await api.finished(xid)
        assert done["status"] == "SUCCEEDED" and done["output"] == {"body": {"ok": True}}
        assert done["redriveCount"] == 1 and done["redriveDate"] == body["redriveDate"]
        assert done["redriveStatus"] == "NOT_REDRIVABLE"
        assert state["calls"] == 2

        status, again = await api.call("POST", f"/v1/executions/{xid}/redrive",
                                       json={"clientToken": "once"})
        assert status == 200 and again == body  # the same request again: the same answer
        status, refused = await api.call("POST", f"/v1/executions/{xid}/redrive")
        assert status == 409 and refused["error"] == "ExecutionNotRedrivable"

        status, listed = await api.call("GET", "/v1/executions?redriveFilter=REDRIVEN")
        assert status == 200
        assert [(e["executionId"], e["redriveCount"]) for e in listed["executions"]] == [(xid, 1)]
        status, _ = await api.call("GET", "/v1/executions?redriveFilter=SOMETIMES")
        assert status == 400

        # the command line, against the same API (run in a thread: this loop serves it)
        state["up"] = False
        second = (await api.start("flaky", {}))["executionId"]
        assert (await api.finished(second))["status"] == "FAILED"
        state["up"] = True
        base = str(api.client.make_url("")).rstrip("/")
        result = await asyncio.to_thread(
            subprocess.run, [*CLI, "redrive", second, "--wait", "--timeout", "30", "--api", base,
                             f"--api-key={operator}"],
            capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        shown = json.loads(result.stdout)
        assert shown["status"] == "SUCCEEDED" and shown["redriveCount"] == 1
        refused_cli = await asyncio.to_thread(
            subprocess.run, [*CLI, "redrive", second, "--api", base, f"--api-key={operator}"],
            capture_output=True, text=True, timeout=60, check=False)
        assert refused_cli.returncode == 1 and "ExecutionNotRedrivable" in refused_cli.stderr
