"""The command line for definition authors: ``define``, ``machines``, readable ``list`` and
``history``, ``run`` reading ``substitutions.env``, one-line errors for bad inputs."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from statemachine.cli import main as cli_main
from tests.api.test_cli import CLI, _cli, _env, _stop, _wait_healthy
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


# --- against a real `cli.py serve` -------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``cli.py serve`` (its private redis-server) with no definitions; its URL and folder."""
    work = tmp_path_factory.mktemp("authors")
    (work / "defs").mkdir()
    port = free_port()
    with (work / "serve.log").open("w") as log:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", "1",
             "--definitions", str(work / "defs")],
            cwd=work, env=_env(), stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        yield base, work
    finally:
        _stop(proc)


def test_define_registers_yaml_and_json_files_and_machines_lists_them(
        served: tuple[str, Path]) -> None:
    base, work = served
    folder = work / "mine"
    folder.mkdir()
    (folder / "greet.yaml").write_text(PASS_WITH_PLACEHOLDER)
    (folder / "substitutions.env").write_text("Greeting=hello\n")
    (folder / "plain.json").write_text(json.dumps(
        {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}))
    done = _cli("define", str(folder / "greet.yaml"), str(folder / "plain.json"), "--api", base,
                cwd=work)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"defined greet version 1 from {folder / 'greet.yaml'}",
                                        f"defined plain version 1 from {folder / 'plain.json'}"]
    again = _cli("define", str(folder / "greet.yaml"), "--api", base, cwd=work)
    assert again.returncode == 0 and "greet (version 1) unchanged" in again.stdout
    renamed = _cli("define", str(folder / "greet.yaml"), "--name", "hola", "--sub",
                   "Greeting=hola", "--api", base, cwd=work)
    assert renamed.returncode == 0, renamed.stderr
    ran = _cli("start", "hola", "--wait", "--timeout", "30", "--api", base, cwd=work)
    assert ran.returncode == 0 and json.loads(ran.stdout)["output"] == {"greeting": "hola"}

    queued = _cli("define", str(folder / "plain.json"), "--queue", "batch", "--api", base,
                  cwd=work)  # unchanged, but its queue moves: no new version
    assert queued.stdout.strip() == f"defined plain version 1 from {folder / 'plain.json'} on queue batch"
    bad = _cli("define", str(folder / "plain.json"), "--queue", "a b", "--api", base, cwd=work)
    assert bad.returncode == 1 and "InvalidQueue" in bad.stderr

    machines = _cli("machines", "--api", base, cwd=work)
    assert machines.returncode == 0, machines.stderr
    lines = machines.stdout.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "TYPE", "QUEUE", "CREATED"]
    assert {tuple(line.split()[:4:3]) for line in lines[1:]} == {
        ("greet", "default"), ("hola", "default"), ("plain", "batch")}
    as_json = json.loads(_cli("machines", "--json", "--api", base, cwd=work).stdout)
    assert {m["name"] for m in as_json["stateMachines"]} == {"greet", "hola", "plain"}


def test_define_bad_inputs_are_one_line_errors(served: tuple[str, Path]) -> None:
    base, work = served
    missing = _cli("define", str(work / "missing.yaml"), "--api", base, cwd=work)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"statemachine define: {work / 'missing.yaml'}: cannot read file: No such file or directory"]
    (work / "broken.json").write_text('{"StartAt": "X", "States": {}}')
    broken = _cli("define", str(work / "broken.json"), "--api", base, cwd=work)
    assert broken.returncode == 2 and "NOT defined" in broken.stderr
    two = _cli("define", "a.yaml", "b.yaml", "--name", "x", "--api", base, cwd=work)
    assert two.returncode == 2 and two.stderr.strip() == "statemachine define: --name takes one FILE"
    bad_sub = _cli("define", str(work / "broken.json"), "--sub", "oops", "--api", base, cwd=work)
    assert bad_sub.returncode == 2 and len(bad_sub.stderr.strip().splitlines()) == 1
    nowhere = _cli("machines", "--api", f"http://127.0.0.1:{free_port()}")
    assert nowhere.returncode == 2 and "cannot reach" in nowhere.stderr


def test_list_and_history_print_tables_and_json_with_the_flag(served: tuple[str, Path]) -> None:
    base, work = served
    (work / "failing.json").write_text(json.dumps({"StartAt": "Check", "States": {
        "Check": {"Type": "Pass", "Next": "Stop"},
        "Stop": {"Type": "Fail", "Error": "Nope", "Cause": "as planned"}}}))
    assert _cli("define", str(work / "failing.json"), "--api", base, cwd=work).returncode == 0
    ran = _cli("start", "failing", "--input", '{"n": 1}', "--wait", "--timeout", "30",
               "--api", base, cwd=work)
    assert ran.returncode == 1, ran.stderr
    execution_id = json.loads(ran.stdout)["executionId"]

    listed = _cli("list", "--machine", "failing", "--api", base, cwd=work)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["ID", "MACHINE", "STATUS", "STARTED", "STOPPED"]
    assert row.split()[:3] == [execution_id, "failing", "FAILED"]
    empty = _cli("list", "--machine", "nothing-here", "--api", base, cwd=work)
    assert empty.stdout.strip() == "(no executions)"

    history = _cli("history", execution_id, "--api", base, cwd=work)
    assert history.returncode == 0, history.stderr
    lines = history.stdout.splitlines()
    assert lines[0].split() == ["ID", "TIME", "DELTA", "TYPE", "STATE", "DETAIL"]
    started, *_, failed = lines[1:]
    assert started.split()[0] == "1" and "ExecutionStarted" in started
    assert 'input {"n":1}' in started
    assert "ExecutionFailed" in failed and "Stop" in failed and "Nope: as planned" in failed
    as_json = json.loads(_cli("history", execution_id, "--json", "--api", base,
                              cwd=work).stdout)
    assert [e["type"] for e in as_json["events"]][-1] == "ExecutionFailed"
    assert len(as_json["events"]) == len(lines) - 1


def test_help_texts_carry_no_docstring_markup(capsys: pytest.CaptureFixture[str]) -> None:
    from statemachine.cli import COMMANDS

    for command in ["", *COMMANDS]:
        assert cli_main([command, "--help"] if command else ["--help"]) == 0
        shown = capsys.readouterr().out
        assert shown and not any(mark in shown for mark in ("``", ":mod:", ":func:", "**")), command
