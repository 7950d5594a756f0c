"""Load a definition and a mock case, run one execution in memory: what ``cli.py run`` and
:func:`statemachine.testing.run` share.

The checks live here once, with their one-line messages (each names the file and the test
case); ``cli.py run`` prints them after ``statemachine run:`` and exits 2, a test sees them
as a :class:`SetupError`.  Heavy modules (the invokers, aiohttp) are imported when a run
starts, so loading the pytest plugin costs a user's suite nothing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from statemachine.errors import DefinitionError, Diagnostic
from statemachine.language.mocks import (
    MockCase,
    MockConfig,
    MockConfigError,
    unknown_states,
)

if TYPE_CHECKING:
    from statemachine.language.model import Machine
    from statemachine.runtime.local import LocalResult


class SetupError(ValueError):
    """A run that cannot start: an invalid definition, an unreadable or invalid mock config,
    an unknown test case, a case mocking a state the workflow has no Task of that name for,
    an input that is not JSON.  The message is one line naming the file (as ``cli.py run``
    prints it); ``diagnostics`` holds every problem of an invalid definition."""

    def __init__(self, message: str, diagnostics: tuple[Diagnostic, ...] = ()) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics


def diagnostic_line(diagnostic: Diagnostic, file: str) -> str:
    """One problem of a definition as ``cli.py run`` prints it: ``FILE:LINE: /pointer: message``."""
    if diagnostic.file:
        return diagnostic.format()
    line = f":{diagnostic.line}" if diagnostic.line else ""
    return f"{file}{line}: {diagnostic.pointer or '/'}: {diagnostic.message}"


def definition_error(exc: DefinitionError, file: str) -> SetupError:
    """``exc`` as one line (its problems joined by "; "), keeping every diagnostic."""
    lines = [diagnostic_line(d, file) for d in exc.diagnostics] or [f"{file}: invalid definition"]
    return SetupError("; ".join(lines), tuple(exc.diagnostics))


def load_machine(path: str | Path, subs: dict[str, str]) -> Machine:
    """Load, validate and compile a definition file; raises DefinitionError."""
    from statemachine.language.source import load_file

    return _compiled(load_file(path, substitutions=subs))


def machine_from_dict(definition: dict[str, Any], subs: dict[str, str]) -> Machine:
    """Validate and compile a definition given as a dict (``${Name}`` placeholders filled
    from ``subs``); raises DefinitionError."""
    import orjson

    from statemachine.language.source import load_definition

    try:
        text = orjson.dumps(definition).decode()
    except TypeError as exc:
        raise SetupError(f"<definition>: not JSON: {exc}") from None
    try:
        return _compiled(load_definition(text, substitutions=subs))
    except DefinitionError as exc:  # the lines are of the JSON made here: none of the caller's
        raise DefinitionError([replace(d, line=None) for d in exc.diagnostics]) from None


def _compiled(source: Any) -> Machine:
    from statemachine.language.model import compile_machine
    from statemachine.language.validate import validate

    problems = validate(source.definition, source=source)
    if problems:
        raise DefinitionError(problems)
    return compile_machine(source.definition)


def read_mock_config(path: str | Path) -> MockConfig:
    """Read and check a mock config file; raises MockConfigError or OSError."""
    from statemachine.runtime.mocking import load_mock_config

    return load_mock_config(str(path))


def mock_case(config: MockConfig, machine_name: str, case_name: str, machine: Machine,
              definition: str) -> MockCase:
    """The test case ``case_name`` of ``machine_name`` in ``config``, checked against the
    compiled ``machine`` (read from the file ``definition``); raises MockConfigError."""
    case = config.case(machine_name, case_name)
    unknown = unknown_states(case, machine)
    if unknown:
        raise MockConfigError(f"{config.file}: test case '{case.name}' mocks "
                              f"{', '.join(repr(s) for s in unknown)}, which {definition} has "
                              "no Task state of that name for")
    return case


async def execute(machine: Machine, input: Any, name: str | None, machine_name: str,
                  express: bool = False, case: MockCase | None = None,
                  skip_time: bool = False) -> LocalResult:
    """Run one execution to its end in memory: ``case``'s states answer from the mock
    config, the others call their services for real; ``skip_time`` runs on a virtual clock."""
    from statemachine.runtime.invokers import Invokers, InvokerSettings
    from statemachine.runtime.local import LocalRunner
    from statemachine.runtime.mocking import mocked

    invokers = Invokers(InvokerSettings.from_env())
    invoke = invokers.invoke if case is None else mocked(invokers.invoke, case)
    try:
        runner = LocalRunner(machine, invoke, name=machine_name, express=express,
                             virtual_time=skip_time)
        return await runner.run(input, execution_name=name)
    finally:
        await invokers.close()
