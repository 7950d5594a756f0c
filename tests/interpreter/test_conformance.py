"""Every AWS-recorded conformance case, run through ``advance()`` and the in-memory runner.

The cases (tests/conformance/cases, from LocalStack's AWS snapshots; see the README there)
hold what real AWS Step Functions produced.  The ``lambda`` group's functions are served by
tests/lambda_service.py, a real aiohttp server on a free port.  Timers run on virtual time.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests import lambda_service
from tests.conformance.harness import case_files, run_case, verdict
from tests.conftest import app_in_thread

#: Cases we do not pass, each with the reason.  Anything listed that starts passing fails
#: the suite (strict), so this list stays true.
_PLACEHOLDER_ROLE = (
    'the recording replaced the execution role ARN by the placeholder "sfn_role_arn" without '
    "listing it as volatile (the corpus README: role ARNs are volatile); everything else of "
    "the EXPRESS context object matches")
KNOWN: dict[str, str] = {
    "base_states/query_runtime_memory": _PLACEHOLDER_ROLE,
}

CASES = case_files()


@pytest.fixture(scope="module")
def lambda_url() -> Any:
    """The Lambda stand-in on a free port (a thread with its own event loop)."""
    with app_in_thread(lambda_service.make_app(), "lambda-service") as base:
        yield base


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
async def test_case(path: Path, lambda_url: str) -> None:
    from statemachine.runtime.invokers import Invokers, InvokerSettings

    case = json.loads(path.read_text())
    key = f"{path.parent.name}/{path.stem}"
    settings = InvokerSettings.from_env(lambda_endpoint=f"{lambda_url}/{case['name']}")
    async with Invokers(settings) as invokers:
        result = await asyncio.wait_for(run_case(case, invokers.invoke), 60)
    problem = verdict(case, result)
    if key in KNOWN:
        assert problem is not None, f"{key} passes now: remove it from KNOWN"
        pytest.xfail(f"{KNOWN[key]} ({problem})")
    assert problem is None, problem


def test_known_failures_exist() -> None:
    names = {f"{p.parent.name}/{p.stem}" for p in CASES}
    assert set(KNOWN) <= names
