"""A real ``cli.py serve`` (its own private redis-server, two workers) for AWS clients.

``aws_service`` is module-scoped: one service per test module, reached by boto3, aiobotocore
and the ``aws`` CLI exactly as a user would, signing with the admin key it was started
with.  ``sfn`` is a boto3 client signed by that key; ``client_for(key_id, secret)`` makes
one for another key (``keys`` creates keys of a role through the REST API).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from statemachine.security.keys import ADMIN_KEY_ENV, API_KEY_ENV, new_key_id, new_secret
from statemachine.security.secretbox import KEY_ENV
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
REPORT: list[str] = []
"""Lines a module adds for the end of the run (a corpus's pass count), printed by
:func:`pytest_terminal_summary` whatever the capture and verbosity."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in REPORT:
        terminalreporter.write_line(line)


@dataclass(frozen=True)
class AwsService:
    endpoint: str
    key_id: str
    secret: str
    workdir: Path
    process: subprocess.Popen[str]

    def client(self, key_id: str | None = None, secret: str | None = None) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "stepfunctions", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=key_id or self.key_id, aws_secret_access_key=secret or self.secret,
            config=Config(retries={"max_attempts": 1}, read_timeout=75),
        )

    def create_key(self, role: str) -> tuple[str, str]:
        """A new key of ``role`` (through the REST API, as an admin): (id, secret)."""
        request = urllib.request.Request(
            f"{self.endpoint}/v1/keys", data=json.dumps({"role": role}).encode(),
            headers={"Authorization": f"Bearer {self.secret}",
                     "Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            made = json.loads(response.read())
        return made["id"], made["secret"]

    def cli_env(self) -> dict[str, str]:
        """The environment of an ``aws`` CLI call signed by the admin key."""
        return {**_clean_env(), "AWS_ACCESS_KEY_ID": self.key_id,
                "AWS_SECRET_ACCESS_KEY": self.secret, "AWS_DEFAULT_REGION": REGION,
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


def _clean_env() -> dict[str, str]:
    dropped = ("REDIS_URL", "STATEMACHINE_API", ADMIN_KEY_ENV, API_KEY_ENV, KEY_ENV,
               "AWS_PROFILE", "AWS_ENDPOINT_URL")
    return {k: v for k, v in os.environ.items() if k not in dropped}


def start_service(workdir: Path, *extra: str, env: dict[str, str] | None = None) -> AwsService:
    key_id, secret = new_key_id(), new_secret()
    port = free_port()
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port), "--workers", "2",
         *extra],
        cwd=workdir, env={**_clean_env(), ADMIN_KEY_ENV: f"{key_id}:{secret}", **(env or {})},
        stdout=log, stderr=subprocess.STDOUT, text=True)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {(workdir / 'serve.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{endpoint}/healthz", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError("serve did not become healthy") from None
            time.sleep(0.1)
    return AwsService(endpoint, key_id, secret, workdir, process)


def stop_service(service: AwsService) -> None:
    if service.process.poll() is None:
        service.process.terminate()
        try:
            service.process.wait(15)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()


@pytest.fixture(scope="module")
def aws_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsService]:
    service = start_service(tmp_path_factory.mktemp("aws"))
    try:
        yield service
    finally:
        stop_service(service)


@pytest.fixture
def sfn(aws_service: AwsService) -> Any:
    """A boto3 Step Functions client signed by the service's admin key."""
    return aws_service.client()


def describe_when_done(sfn: Any, execution_arn: str, timeout: float = 30) -> dict[str, Any]:
    """Poll DescribeExecution until the execution has finished (or ``timeout``); its description."""
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


@pytest.fixture
def wait_done(sfn: Any) -> Callable[[str], dict[str, Any]]:
    """Poll DescribeExecution until the execution has finished; its description."""
    def wait(execution_arn: str, timeout: float = 30) -> dict[str, Any]:
        return describe_when_done(sfn, execution_arn, timeout)
    return wait
