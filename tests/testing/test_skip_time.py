"""``cli.py run --skip-time``: the onboarding example's three-day Wait on a virtual clock.

The run is not timed here (tests never assert on time): a real three-day wait would simply
never end within the suite, and the history's timestamps read as three days.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from statemachine.cli import main as cli_main

ONBOARDING = Path(__file__).resolve().parents[2] / "definitions" / "user-onboarding.yaml"
THREE_DAYS_MS = 3 * 24 * 3600 * 1000
MOCKS = {
    "StateMachines": {"user-onboarding": {"TestCases": {"Approved": {
        "Create account": "Account", "Request approval": "Approve",
        "Send welcome mail": "Sent", "Send follow-up mail": "Sent",
    }}}},
    "MockedResponses": {
        "Account": {"0": {"Return": {"accountId": "acc-1"}}},
        "Approve": {"0": {"Return": {"approved": True}}},
        "Sent": {"0": {"Return": {}}},
    },
}


def test_the_three_day_wait_passes_on_the_virtual_clock(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    mocks = tmp_path / "mocks.json"
    mocks.write_text(json.dumps(MOCKS))
    code = cli_main(["run", str(ONBOARDING), "--input", '{"email": "a@example.com", "name": "A"}',
                     "--mock-config", str(mocks), "--test-case", "Approved", "--skip-time",
                     "--history"])
    out = json.loads(capsys.readouterr().out)
    assert (code, out["status"]) == (0, "SUCCEEDED")
    history = out["history"]
    entered = next(e for e in history if e["type"] == "WaitStateEntered")
    exited = next(e for e in history if e["type"] == "WaitStateExited")
    assert entered["stateEnteredEventDetails"]["name"] == "Wait three days"
    assert exited["timestamp"] - entered["timestamp"] >= THREE_DAYS_MS
    assert exited["timestamp"] - entered["timestamp"] < THREE_DAYS_MS + 60_000
    assert history[-1]["timestamp"] - history[0]["timestamp"] >= THREE_DAYS_MS
    assert [e["stateEnteredEventDetails"]["name"] for e in history
            if e["type"] == "TaskStateEntered"][-1] == "Send follow-up mail"
