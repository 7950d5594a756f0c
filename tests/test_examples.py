"""Every example in definitions/ runs to SUCCEEDED against the demo services, as a user runs it.

The demo services (:mod:`statemachine.demo`) run in this process, in a thread of their own,
on a free port.  Examples that need no callback go through ``cli.py run`` (in memory); all of
them go through a real ``cli.py serve`` subprocess on a real redis-server, started with
``cli.py start NAME --input-file ... --wait``, the approvals answered through
``POST /v1/tasks/success`` with the token the demo's review endpoint received.  The demo
then shows that each logical step took effect exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statemachine.cli import main as cli_main
from statemachine.demo import DemoServices, substitutions
from tests.api.test_cli import _stop
from tests.conftest import ROOT, admin_key_env, app_in_thread, free_port

DEFINITIONS = ROOT / "definitions"
EXAMPLES = sorted(p.stem for p in DEFINITIONS.glob("*.yaml"))
CALLBACK = sorted(s for s in EXAMPLES
                  if "waitForTaskToken" in (DEFINITIONS / f"{s}.yaml").read_text())
IN_MEMORY = [s for s in EXAMPLES if s not in CALLBACK]
Demo = tuple[DemoServices, str]
Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def demo() -> Iterator[Demo]:
    """Fresh demo services on a free port, served by an event loop in a daemon thread."""
    services = DemoServices(log=lambda line: None)
    with app_in_thread(services.app(), "demo-services") as base:
        yield services, base


def _sub_args(base: str) -> list[str]:
    return [arg for k, v in substitutions(base).items() for arg in ("--sub", f"{k}={v}")]


def _input(stem: str, variant: str = "") -> Path:
    return DEFINITIONS / "inputs" / f"{stem}{'.' + variant if variant else ''}.json"


def _run(capsys: Capsys, base: str, stem: str, variant: str = "") -> tuple[int, Any]:
    """``cli.py run`` in this process; its exit code and printed result."""
    code = cli_main(["run", str(DEFINITIONS / f"{stem}.yaml"), "--input-file",
                     str(_input(stem, variant)), *_sub_args(base)])
    return code, json.loads(capsys.readouterr().out)


def _http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
          ) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def _task_requests(services: DemoServices) -> list[Any]:
    """The requests the workflows made (not the tests' own review decisions)."""
    return [r for r in services.requests if not r.path.endswith("/decision")]


# -- the example set --------------------------------------------------------------------


def test_every_example_has_a_sample_input_and_the_callback_ones_are_known() -> None:
    assert len(EXAMPLES) >= 6
    for stem in EXAMPLES:
        assert isinstance(json.loads(_input(stem).read_text()), dict), stem
    assert CALLBACK == ["order-routing-jsonata", "user-onboarding"]


def test_substitutions_env_points_every_placeholder_at_the_demo() -> None:
    from statemachine.cli.serve import read_substitutions

    defaults = read_substitutions(DEFINITIONS / "substitutions.env", [])
    assert defaults == substitutions("http://127.0.0.1:8089")
    used = {name for stem in EXAMPLES for name in substitutions("x")
            if "${" + name + "}" in (DEFINITIONS / f"{stem}.yaml").read_text()}
    assert used == set(defaults)
    overridden = read_substitutions(DEFINITIONS / "substitutions.env", ["MlApi=http://ml:1"])
    assert overridden == {**defaults, "MlApi": "http://ml:1"}


async def test_serve_registers_only_definitions_with_substitutions(redis_url: str,
                                                                  tmp_path: Path) -> None:
    from statemachine.cli.serve import read_substitutions, register_definitions
    from statemachine.service import Service

    text = (DEFINITIONS / "ml-training-pipeline.yaml").read_text()
    (tmp_path / "ml.yaml").write_text(text)
    (tmp_path / ".ml.yaml").write_text(text)
    (tmp_path / "package.json").write_text('{"name": "not a state machine"}')
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "ml.json").write_text("{}")
    (tmp_path / "substitutions.env").write_text("# demo\nMlApi = http://ml.example\n\n")
    subs = read_substitutions(tmp_path / "substitutions.env", [])
    service = await Service.connect(redis_url)
    try:
        lines = await register_definitions(service, tmp_path, subs)
        assert [line.split(" from ")[0] for line in lines] == [
            "statemachine: registered ml version 1"]
        assert [m["name"] for m in await service.list_machines()] == ["ml"]
        stored = json.dumps((await service.get_machine("ml"))["definition"])
        assert "http://ml.example/train" in stored and "${MlApi}" not in stored
    finally:
        await service.close()


