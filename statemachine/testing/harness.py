"""``run()`` and ``run_async()``: one workflow run for a test, in memory, with mocks, on a
virtual clock.

``definition`` is a file (YAML or JSON; ``${Name}`` placeholders are filled from the
``substitutions.env`` beside it, then from ``substitutions``) or a dict.  ``mocks`` is a mock
config in Step Functions Local's format (a file or the same as a dict), run with its test
case ``case`` of the machine ``machine`` (default: the definition file's stem) -- or the
shorthand ``{"State": response}``, where a response is ``{"Return": value}``,
``{"Throw": {"Error": ..., "Cause": ...}}``, a list of those (one per attempt: the last one
answers every attempt after it) or Step Functions Local's attempt keys (``{"0": ..., "1-2":
...}``).  States not mocked call their services for real.  Anything that stops the run from
starting raises :class:`~statemachine.testing.engine.SetupError` with one line.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from statemachine.errors import DefinitionError
from statemachine.language.mocks import MockCase, MockConfig, MockConfigError, parse_mock_config
from statemachine.language.model import Machine
from statemachine.language.substitutions import substitutions_for
from statemachine.language.values import MAX_NESTING, nested_deeper_than
from statemachine.testing.engine import (
    SetupError,
    definition_error,
    execute,
    load_machine,
    machine_from_dict,
    mock_case,
    read_mock_config,
)
from statemachine.testing.result import RunResult, run_result

Definition = str | os.PathLike[str] | Mapping[str, Any]
Mocks = str | os.PathLike[str] | Mapping[str, Any]

_FULL_FORMAT = ("StateMachines", "MockedResponses")
_SHORTHAND = "mocks"  # the label of a shorthand's messages, and its one test case's name


@dataclass(frozen=True, slots=True)
class _Prepared:
    machine: Machine
    name: str
    case: MockCase | None
    input: Any


def run(definition: Definition, input: Any = None, *, mocks: Mocks | None = None,
        case: str | None = None, machine: str | None = None, skip_time: bool = True,
        substitutions: Mapping[str, str] | None = None, name: str | None = None) -> RunResult:
    """Run ``definition`` with ``input`` (default ``{}``) to its end; see the module's doc.

    Not inside a running event loop (an ``async def`` test): ``await run_async(...)`` there.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("statemachine.testing.run() cannot run inside a running event loop "
                           "(an async test): use 'await run_async(...)' there")
    return asyncio.run(run_async(definition, input, mocks=mocks, case=case, machine=machine,
                                 skip_time=skip_time, substitutions=substitutions, name=name))


async def run_async(definition: Definition, input: Any = None, *, mocks: Mocks | None = None,
                    case: str | None = None, machine: str | None = None,
                    skip_time: bool = True, substitutions: Mapping[str, str] | None = None,
                    name: str | None = None) -> RunResult:
    """:func:`run` for a caller already in an event loop."""
    ready = _prepare(definition, input, mocks, case, machine, substitutions)
    local = await execute(ready.machine, ready.input, name, ready.name, case=ready.case,
                          skip_time=skip_time)
    return run_result(local, ready.case)


def _prepare(definition: Definition, input: Any, mocks: Mocks | None, case: str | None,
            machine: str | None, substitutions: Mapping[str, str] | None) -> _Prepared:
    """Everything checked before the run starts; raises SetupError."""
    extra = dict(substitutions or {})
    if isinstance(definition, Mapping):
        label, stem = "<definition>", None
        try:
            compiled = machine_from_dict(dict(definition), extra)
        except DefinitionError as exc:
            raise definition_error(exc, label) from None
    else:
        file = Path(definition)
        label, stem = os.fspath(definition), file.stem
        try:
            compiled = load_machine(file, {**substitutions_for(file, []), **extra})
        except DefinitionError as exc:
            raise definition_error(exc, label) from None
        except ValueError as exc:  # a malformed substitutions.env line
            raise SetupError(str(exc)) from None
    machine_name = machine or stem or "workflow"
    return _Prepared(compiled, stem or "workflow",
                     _mock_case(mocks, case, machine, machine_name, compiled, label),
                     _input(input))


def _mock_case(mocks: Mocks | None, case: str | None, machine: str | None, machine_name: str,
               compiled: Machine, label: str) -> MockCase | None:
    if mocks is None:
        if case is not None:
            raise SetupError(f"case={case!r} needs mocks= (a mock config file or dict)")
        if machine is not None:
            raise SetupError(f"machine={machine!r} picks a machine of a mock config: give "
                             "mocks= and case= too")
        return None
    try:
        if isinstance(mocks, Mapping) and not any(key in mocks for key in _FULL_FORMAT):
            if case is not None or machine is not None:
                given = f"case={case!r}" if case is not None else f"machine={machine!r}"
                raise SetupError(f"{given} goes with a mock config in Step Functions Local's "
                                 "format, not with the shorthand {state: response}")
            config = _shorthand(mocks, machine_name)
            return mock_case(config, machine_name, _SHORTHAND, compiled, label)
        config = _config(mocks)
        if case is None:
            raise SetupError(f"{config.file}: name the test case to run with case=")
        if machine_name not in config.cases:
            known = ", ".join(sorted(config.cases)) or "none"
            raise SetupError(f"{config.file}: no state machine '{machine_name}' under "
                             f"StateMachines (it has: {known}); name one with machine=")
        return mock_case(config, machine_name, case, compiled, label)
    except MockConfigError as exc:
        raise SetupError(str(exc)) from None


def _config(mocks: Mocks) -> MockConfig:
    if isinstance(mocks, Mapping):
        return parse_mock_config(_json(mocks, _SHORTHAND), _SHORTHAND)
    try:
        return read_mock_config(Path(mocks))
    except OSError as exc:
        raise SetupError(f"{os.fspath(mocks)}: {exc.strerror or exc}") from None


def _shorthand(mocks: Mapping[str, Any], machine_name: str) -> MockConfig:
    """``{"State": response}`` as a mock config of one test case (named "mocks")."""
    responses: dict[str, Any] = {}
    for state, response in mocks.items():
        if isinstance(response, list | tuple):
            responses[state] = {str(attempt): r for attempt, r in enumerate(response)}
        elif isinstance(response, Mapping) and response and set(response) <= {"Return", "Throw"}:
            responses[state] = {"0": response}
        elif isinstance(response, Mapping):
            responses[state] = response
        else:
            raise SetupError(f"{_SHORTHAND}: {state!r}: expected {{'Return': value}}, "
                             "{'Throw': {'Error': ..., 'Cause': ...}}, a list of them (one per "
                             "attempt) or attempt keys ({'0': ..., '1-2': ...})")
    config = {"StateMachines": {machine_name: {"TestCases": {_SHORTHAND: {s: s for s in mocks}}}},
              "MockedResponses": responses}
    return parse_mock_config(_json(config, _SHORTHAND), _SHORTHAND)


def _input(value: Any) -> Any:
    """The input as the run receives it: a JSON copy (tuples become lists), ``{}`` for None."""
    if value is None:
        return {}
    copied = orjson.loads(_json(value, "input"))
    if nested_deeper_than(copied):
        raise SetupError(f"input: nests arrays/objects deeper than {MAX_NESTING} levels")
    return copied


def _json(value: Any, label: str) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError as exc:
        raise SetupError(f"{label}: not JSON: {exc}") from None
