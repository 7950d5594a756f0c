"""The ``workflow`` fixture, as this suite gets it: through the package's ``pytest11`` entry
point (nothing in tests/conftest.py registers it).  Its ini options are exercised by the
README's example (test_readme_example.py), which sets both."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from statemachine.testing import SetupError
from statemachine.testing.plugin import Workflows

APPROVED = {
    "Create account": {"Return": {"accountId": "acc-1"}},
    "Request approval": {"Return": {"approved": True}},
    "Send welcome mail": {"Return": {}},
    "Send follow-up mail": {"Return": {}},
}


def test_the_plugin_is_an_entry_point_of_the_installed_package(
        pytestconfig: pytest.Config) -> None:
    [plugin] = [e for e in entry_points(group="pytest11") if e.name == "statemachine"]
    assert plugin.value == "statemachine.testing.plugin"
    assert pytestconfig.pluginmanager.has_plugin("statemachine")


def test_the_fixture_reads_relative_definitions_from_the_rootdir(
        workflow: Workflows, pytestconfig: pytest.Config) -> None:
    assert workflow.definitions == pytestconfig.rootpath  # no statemachine_definitions here
    result = workflow.run("definitions/user-onboarding.yaml", {"email": "a@b", "name": "A"},
                          mocks=APPROVED)
    result.assert_succeeded()
    assert result.elapsed >= timedelta(days=3)  # skip_time is the fixture's default


def test_the_fixture_passes_a_dict_and_an_absolute_path_on(
        workflow: Workflows, tmp_path: Path) -> None:
    flow = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": True}}}
    workflow.run(flow).assert_succeeded(1)
    path = tmp_path / "flow.yaml"
    path.write_text("StartAt: P\nStates:\n  P: {Type: Pass, Result: 2, End: true}\n")
    workflow.run(path).assert_succeeded(2)


def test_a_case_without_mocks_or_the_ini_option_is_a_setup_error(workflow: Workflows) -> None:
    with pytest.raises(SetupError, match="the ini option statemachine_mock_config"):
        workflow.run("definitions/user-onboarding.yaml", case="Approved")


async def test_the_fixture_in_an_async_test(workflow: Workflows) -> None:
    result = await workflow.run_async("definitions/hello.yaml", {"name": "Ada"})
    assert result.status == "SUCCEEDED", result.summary()
    assert result.path


def test_loading_the_plugin_loads_no_engine() -> None:
    """pytest loads the plugin in every suite of the environment: it must cost nothing there."""
    code = ("import sys, statemachine.testing.plugin; "
            "print(sorted(m for m in sys.modules if m.startswith('statemachine.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "['statemachine.testing', 'statemachine.testing.plugin']"
