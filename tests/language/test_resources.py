"""``language.resources``: every resource a definition calls, nested ones included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from statemachine.language.resources import ResourceUse, resources


def test_tasks_readers_and_writers_are_found_in_branches_and_processors() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": "P"},
            "P": {"Type": "Parallel", "Next": "M", "Branches": [
                {"StartAt": "B", "States": {
                    "B": {"Type": "Task", "Resource": "https://example.com/b", "End": True}}}]},
            "M": {"Type": "Map", "End": True,
                  "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"},
                  "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"},
                  "ItemProcessor": {"StartAt": "I", "States": {
                      "I": {"Type": "Map", "End": True, "Iterator": {"StartAt": "J", "States": {
                          "J": {"Type": "Task", "Resource": "x:y", "End": True}}}}}}},
        },
    }
    assert resources(definition) == (
        ResourceUse("/States/A/Resource", "Task", "arn:aws:states:::sns:publish"),
        ResourceUse("/States/P/Branches/0/States/B/Resource", "Task", "https://example.com/b"),
        ResourceUse("/States/M/ItemReader/Resource", "ItemReader",
                    "arn:aws:states:::s3:getObject"),
        ResourceUse("/States/M/ResultWriter/Resource", "ResultWriter",
                    "arn:aws:states:::s3:putObject"),
        ResourceUse("/States/M/ItemProcessor/States/I/Iterator/States/J/Resource", "Task", "x:y"),
    )


def test_odd_parts_are_skipped() -> None:
    assert resources([]) == ()
    assert resources({"States": {"A": "text", "B": {"Type": "Task", "Resource": 3},
                                 "C": {"Type": "Parallel", "Branches": "no"},
                                 "D": {"Type": "Pass", "Resource": "not a task"}}}) == ()


def test_verdicts() -> None:
    from statemachine.cli.resources import classify

    assert classify("arn:aws:states:::sqs:sendMessage") == "performable"
    assert classify("arn:aws:states:us-east-1:123456789012:activity:review") == "performable"
    assert classify("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:f") \
        == "performable"
    assert classify("${ProcessFunctionArn}") == "placeholder"
    assert classify("arn:aws:states:::apigateway:invoke") == "performable"
    assert classify("arn:aws:states:us-east-1:123456789012:aws-sdk:s3:getObject") == "performable"
    assert classify("arn:aws:states:::batch:submitJob.sync") == "unsupported"
    assert classify("arn:aws:lambda:::function:${fn}") == "unsupported"


def test_cli_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from statemachine.cli import main as cli_main

    def write(name: str, resource: str) -> str:
        path = tmp_path / name
        path.write_text(json.dumps({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": resource, "End": True}}}))
        return str(path)

    good = write("good.json", "http://127.0.0.1:9/f")
    odd = write("odd.json", "arn:aws:states:::batch:submitJob.sync")
    hidden = write("hidden.json", "${Fn}")
    assert cli_main(["validate", "--resources", good]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{good}: performable (1 resource)",
        "1 of 1 definitions use only resources this runtime performs"]
    assert cli_main(["validate", "--resources", good, odd, hidden]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{good}: performable (1 resource)",
        f"{odd}: unsupported arn:aws:states:::batch:submitJob.sync",
        f"{hidden}: placeholder ${{Fn}}",
        ("1 of 3 definitions use only resources this runtime performs (1 more call a resource "
         "hidden behind a ${...} placeholder)"),
        "most used unsupported resources (definitions using each):",
        "     1  arn:aws:states:::batch:submitJob.sync"]
    # The substitutions fill the placeholder, as for validation.
    assert cli_main(["validate", "--resources", "--json", hidden, "--sub",
                     "Fn=http://127.0.0.1:9/g"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["performable"] == 1 and report["files"][0]["resources"] == [
        {"pointer": "/States/A/Resource", "field": "Task", "resource": "http://127.0.0.1:9/g",
         "verdict": "performable"}]
    assert cli_main(["validate", "--resources", str(tmp_path / "missing.json")]) == 2
