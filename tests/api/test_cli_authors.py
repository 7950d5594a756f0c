"""The command line for definition authors: ``define``, ``machines``, readable ``list`` and
``history``, ``run`` reading ``substitutions.env``, one-line errors for bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from statemachine.cli import main as cli_main
from tests.conftest import free_port

PASS_WITH_PLACEHOLDER = """\
StartAt: Say
States:
  Say:
    Type: Pass
    Result: {greeting: "${Greeting}"}
    End: true
"""


def test_run_reads_the_substitutions_env_beside_the_definition(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    definition = tmp_path / "greet.yaml"
    definition.write_text(PASS_WITH_PLACEHOLDER)
    assert cli_main(["run", str(definition)]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == {"greeting": "${Greeting}"}
    (tmp_path / "substitutions.env").write_text("Greeting=hello\n")
    assert cli_main(["run", str(definition)]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == {"greeting": "hello"}
    assert cli_main(["run", str(definition), "--sub", "Greeting=hi"]) == 0  # --sub wins
    assert json.loads(capsys.readouterr().out)["output"] == {"greeting": "hi"}


def test_start_with_a_missing_input_file_is_a_one_line_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.json"
    code = cli_main(["start", "hello", "--input-file", str(missing),
                     "--api", f"http://127.0.0.1:{free_port()}"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().splitlines() == [
        f"statemachine start: {missing}: No such file or directory"]
