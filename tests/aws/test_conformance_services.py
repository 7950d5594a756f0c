"""The service-integration corpus through a durable ``cli.py serve`` against moto's server.

Every case of tests/conformance/services (executions recorded on real AWS that call S3,
SNS, SQS, DynamoDB, EventBridge and Step Functions) gets its setup replayed — AWS
resources in moto's server, child state machines in the service itself — then runs
through the service's AWS API (tests/conformance/services_run.py), with the service's AWS
integrations pointed at moto (``STATEMACHINE_AWS_ENDPOINT``, ``STATEMACHINE_SQS_ENDPOINT``)
and dummy credentials.  All cases run at once against one service.

``conformance_services_known.json`` beside this module names every case that does not
pass, with its cause (ours, or moto behaving unlike AWS).  Strict: a listed case that
passes fails the suite, so the table stays true; the pass count is printed at the end of
the run (and in ``test_pass_count``'s line).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aws.conftest import REGION, REPORT, AwsService, start_service, stop_service
from tests.conformance import aws_run, services_run
from tests.conftest import FAKE_AWS_ENV

KNOWN_FILE = Path(__file__).with_name("conformance_services_known.json")
KNOWN = services_run.known_failures(KNOWN_FILE)
PATHS = services_run.case_files()
KEYS = [services_run.key_of(p) for p in PATHS]


def _client(service: AwsService) -> Any:
    """boto3 signed by the admin key, a connection per runner thread."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "stepfunctions", endpoint_url=service.endpoint, region_name=REGION,
        aws_access_key_id=service.key_id, aws_secret_access_key=service.secret,
        config=Config(retries={"max_attempts": 1}, read_timeout=75,
                      max_pool_connections=aws_run.THREADS, inject_host_prefix=False))


@pytest.fixture(scope="module")
def verdicts(moto_url: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str | None]]:
    """Every case run once (the first test pays for it); the verdicts by case key."""
    env = {**FAKE_AWS_ENV, "STATEMACHINE_AWS_ENDPOINT": moto_url,
           "STATEMACHINE_SQS_ENDPOINT": moto_url}
    service = start_service(tmp_path_factory.mktemp("services"), "--workers", "8", env=env)
    try:
        prepared = services_run.prepare_all(PATHS, moto_url, service.endpoint,
                                            (service.key_id, service.secret))
        sfn = _client(service)
        result = services_run.run(prepared, aws_run.Runner(sfn, aws_run.boto3_define(sfn)))
    finally:
        stop_service(service)
    REPORT.append(f"services conformance through the service: {services_run.summary(result)}")
    yield result


@pytest.mark.parametrize("key", KEYS)
def test_case(key: str, verdicts: dict[str, str | None]) -> None:
    problem = verdicts[key]
    if key in KNOWN:
        assert problem is not None, f"{key} passes now: remove it from {KNOWN_FILE.name}"
        pytest.xfail(f"{KNOWN[key]} ({problem[:300]})")
    assert problem is None, problem


def test_pass_count(verdicts: dict[str, str | None]) -> None:
    """Every case has a verdict, and the known failures are exactly the failures."""
    passed = sum(problem is None for problem in verdicts.values())
    assert set(verdicts) == set(KEYS)
    assert passed == len(KEYS) - len(KNOWN), services_run.summary(verdicts)


def test_known_failures_name_cases() -> None:
    assert set(KNOWN) <= set(KEYS)
    assert len(KEYS) == 80
