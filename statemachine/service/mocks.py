"""Test cases of the service's mock config, as starts name them and as ``serve`` checks them.

``serve --mock-config F`` (Step Functions Local's ``MockConfigFile.json``) loads the file into
:attr:`Settings.mock_config <statemachine.runtime.settings.Settings.mock_config>`.  A start
then names a test case of the started machine — AWS API: ``<stateMachineArn>#<TestCase>``, as
Step Functions Local takes it; REST: ``{"testCase": ...}`` — and the execution's record keeps
the name: the workers answer the states the case mocks (:mod:`statemachine.runtime.mocking`).

A start naming a case the config does not have, or naming one when the service has no mock
config, is an :class:`~statemachine.errors.InputError` ``InvalidTestCase`` (400 on REST,
``ValidationException`` on the AWS API).  :func:`mock_config_problem` is ``serve``'s check at
start: each case against the registered definition of its machine, where there is one.
"""

from __future__ import annotations

from typing import Any

from statemachine.errors import InputError, NotFound
from statemachine.language.mocks import MockCase, MockConfig, unknown_states
from statemachine.language.model import compile_machine

__all__ = ["INVALID_TEST_CASE", "MAX_TEST_CASE", "check_test_case", "mock_config_problem"]

INVALID_TEST_CASE = "InvalidTestCase"
MAX_TEST_CASE = 256
"""A test case name's longest length (a start's ARN has at most 256 characters in all)."""


def check_test_case(config: MockConfig | None, machine: str, case: Any) -> str:
    """``case`` when ``config`` has that test case for ``machine``, else InputError."""
    if not isinstance(case, str) or not case or len(case) > MAX_TEST_CASE:
        raise InputError(f"a test case must be a non-empty string of at most {MAX_TEST_CASE} "
                         "characters", INVALID_TEST_CASE)
    if config is None:
        raise InputError(f"test case '{case}' cannot be run: this service runs without a mock "
                         "config (start it with serve --mock-config FILE)", INVALID_TEST_CASE)
    cases = config.cases.get(machine)
    if cases is None:
        raise InputError(f"test case '{case}' cannot be run: the mock config {config.file} has "
                         f"no state machine '{machine}' under StateMachines", INVALID_TEST_CASE)
    if case not in cases:
        known = ", ".join(sorted(cases)) or "none"
        raise InputError(f"the mock config {config.file} has no test case '{case}' for state "
                         f"machine '{machine}' (it has: {known})", INVALID_TEST_CASE)
    return case


async def mock_config_problem(service: Any, config: MockConfig) -> str | None:
    """The first test case that mocks a state its machine's latest registered version has no
    Task state of, as one line naming the file, machine, case and state; None when all fit.
    A machine not registered is passed over (there is no definition to check against)."""
    for machine, cases in sorted(config.cases.items()):
        try:
            stored = await service.get_machine(machine)
        except NotFound:
            continue
        compiled = compile_machine(stored["definition"])
        for case in sorted(cases.values(), key=lambda c: c.name):
            unknown = unknown_states(case, compiled)
            if unknown:
                return _unknown_line(config, case, unknown)
    return None


def _unknown_line(config: MockConfig, case: MockCase, unknown: list[str]) -> str:
    states = ", ".join(repr(s) for s in unknown)
    return (f"{config.file}: test case '{case.name}' of state machine '{case.machine}' mocks "
            f"{states}, which the state machine has no Task state of that name for")
