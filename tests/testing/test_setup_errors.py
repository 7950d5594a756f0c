"""A run that cannot start raises SetupError (a ValueError) with one line naming the file and
the case -- the same line ``cli.py run`` prints after ``statemachine run:``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from statemachine.cli import main as cli_main
from statemachine.testing import SetupError, run

NEVER = "http://127.0.0.1:9/never-called"
FLOW: dict[str, Any] = {"StartAt": "Charge", "States": {
    "Charge": {"Type": "Task", "Resource": NEVER, "End": True}}}
MOCKS: dict[str, Any] = {
    "StateMachines": {"flow": {"TestCases": {"T": {"Charge": "R"}, "Typo": {"Chrage": "R"}}}},
    "MockedResponses": {"R": {"0": {"Return": 1}}},
}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    definition = tmp_path / "flow.json"
    definition.write_text(json.dumps(FLOW))
    mocks = tmp_path / "mocks.json"
    mocks.write_text(json.dumps(MOCKS))
    return definition, mocks


def _error(**kwargs: Any) -> str:
    kwargs.setdefault("definition", FLOW)
    with pytest.raises(SetupError) as caught:
        run(**kwargs)
    text = str(caught.value)
    assert "\n" not in text and isinstance(caught.value, ValueError)
    return text


def _cli_line(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert cli_main(["run", *args]) == 2
    return capsys.readouterr().err.strip()


def test_the_same_line_as_cli_run(capsys: pytest.CaptureFixture[str],
                                  files: tuple[Path, Path]) -> None:
    definition, mocks = files
    for case in ("Nope", "Typo"):
        line = _error(definition=definition, mocks=mocks, case=case)
        assert _cli_line(capsys, str(definition), "--mock-config", str(mocks),
                         "--test-case", case) == f"statemachine run: {line}"
    assert "test case 'Typo' mocks 'Chrage', which" in _error(definition=definition, mocks=mocks,
                                                              case="Typo")
    assert f"{mocks}: state machine 'flow' has no test case 'Nope' (it has: T, Typo)" == _error(
        definition=definition, mocks=mocks, case="Nope")


def test_an_invalid_definition_names_every_problem(tmp_path: Path) -> None:
    bad = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"},
                                      "B": {"Type": "Pass", "Next": "Gone"}}}
    with pytest.raises(SetupError) as caught:
        run(bad)
    assert str(caught.value).startswith("<definition>: /")  # no line: a dict has none
    assert len(caught.value.diagnostics) >= 2
    assert str(caught.value).count("; ") == len(caught.value.diagnostics) - 1
    path = tmp_path / "bad.yaml"
    path.write_text("StartAt: A\nStates:\n  A: {Type: Pass, Next: Nowhere}\n")
    assert f"{path}:3: /States/A/Next: Next target 'Nowhere' does not exist" in _error(
        definition=path)
    assert _error(definition=tmp_path / "missing.yaml").startswith(f"{tmp_path / 'missing.yaml'}")


def test_bad_mock_arguments(files: tuple[Path, Path], tmp_path: Path) -> None:
    definition, mocks = files
    assert _error(case="T") == "case='T' needs mocks= (a mock config file or dict)"
    assert _error(machine="flow").startswith("machine='flow' picks a machine of a mock config")
    assert _error(definition=definition, mocks=mocks) == (
        f"{mocks}: name the test case to run with case=")
    assert _error(definition=definition, mocks=tmp_path / "none.json", case="T") == (
        f"{tmp_path / 'none.json'}: No such file or directory")
    assert _error(mocks=MOCKS, case="T") == (
        "mocks: no state machine 'workflow' under StateMachines (it has: flow); name one "
        "with machine=")
    assert _error(mocks={"Charge": {"Return": 1}}, case="T").startswith(
        "case='T' goes with a mock config in Step Functions Local's format")
    assert _error(mocks={"Charge": 5}).startswith("mocks: 'Charge': expected {'Return': value}")
    assert _error(mocks={"Charge": []}) == (
        "mocks: $.MockedResponses.Charge: has no attempts (\"0\": {\"Return\": ...})")
    assert _error(mocks={"Charge": {"Return": 1, "Throw": {"Error": "E"}}}) == (
        "mocks: $.MockedResponses.Charge.0: must hold exactly one of Return and Throw")
    assert "'Nope'" in _error(mocks={"Nope": {"Return": 1}})
    assert _error(mocks={"Charge": {"Return": object()}}).startswith("mocks: not JSON: ")


def test_bad_input_and_substitutions(tmp_path: Path) -> None:
    assert _error(input={"when": object()}).startswith("input: not JSON: ")
    deep: Any = 0
    for _ in range(150):
        deep = [deep]
    assert _error(input=deep).startswith("input: nests arrays/objects deeper than")
    assert _error(input=[deep, deep]).startswith("input: nests arrays/objects deeper than")
    (tmp_path / "substitutions.env").write_text("no equals sign here\n")
    definition = tmp_path / "flow.json"
    definition.write_text(json.dumps(FLOW))
    assert _error(definition=definition) == (
        f"{tmp_path / 'substitutions.env'}:1: expected KEY=VALUE, got 'no equals sign here'")
