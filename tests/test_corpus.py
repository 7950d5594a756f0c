"""The validator against the corpora in tests/corpus/ (see tests/corpus/README.md).

- ``validator/valid``: asl-validator's valid test definitions, all accepted;
- ``validator/invalid``: its invalid ones, all rejected with a message that names the
  offending field, except the two that encode asl-validator's own whitespace rule;
- ``real-world``: 229 published AWS sample definitions, at least 99% accepted; the
  rejected ones are listed below with the reason each is genuinely invalid.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from statemachine.language.source import load_file
from statemachine.language.validate import validate

CORPUS = Path(__file__).resolve().parent / "corpus"
VALID = sorted((CORPUS / "validator" / "valid").glob("*.json"))
INVALID = sorted((CORPUS / "validator" / "invalid").glob("*.json"))
REAL_WORLD = sorted(p for p in (CORPUS / "real-world").glob("*.json") if p.name != "INDEX.json")

#: Invalid files that AWS accepts.  Both encode asl-validator's rule that ``{%`` and
#: ``%}`` be followed/preceded by exactly one blank; AWS does not enforce it (deployed
#: AWS samples such as distributed-data-stream-aggregator write ``{% $states.input%}``),
#: and ``{%10%}`` / ``{% \n10   %}`` are well-formed JSONata expressions.
ACCEPTED_INVALID = {
    "invalid-jsonata-surround-syntax-no-spaces.json",
    "invalid-json-surround-syntax-extra-spaces.json",
}

#: For every other invalid file: text that a diagnostic must contain (in its pointer
#: or message) because it names the offending field, state or value.
OFFENDING_FIELD = {
    "invalid-assign.asl.json": "/Assign/top-level/array/0/child-1",
    "invalid-cfn-definition-substitutions.json": "/States/X/Resource",
    "invalid-choice-state-variable.json": "/Choices/0/Variable",
    "invalid-choice-state.json": "unknown field 'End'",
    "invalid-dupe-fields.asl.json": "/Parameters/dynamic/conflict.$",
    "invalid-duplicate-fields-nested.json": "/text/type.$",
    "invalid-duplicate-fields.json": "/slackMessage/channel.$",
    "invalid-error-equals-type.json": "/Catch/0/ErrorEquals/0",
    "invalid-error-equals.json": "unknown field 'Error Equals'",
    "invalid-exercise-ajv-additional-properties.asl.json": "unknown field 'bugInputPath'",
    "invalid-exercise-ajv.asl.json": "/States/PassState/InputPath",
    "invalid-fail-dupe-cause.json": "'Cause' and 'CausePath'",
    "invalid-fail-dupe-error.json": "'Error' and 'ErrorPath'",
    "invalid-inexistant-state.json": "Next target 'Finished' does not exist",
    "invalid-json-path.json": "/States/Invalid4/ResultPath",
    "invalid-jsonata-fields.json": "/States/EmptyState/Parameters",
    "invalid-jsonata-path-fields.asl.json": "/States/Check Identity/OutputPath",
    "invalid-jsonata-surround-syntax-no-close.json": "/States/X/Output",
    "invalid-jsonata-surround-syntax-no-open.json": "/States/X/Output",
    "invalid-jsonata-syntax-arithmetic.json": "/States/X/Output",
    "invalid-jsonata-syntax-jsonpath-in-jsonata-surround.json": "/States/X/Output",
    "invalid-jsonata-syntax-mismatched-parens.json": "/States/X/Output",
    "invalid-map-distributed.asl.json": "'MaxItems' and 'MaxItemsPath'",
    "invalid-map-dupe-state.json": "state name 'Final State' is already used",
    "invalid-map-item-batcher-dupe-subfields.json": "'MaxItemsPerBatch' and 'MaxItemsPerBatchPath'",
    "invalid-map-items.asl.json": "/States/ProcessAnimals/ItemsPath",
    "invalid-map-missing-iterator.json": "missing required field 'ItemProcessor'",
    "invalid-map-ob-link.json": "target 'Final State' is outside this Map processor",
    "invalid-map-tolerated-value.json": "/States/Map/ToleratedFailurePercentage",
    "invalid-map-tolerated.json": "'ToleratedFailureCount' and 'ToleratedFailureCountPath'",
    "invalid-math-add.json": "/Parameters/foo.$",
    "invalid-missing-terminal-map.json": "/States/Map/Iterator/States/Wait 20s",
    "invalid-missing-terminal-parallel.json": "/States/Parallel/Branches/0/States/Wait 20s",
    "invalid-missing-terminal.json": "has no terminal state",
    "invalid-next-with-end.json": "/States/Send SNS Message/End",
    "invalid-parallel-branch-type.json": "/States/A/Branches/0",
    "invalid-parallel-missing-branches.json": "missing required field 'Branches'",
    "invalid-parallel-ob-link.json": "target 'Final State' is outside this Parallel branch",
    "invalid-payload-template.asl.json": "/Parameters/lorem.$",
    "invalid-state-name-too-long.json": "is 90 characters long",
    "invalid-task-alias-function.json": "/States/InvalidAlias/Resource",
    "invalid-task-credentials-null.json": "/States/X/Credentials",
    "invalid-task-credentials-object.json": "/Credentials/expectPath.$",
    "invalid-task-heartbeat.json": "'HeartbeatSeconds' and 'HeartbeatSecondsPath'",
    "invalid-task-timout.json": "'TimeoutSeconds' and 'TimeoutSecondsPath'",
    "invalid-unreachable-state.json": "state 'Finished Choice' is not reachable",
    "invalid-variable-result-path.json": "/States/Fin/ResultPath",
    "invalid-wait-duration.json": "/States/wait_using_timestamp",
}

#: Real-world definitions that are rejected, each because it really is invalid.
REJECTED_REAL_WORLD = {
    # "QueryLanguage": "JSONata" is written inside "States", where it reads as a state
    # named QueryLanguage whose body is a string; the states then use JSONata-only
    # fields (Arguments, Output) in what is a JSONPath machine.  AWS rejects it too.
    "shared-fallback-state-jsonata__statemachine.json",
}


def _lines(path: Path) -> list[str]:
    source = load_file(path)
    return [d.format() for d in validate(source.definition, source=source)]


def test_corpus_is_complete() -> None:
    assert len(VALID) == 62 and len(INVALID) == 50 and len(REAL_WORLD) == 229
    assert {p.name for p in INVALID} == set(OFFENDING_FIELD) | ACCEPTED_INVALID
    assert (CORPUS / "validator" / "NOTICE.md").exists() and (CORPUS / "README.md").exists()


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_file_is_accepted(path: Path) -> None:
    assert _lines(path) == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_file_is_rejected_naming_the_field(path: Path) -> None:
    lines = _lines(path)
    if path.name in ACCEPTED_INVALID:
        assert lines == []
        return
    expected = OFFENDING_FIELD[path.name]
    assert any(expected in line for line in lines), lines


def test_real_world_acceptance() -> None:
    rejected = {path.name: lines for path in REAL_WORLD if (lines := _lines(path))}
    assert set(rejected) == REJECTED_REAL_WORLD, rejected
    assert 1 - len(rejected) / len(REAL_WORLD) >= 0.99


#: Real-world definitions whose every resource this runtime performs, measured on the day
#: the measurement was added (``cli.py validate --resources``).  A floor: it rises as
#: integrations land (issue 13's goal is 205), and a change that loses one fails here.
PERFORMABLE_FLOOR = 189


def test_real_world_resources_measured(capsys: pytest.CaptureFixture[str]) -> None:
    from statemachine.cli import main as cli_main
    from statemachine.cli.resources import of_file

    reports = [of_file(str(path), {}) for path in REAL_WORLD]
    assert all(r.problem is None for r in reports)
    performable = sum(r.performable for r in reports)
    code = cli_main(["validate", "--resources", *map(str, REAL_WORLD)])
    summary = capsys.readouterr().out.splitlines()
    with capsys.disabled():
        print(f"\nreal-world corpus: {performable} of {len(REAL_WORLD)} definitions use only "
              f"resources this runtime performs")
    assert code == (0 if performable == len(REAL_WORLD) else 1)
    assert any(line.startswith(f"{performable} of {len(REAL_WORLD)} definitions")
               for line in summary)
    assert performable >= PERFORMABLE_FLOOR