# -- the demo services ------------------------------------------------------------------


def test_demo_replays_a_repeated_idempotency_key_without_a_second_effect(demo: Demo) -> None:
    services, base = demo
    card = {"amount": 5, "currency": "EUR", "card": "t"}
    _, _, auth = _http("POST", f"{base}/payments/authorize", card, {"Idempotency-Key": "k-auth"})
    entry = {"authorizationId": auth["authorizationId"], "amount": 5, "currency": "EUR"}
    first = _http("POST", f"{base}/ledger/entries", entry, {"Idempotency-Key": "k-1"})
    again = _http("POST", f"{base}/ledger/entries", entry, {"Idempotency-Key": "k-1"})
    other = _http("POST", f"{base}/ledger/entries", entry, {"Idempotency-Key": "k-2"})
    assert first[0] == again[0] == 201 and first[2] == again[2]
    assert again[1].get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first[1]
    assert other[2]["entryId"] != first[2]["entryId"]
    assert len(services.ledger) == 2
    assert services.effects[("/ledger/entries", "k-1")] == 1


def test_demo_outage_is_not_stored_so_the_retry_with_the_same_key_succeeds(demo: Demo) -> None:
    services, base = demo
    body = {"amount": 5, "currency": "EUR", "card": "tok_flaky"}
    assert _http("POST", f"{base}/payments/authorize", body, {"Idempotency-Key": "k"})[0] == 503
    assert _http("POST", f"{base}/payments/authorize", body, {"Idempotency-Key": "k"})[0] == 200
    assert len(services.authorizations) == 1


def test_demo_review_lists_the_token_and_the_command_that_approves_it(demo: Demo) -> None:
    _, base = demo
    status, _, created = _http("POST", f"{base}/reviews", {"taskToken": "tok.123", "orderId": "o"})
    assert status == 202
    listed = _http("GET", f"{base}/reviews")[2]["reviews"]
    assert [(r["reviewId"], r["taskToken"]) for r in listed] == [(created["reviewId"], "tok.123")]
    assert "/v1/tasks/success" in listed[0]["approve"]
    assert '"approved": true' in listed[0]["approve"]
    _http("POST", f"{base}/reviews/{created['reviewId']}/decision", {"approved": True})
    assert _http("GET", f"{base}/reviews")[2]["reviews"] == []


# -- in memory: cli.py run ---------------------------------------------------------------


@pytest.mark.parametrize("stem", IN_MEMORY)
def test_example_runs_in_memory(stem: str, demo: Demo, capsys: Capsys) -> None:
    services, base = demo
    code, result = _run(capsys, base, stem)
    assert (code, result["status"], result["error"]) == (0, "SUCCEEDED", None), result
    assert all(r.key for r in _task_requests(services)), "each task request has an Idempotency-Key"
    assert all(count == 1 for count in services.effects.values())


def test_payment_declined_card_fails_without_a_ledger_entry(demo: Demo, capsys: Capsys) -> None:
    services, base = demo
    code, result = _run(capsys, base, "payment-settlement", "declined")
    assert (code, result["status"], result["error"]) == (1, "FAILED", "Payment.AuthorizationFailed")
    assert services.ledger == [] and services.authorizations == {}


def test_payment_ledger_refusal_voids_the_authorization(demo: Demo, capsys: Capsys) -> None:
    services, base = demo
    code, result = _run(capsys, base, "payment-settlement", "compensation")
    assert (code, result["error"]) == (1, "Payment.SettlementFailed")
    assert [a["status"] for a in services.authorizations.values()] == ["voided"]
    assert services.ledger == [] and services.notifications == []


