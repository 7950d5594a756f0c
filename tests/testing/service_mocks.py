"""What the tests of ``serve --mock-config`` share: a real local HTTP service that records
every request, the workflows (written as a user writes them, with that service's URL), a
mock config in Step Functions Local's format, and a ``serve`` started on them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.aws.conftest import AwsService, start_service
from tests.conftest import app_in_thread

ACTIVITY = "arn:aws:states:us-east-1:123456789012:activity:review"

MOCKS: dict[str, Any] = {
    "StateMachines": {
        "orders": {"TestCases": {
            "HappyPath": {"Charge": "ChargeOk", "Ship": "ShipOk", "Notify": "NotifyOk",
                          "Review": "ReviewOk"},
            "RetryPath": {"Charge": "ChargeFlaky", "Ship": "ShipOk", "Notify": "NotifyOk",
                          "Review": "ReviewOk"},
            "CatchPath": {"Charge": "ChargeDeclined"},
        }},
        "gated": {"TestCases": {"AfterGate": {"After": "AfterOk"}}},
        "quick": {"TestCases": {"Fast": {"Quick": "QuickOk"}}},
    },
    "MockedResponses": {
        "ChargeOk": {"0": {"Return": {"charged": 42}}},
        "ChargeFlaky": {
            "0-1": {"Throw": {"Error": "Payments.Busy", "Cause": "try again"}},
            "2": {"Return": {"charged": 7}},
        },
        "ChargeDeclined": {"0": {"Throw": {"Error": "Payments.Declined", "Cause": "no funds"}}},
        "ShipOk": {"0": {"Return": {"shipped": True}}},
        "NotifyOk": {"0": {"Return": "sent"}},
        "ReviewOk": {"0": {"Return": {"approved": True}}},
        "AfterOk": {"0": {"Return": {"after": "mocked"}}},
        "QuickOk": {"0": {"Return": {"fast": True}}},
    },
}


@dataclass
class Recorder:
    """The local service's base URL and the bodies it received, by path."""

    base: str
    calls: dict[str, list[Any]] = field(default_factory=dict)

    def bodies(self, path: str) -> list[Any]:
        return self.calls.get(path, [])


@contextmanager
def recording_service() -> Iterator[Recorder]:
    """``/audit`` answers ``{"audited": n}``; ``/gate`` takes a callback request (its token);
    ``/never`` is where the mocked states point: a request there fails the test's checks."""
    recorder = Recorder("")

    async def record(request: web.Request) -> web.Response:
        path = request.path
        bodies = recorder.calls.setdefault(path, [])
        bodies.append(await request.json())
        if path == "/never":
            return web.json_response({"error": "a mocked state was performed"}, status=500)
        return web.json_response({"audited": len(bodies)})

    app = web.Application()
    app.router.add_post("/{name}", record)
    with app_in_thread(app, "mock-tests-service") as base:
        recorder.base = base
        yield recorder


def orders(base: str) -> dict[str, Any]:
    """Charge (retried, caught), a Map of Ship tasks, a ``.waitForTaskToken`` HTTP task, an
    activity task, then an unmocked Audit (or, caught, Refund) calling the real service."""
    never = f"{base}/never"
    return {
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task", "Resource": never, "ResultPath": "$.charge",
                "Retry": [{"ErrorEquals": ["Payments.Busy"], "IntervalSeconds": 1,
                           "MaxAttempts": 3, "BackoffRate": 1}],
                "Catch": [{"ErrorEquals": ["Payments.Declined"], "ResultPath": "$.failure",
                           "Next": "Refund"}],
                "Next": "Lines",
            },
            "Lines": {
                "Type": "Map", "ItemsPath": "$.lines", "ResultPath": "$.shipped",
                "ItemProcessor": {"StartAt": "Ship", "States": {
                    "Ship": {"Type": "Task", "Resource": never, "End": True}}},
                "Next": "Notify",
            },
            "Notify": {
                "Type": "Task", "Resource": "arn:aws:states:::http:invoke.waitForTaskToken",
                "Parameters": {"ApiEndpoint": never, "Method": "POST",
                               "RequestBody": {"token.$": "$$.Task.Token"}},
                "ResultPath": "$.notified", "Next": "Review",
            },
            "Review": {"Type": "Task", "Resource": ACTIVITY, "ResultPath": "$.review",
                       "Next": "Audit"},
            "Audit": {"Type": "Task", "Resource": f"{base}/audit", "ResultPath": "$.audit",
                      "End": True},
            "Refund": {"Type": "Task", "Resource": f"{base}/audit", "ResultPath": "$.audit",
                       "End": True},
        },
    }


def gated(base: str) -> dict[str, Any]:
    """An unmocked callback task (its token goes to ``/gate``), then a mocked task."""
    return {
        "StartAt": "Gate",
        "States": {
            "Gate": {
                "Type": "Task", "Resource": "arn:aws:states:::http:invoke.waitForTaskToken",
                "Parameters": {"ApiEndpoint": f"{base}/gate", "Method": "POST",
                               "RequestBody": {"token.$": "$$.Task.Token", "id.$": "$.id"}},
                "ResultPath": "$.gate", "Next": "After",
            },
            "After": {"Type": "Task", "Resource": f"{base}/never", "ResultPath": "$.after",
                      "End": True},
        },
    }


def quick(base: str) -> dict[str, Any]:
    return {"StartAt": "Quick", "States": {
        "Quick": {"Type": "Task", "Resource": f"{base}/never", "End": True}}}


def write_files(folder: Path, base: str) -> tuple[Path, Path]:
    """The definitions folder ``serve`` registers (orders, gated) and the mock config."""
    definitions = folder / "definitions"
    definitions.mkdir(exist_ok=True)
    (definitions / "orders.json").write_text(json.dumps(orders(base)))
    (definitions / "gated.json").write_text(json.dumps(gated(base)))
    mocks = folder / "MockConfigFile.json"
    mocks.write_text(json.dumps(MOCKS))
    return definitions, mocks


def serve(workdir: Path, definitions: Path, mocks: Path | None) -> AwsService:
    extra = ["--definitions", str(definitions)]
    if mocks is not None:
        extra += ["--mock-config", str(mocks)]
    return start_service(workdir, *extra)


def history_types(sfn: Any, execution_arn: str) -> list[tuple[str, str | None]]:
    """(type, state or error) of each event: what the path was."""
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    shown = []
    for event in events:
        details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        shown.append((event["type"], details.get("name") or details.get("error")))
    return shown
