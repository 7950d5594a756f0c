"""The pytest plugin, installed with the package (entry point ``statemachine`` in ``pytest11``):
any suite in an environment with ``statemachine`` installed has the ``workflow`` fixture.

``workflow.run(definition, input, ...)`` is :func:`statemachine.testing.run` (same arguments,
``skip_time=True`` by default) with relative paths read from the project: a definition from
the folder the ini option ``statemachine_definitions`` names, a ``mocks=`` file from the
rootdir; and a test that names ``case=`` without ``mocks=`` runs the mock config the ini option
``statemachine_mock_config`` names.  Both options are relative to the ini file's folder::

    [tool.pytest.ini_options]
    statemachine_definitions = "definitions"
    statemachine_mock_config = "tests/MockConfigFile.json"

``await workflow.run_async(...)`` does the same inside an ``async def`` test.  Nothing here
is imported until a test asks for the fixture.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from statemachine.testing.harness import Definition, Mocks
    from statemachine.testing.result import RunResult

DEFINITIONS_INI = "statemachine_definitions"
MOCK_CONFIG_INI = "statemachine_mock_config"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(DEFINITIONS_INI, "the folder the workflow fixture reads relative definition "
                  "paths from (default: the rootdir)", type="paths", default=[])
    parser.addini(MOCK_CONFIG_INI, "the mock config (Step Functions Local's format) the "
                  "workflow fixture runs when a test gives case= without mocks=",
                  type="paths", default=[])


class Workflows:
    """The ``workflow`` fixture: runs definitions of this project (see the module's doc)."""

    def __init__(self, root: Path, definitions: Path | None, mock_config: Path | None) -> None:
        self.root = root
        self.definitions = definitions or root
        self.mock_config = mock_config

    def run(self, definition: Definition, input: Any = None, *, mocks: Mocks | None = None,
            case: str | None = None, machine: str | None = None, skip_time: bool = True,
            substitutions: Mapping[str, str] | None = None,
            name: str | None = None) -> RunResult:
        from statemachine.testing.harness import run

        return run(self._definition(definition), input, mocks=self._mocks(mocks, case),
                   case=case, machine=machine, skip_time=skip_time,
                   substitutions=substitutions, name=name)

    async def run_async(self, definition: Definition, input: Any = None, *,
                        mocks: Mocks | None = None, case: str | None = None,
                        machine: str | None = None, skip_time: bool = True,
                        substitutions: Mapping[str, str] | None = None,
                        name: str | None = None) -> RunResult:
        from statemachine.testing.harness import run_async

        return await run_async(self._definition(definition), input,
                               mocks=self._mocks(mocks, case), case=case, machine=machine,
                               skip_time=skip_time, substitutions=substitutions, name=name)

    def _definition(self, definition: Definition) -> Definition:
        if isinstance(definition, Mapping):
            return definition
        return self.definitions / os.fspath(definition)  # an absolute path stays itself

    def _mocks(self, mocks: Mocks | None, case: str | None) -> Mocks | None:
        if mocks is None and case is not None and self.mock_config is None:
            from statemachine.testing.engine import SetupError

            raise SetupError(f"case={case!r} needs mocks= (a mock config file or dict), or "
                             f"the ini option {MOCK_CONFIG_INI} naming the suite's mock config")
        if mocks is None:
            return self.mock_config if case is not None else None
        if isinstance(mocks, Mapping):
            return mocks
        return self.root / os.fspath(mocks)


@pytest.fixture
def workflow(pytestconfig: pytest.Config) -> Workflows:
    """Runs workflows in memory with mocks and skipped time: ``workflow.run(definition,
    input, mocks=..., case=...)`` returns a :class:`~statemachine.testing.RunResult`."""
    return Workflows(pytestconfig.rootpath, _first(pytestconfig.getini(DEFINITIONS_INI)),
                     _first(pytestconfig.getini(MOCK_CONFIG_INI)))


def _first(paths: list[Path]) -> Path | None:
    return paths[0] if paths else None