def test_payment_outage_is_retried_with_the_same_key(demo: Demo, capsys: Capsys) -> None:
    services, base = demo
    code, result = _run(capsys, base, "payment-settlement", "flaky")
    assert (code, result["status"]) == (0, "SUCCEEDED")
    attempts = [(r.key, r.status) for r in services.requests if r.path == "/payments/authorize"]
    assert [status for _, status in attempts] == [503, 200]
    assert attempts[0][0] == attempts[1][0]
    assert len(services.ledger) == 1


# -- durable: cli.py serve + cli.py start --wait ------------------------------------------


class Serve:
    """``cli.py serve`` as a subprocess on a free port; its log goes to a file."""

    def __init__(self, redis_url: str, demo_base: str, log: Path) -> None:
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        self.log = log
        # The admin key comes from the environment, which the client commands read too.
        self.env = {**os.environ, **admin_key_env(), "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(self.port),
                   "--redis-url", redis_url, "--workers", "4", "--data-dir",
                   str(log.parent / "data"), *_sub_args(demo_base)]
        with log.open("wb") as out:
            self.proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                         env=self.env)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if _http("GET", f"{self.api}/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"serve did not answer in {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        _stop(self.proc, 20)


def _start(serve: Serve, stem: str) -> subprocess.Popen[str]:
    command = [sys.executable, str(ROOT / "cli.py"), "start", stem,
               "--input-file", str(_input(stem)), "--wait", "--timeout", "90", "--api", serve.api]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=serve.env)


def _approve_pending(api: str, demo_base: str) -> int:
    """Answer every undecided review as a reviewer's tool would; how many were answered."""
    answered = 0
    for review in _http("GET", f"{demo_base}/reviews")[2]["reviews"]:
        status, _, body = _http("POST", f"{api}/v1/tasks/success",
                                {"taskToken": review["taskToken"], "output": {"approved": True}})
        assert status == 200, body
        _http("POST", f"{demo_base}/reviews/{review['reviewId']}/decision", {"approved": True})
        answered += 1
    return answered


EXPECTED_EFFECTS = {
    "/payments/validate": 1, "/payments/authorize": 1, "/ledger/entries": 1, "/notifications": 1,
    "/audit": 1, "/accounts": 1, "/reviews": 2, "/mail/welcome": 1, "/mail/follow-up": 1,
    "/pricing": 1, "/batches/list": 1, "/files/parse": 11, "/files/store": 11,
    "/features/users": 1, "/features/items": 1, "/features/interactions": 1, "/train": 1,
    "/evaluate": 1, "/models/register": 1,
}
"""Each logical step of one run of every example, by the demo path it takes effect on."""


def test_every_example_runs_through_the_service(redis_url: str, demo: Demo,
                                                tmp_path: Path) -> None:
    services, demo_base = demo
    serve = Serve(redis_url, demo_base, tmp_path / "serve.log")
    try:
        serve.wait_ready()
        registered = [line for line in serve.log.read_text().splitlines() if "registered" in line]
        assert len(registered) == len(EXAMPLES)
        assert not any("NOT registered" in line for line in registered)
        starts = {stem: _start(serve, stem) for stem in EXAMPLES}
        answered = 0
        deadline = time.monotonic() + 90
        while any(p.poll() is None for p in starts.values()) and time.monotonic() < deadline:
            answered += _approve_pending(serve.api, demo_base)
            time.sleep(0.2)
        results = {stem: (p.wait(10), p.communicate()) for stem, p in starts.items()}
    finally:
        serve.stop()
    for stem, (code, (out, err)) in results.items():
        execution = json.loads(out) if out.strip() else {}
        assert (code, execution.get("status")) == (0, "SUCCEEDED"), (stem, execution, err)
    assert answered == len(CALLBACK)
    assert all(r.key for r in _task_requests(services)), "each task request has an Idempotency-Key"
    assert all(count == 1 for count in services.effects.values())
    assert dict(Counter(path for path, _ in services.effects)) == EXPECTED_EFFECTS
    assert len(services.ledger) == len(services.accounts) == 1 and len(services.mail) == 2
