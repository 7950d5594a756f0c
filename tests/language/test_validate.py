"""Schema and semantic validation of definitions, and ``cli.py validate``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statemachine.cli import main as cli_main
from statemachine.errors import Diagnostic
from statemachine.language import schema
from statemachine.language.source import load_definition
from statemachine.language.validate import validate

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> dict[str, Any]:
    return {"StartAt": start or next(iter(states)), "States": states, **top}


def task(**fields: Any) -> dict[str, Any]:
    """A Task state; ``End: true`` unless ``Next`` is given."""
    flow = {} if "Next" in fields else {"End": True}
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", **flow, **fields}


def codes(definition: dict[str, Any]) -> list[str]:
    return [d.code for d in validate(definition)]


def only(definition: dict[str, Any]) -> Diagnostic:
    diagnostics = validate(definition)
    assert len(diagnostics) == 1, diagnostics
    return diagnostics[0]


# --- valid definitions -------------------------------------------------------------------


def test_minimal_machine_is_valid() -> None:
    assert validate(machine({"A": {"Type": "Succeed"}})) == []


@pytest.mark.parametrize("resource", [
    "${LambdaArn}",
    "arn:${AWS::Partition}:states:::lambda:invoke",
    "arn:aws:states:${AWS::Region}:${AWS::AccountId}:activity:work",
    "${Base}/orders",
    "http://127.0.0.1:8089/charge",
    "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST",
    "arn:aws:states:::http:invoke.waitForTaskToken",
])
def test_usable_resources_validate(resource: str) -> None:
    assert validate(machine({"A": task(Resource=resource)})) == []


def test_placeholder_in_a_number_field_validates() -> None:
    wait = {"Type": "Wait", "Seconds": "${ReminderTimeout}", "End": True}
    assert validate(machine({"W": wait})) == []


# --- schema messages --------------------------------------------------------------------


def test_unknown_field_is_named_with_a_suggestion() -> None:
    diagnostic = only(machine({"A": {"Type": "Pass", "End": True, "ResultPth": "$.x"}}))
    assert diagnostic.code == "SCHEMA_VALIDATION_FAILED"
    assert diagnostic.pointer == "/States/A/ResultPth"
    assert diagnostic.message == "unknown field 'ResultPth' in a Pass state (did you mean 'ResultPath'?)"


def test_missing_required_field() -> None:
    diagnostic = only(machine({"A": {"Type": "Task", "End": True}}))
    assert diagnostic.pointer == "/States/A"
    assert "missing required field 'Resource'" in diagnostic.message


def test_wrong_value_names_field_and_expectation() -> None:
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 0}]
    diagnostic = only(machine({"A": task(Retry=retry)}))
    assert diagnostic.pointer == "/States/A/Retry/0/IntervalSeconds"
    assert diagnostic.message == "'IntervalSeconds' must be a positive integer (got 0)"


def test_unknown_state_type() -> None:
    diagnostic = only(machine({"A": {"Type": "Sleep", "End": True}}))
    assert diagnostic.pointer == "/States/A/Type"
    assert "must be one of Task, Pass" in diagnostic.message


# --- transitions ---------------------------------------------------------------------------


def test_missing_transition_target() -> None:
    definition = machine({"A": {"Type": "Pass", "Next": "B"}, "C": {"Type": "Succeed"}})
    diagnostics = validate(definition)
    assert ("/States/A/Next", "MISSING_TRANSITION_TARGET") in [(d.pointer, d.code) for d in diagnostics]
    assert "UNREACHABLE_STATE" in [d.code for d in diagnostics]


def test_start_at_must_exist() -> None:
    diagnostics = validate(machine({"A": {"Type": "Succeed"}}, start="Nope"))
    # the states are not also reported unreachable: the missing StartAt explains it
    assert [(d.pointer, d.code) for d in diagnostics] == [("/StartAt", "MISSING_TRANSITION_TARGET")]


def test_unreachable_state() -> None:
    diagnostic = only(machine({"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}))
    assert (diagnostic.pointer, diagnostic.code) == ("/States/B", "UNREACHABLE_STATE")


def test_catch_and_choice_targets_make_states_reachable() -> None:
    choice = {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "T"}],
              "Default": "D"}
    states = {"C": choice, "T": task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "F"}]),
              "D": {"Type": "Succeed"}, "F": {"Type": "Fail"}}
    assert validate(machine(states)) == []


def test_next_and_end_are_exclusive_and_one_is_required() -> None:
    both = only(machine({"A": task(Next="B", End=True), "B": {"Type": "Succeed"}}))
    assert (both.pointer, both.code) == ("/States/A/End", "TERMINAL_STATE_WITH_NEXT")
    neither = validate(machine({"A": {"Type": "Pass"}}))
    assert "MISSING_NEXT_OR_END" in [d.code for d in neither]


def test_machine_without_terminal_state() -> None:
    states = {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}
    diagnostic = only(machine(states))
    assert (diagnostic.pointer, diagnostic.code) == ("/States", "MISSING_TERMINAL_STATE")


def test_branch_is_its_own_scope() -> None:
    branch = machine({"In": {"Type": "Pass", "Next": "Out"}})
    states = {"P": {"Type": "Parallel", "Branches": [branch], "Next": "Out"},
              "Out": {"Type": "Succeed"}}
    diagnostics = validate(machine(states))
    target = next(d for d in diagnostics if d.code == "MISSING_TRANSITION_TARGET")
    assert target.pointer == "/States/P/Branches/0/States/In/Next"
    assert "outside this Parallel branch" in target.message


def test_map_processor_is_validated_as_a_machine() -> None:
    processor = machine({"Item": {"Type": "Pass", "End": True}, "Lost": {"Type": "Succeed"}})
    states = {"M": {"Type": "Map", "ItemProcessor": processor, "End": True}}
    diagnostic = only(machine(states))
    assert (diagnostic.pointer, diagnostic.code) == ("/States/M/ItemProcessor/States/Lost",
                                                     "UNREACHABLE_STATE")


def test_state_names_unique_across_branches_and_short() -> None:
    long_name = "x" * 81
    branch = machine({"A": {"Type": "Succeed"}})
    states = {"A": {"Type": "Parallel", "Branches": [branch], "Next": long_name},
              long_name: {"Type": "Succeed"}}
    found = {d.code for d in validate(machine(states))}
    assert found == {"DUPLICATE_STATE_NAME", "STATE_NAME_TOO_LONG"}


# --- fields ----------------------------------------------------------------------------------


def test_states_all_must_be_alone_and_last() -> None:
    retry = [{"ErrorEquals": ["States.ALL", "X"]}, {"ErrorEquals": ["Y"]}]
    diagnostics = validate(machine({"A": task(Retry=retry)}))
    assert [(d.pointer, d.code) for d in diagnostics] == [
        ("/States/A/Retry/0/ErrorEquals", "INVALID_STATES_ALL"),
        ("/States/A/Retry/0/ErrorEquals", "INVALID_STATES_ALL"),
    ]


def test_dollar_key_collision() -> None:
    diagnostic = only(machine({"A": task(Parameters={"a": 1, "a.$": "$.a"})}))
    assert (diagnostic.pointer, diagnostic.code) == ("/States/A/Parameters/a.$", "DUPLICATE_FIELD_NAME")


@pytest.mark.parametrize(("fields", "pointer"), [
    ({"TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t"}, "/States/A/TimeoutSecondsPath"),
    ({"HeartbeatSeconds": 10, "TimeoutSeconds": 10}, "/States/A/HeartbeatSeconds"),
])
def test_task_timing_conflicts(fields: dict[str, Any], pointer: str) -> None:
    diagnostic = only(machine({"A": task(**fields)}))
    assert (diagnostic.pointer, diagnostic.code) == (pointer, "CONFLICTING_FIELDS")


@pytest.mark.parametrize("fields", [{}, {"Seconds": 1, "Timestamp": "2026-01-01T00:00:00Z"}])
def test_wait_needs_exactly_one_duration(fields: dict[str, Any]) -> None:
    diagnostic = only(machine({"W": {"Type": "Wait", "End": True, **fields}}))
    assert diagnostic.code == "CONFLICTING_FIELDS"
    assert "exactly one of 'Seconds'" in diagnostic.message


def test_wait_timestamp_must_be_rfc3339() -> None:
    diagnostic = only(machine({"W": {"Type": "Wait", "Timestamp": "tomorrow", "End": True}}))
    assert diagnostic.pointer == "/States/W/Timestamp"


def _wait(stamp: str, **top: Any) -> dict[str, Any]:
    return machine({"W": {"Type": "Wait", "Timestamp": stamp, "End": True}}, **top)


def test_wait_timestamp_expression_only_in_jsonata() -> None:
    expression = "{% $states.input.when %}"
    assert validate(_wait(expression, QueryLanguage="JSONata")) == []
    [diagnostic] = validate(_wait(expression))
    assert diagnostic.pointer == "/States/W/Timestamp"
    assert diagnostic.message == (
        "'Timestamp' must be an RFC 3339 timestamp such as "
        f"'2026-01-31T12:00:00Z' (got '{expression}')"
    )
    assert validate(_wait("${When}")) == []


def _choice(rule: dict[str, Any]) -> dict[str, Any]:
    return machine({
        "C": {"Type": "Choice", "Choices": [{**rule, "Next": "D"}], "Default": "D"},
        "D": {"Type": "Succeed"},
    })


def test_choice_timestamp_literal_must_be_rfc3339() -> None:
    definition = _choice({"Variable": "$.t", "TimestampEquals": "tomorrow"})
    [diagnostic] = validate(definition)
    assert diagnostic.pointer == "/States/C/Choices/0/TimestampEquals"
    assert diagnostic.code == "SCHEMA_VALIDATION_FAILED"
    assert diagnostic.message == (
        "'TimestampEquals' must be an RFC 3339 timestamp such as "
        "'2026-01-31T12:00:00Z' (got 'tomorrow')"
    )


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.t", "TimestampEquals": "2026-01-31T12:00:00+01:00"},
        {"Variable": "$.t", "TimestampLessThan": "${Deadline}"},
        {"Variable": "$.t", "TimestampEqualsPath": "$.other"},
    ],
)
def test_choice_timestamp_operands_that_validate(rule: dict[str, Any]) -> None:
    assert validate(_choice(rule)) == []


def test_resource_problems() -> None:
    bad = {"A": task(Resource="${Arn", Next="B"), "B": task(Resource="lambda")}
    pointers = [(d.pointer, d.code) for d in validate(machine(bad))]
    assert pointers == [("/States/A/Resource", "INVALID_RESOURCE"), ("/States/B/Resource", "INVALID_RESOURCE")]


# --- query languages ---------------------------------------------------------------------


def test_jsonata_fields_in_a_jsonpath_state() -> None:
    diagnostic = only(machine({"A": task(Arguments={"a": 1})}))
    assert diagnostic.pointer == "/States/A/Arguments"
    assert diagnostic.message == "'Arguments' is not allowed when QueryLanguage is JSONPath (use 'Parameters')"


def test_jsonpath_fields_in_a_jsonata_machine() -> None:
    diagnostic = only(machine({"A": task(OutputPath="$.x")}, QueryLanguage="JSONata"))
    assert diagnostic.pointer == "/States/A/OutputPath"
    assert "when QueryLanguage is JSONata (use 'Output')" in diagnostic.message


def test_state_language_overrides_and_conflicts() -> None:
    jsonata_state = task(QueryLanguage="JSONata", Arguments={"a": "{% $states.input.a %}"})
    assert validate(machine({"A": jsonata_state})) == []
    back_to_jsonpath = task(QueryLanguage="JSONPath")
    diagnostic = only(machine({"A": back_to_jsonpath}, QueryLanguage="JSONata"))
    assert diagnostic.pointer == "/States/A/QueryLanguage"


def test_jsonata_expression_in_a_jsonpath_number_field() -> None:
    diagnostic = only(machine({"W": {"Type": "Wait", "Seconds": "{% 5 %}", "End": True}}))
    assert diagnostic.code == "QUERY_LANGUAGE_MISMATCH"


# --- expressions -------------------------------------------------------------------------


def test_invalid_paths() -> None:
    states = {"A": task(InputPath="a.b", ResultPath="$$.x", Next="B"),
              "B": task(Parameters={"x.$": "nope"})}
    pointers = [(d.pointer, d.code) for d in validate(machine(states))]
    assert pointers == [("/States/A/InputPath", "INVALID_JSON_PATH"),
                        ("/States/A/ResultPath", "INVALID_JSON_PATH"),
                        ("/States/B/Parameters/x.$", "INVALID_JSON_PATH")]


def test_result_path_must_not_be_a_variable() -> None:
    diagnostic = only(machine({"A": task(ResultPath="$foo")}))
    assert "reference path" in diagnostic.message


@pytest.mark.parametrize(("call", "expected"), [
    ("States.Nope($.a)", "unknown function"),
    ("States.MathAdd(1)", "argument"),
    ("States.MathAdd(1, 'x')", "takes numbers"),
])
def test_invalid_intrinsics(call: str, expected: str) -> None:
    diagnostic = only(machine({"A": task(Parameters={"v.$": call})}))
    assert diagnostic.code == "INVALID_INTRINSIC_FUNCTION"
    assert expected in diagnostic.message


@pytest.mark.parametrize("output", ["{% 1 + %}", "{% 10 %", "10 %}"])
def test_invalid_jsonata(output: str) -> None:
    diagnostic = only(machine({"P": {"Type": "Pass", "Output": output, "End": True}},
                              QueryLanguage="JSONata"))
    assert (diagnostic.pointer, diagnostic.code) == ("/States/P/Output", "INVALID_JSONATA")


def test_jsonata_without_inner_spaces_is_accepted() -> None:
    # AWS does not require blanks inside the delimiters; deployed samples write {% x%}.
    pass_state = {"Type": "Pass", "Output": {"a": "{%1%}", "b": "{% $states.input%}"}, "End": True}
    assert validate(machine({"P": pass_state}, QueryLanguage="JSONata")) == []


def test_choice_rules_well_formed() -> None:
    rules = [
        {"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "S"},
        {"StringEquals": "x", "Next": "S"},
        {"And": [{"Variable": "$.a", "IsNull": True}], "Variable": "$.b", "Next": "S"},
        {"Condition": "{% true %}", "Next": "S"},
    ]
    states = {"C": {"Type": "Choice", "Choices": rules}, "S": {"Type": "Succeed"}}
    pointers = [(d.pointer, d.code) for d in validate(machine(states))]
    assert pointers == [
        ("/States/C/Choices/0", "INVALID_CHOICE_RULE"),
        ("/States/C/Choices/1", "INVALID_CHOICE_RULE"),
        ("/States/C/Choices/2", "INVALID_CHOICE_RULE"),
        ("/States/C/Choices/3/Condition", "QUERY_LANGUAGE_MISMATCH"),
    ]


# --- lines and robustness ----------------------------------------------------------------


def test_diagnostics_carry_file_and_line() -> None:
    text = "StartAt: A\nStates:\n  A:\n    Type: Task\n    Resource: arn:aws:states:::lambda:invoke\n" \
           "    TimeoutSeconds: 0\n    End: true\n"
    source = load_definition(text, filename="t.yaml")
    [diagnostic] = validate(source.definition, source=source)
    assert (diagnostic.file, diagnostic.line, diagnostic.pointer) == ("t.yaml", 6, "/States/A/TimeoutSeconds")
    assert diagnostic.format().startswith("t.yaml:6: /States/A/TimeoutSeconds: ")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    | st.sampled_from(["Task", "Pass", "Map", "Parallel", "Choice", "$.a", "{% 1 %}", "A", "States.ALL"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["Type", "Next", "End", "States", "StartAt", "Branches",
                                       "ItemProcessor", "Choices", "Retry", "Catch", "ErrorEquals",
                                       "Parameters", "Variable", "And", "a.$", "A"]), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(states=json_values)
def test_validate_never_raises_and_fast_check_agrees(states: Any) -> None:
    definition = {"StartAt": "A", "States": states}
    diagnostics = validate(definition)
    assert all(isinstance(d, Diagnostic) for d in diagnostics)
    assert schema.is_valid(definition) == schema._reference_validator().is_valid(definition)


def _mutations(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """Copies of ``definition`` with one field of one state set to a value of another type."""
    values: list[Any] = [None, True, 0, -1, 1.5, 101, "x", "", [], [1], {}]
    result = []
    for name, state in definition["States"].items():
        for field in [*state, "Bogus"]:
            for value in values:
                mutated = copy.deepcopy(definition)
                mutated["States"][name][field] = value
                result.append(mutated)
    return result


def test_fast_check_agrees_with_jsonschema_on_corpus_mutations() -> None:
    reference = schema._reference_validator()
    files = sorted((CORPUS / "validator" / "valid").glob("*.json"))[::4]
    checked = 0
    for path in files:
        for mutated in _mutations(json.loads(path.read_text()))[::3]:
            assert schema.is_valid(mutated) == reference.is_valid(mutated), path.name
            checked += 1
    assert checked > 500


# --- the command line ----------------------------------------------------------------------


def _write(tmp_path: Path, name: str, definition: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(definition, indent=2), encoding="utf-8")
    return str(path)


def test_cli_exit_codes_and_line_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path, "good.json", machine({"A": {"Type": "Succeed"}}))
    bad = _write(tmp_path, "bad.json", machine({"A": task(TimeoutSeconds=0)}))
    assert cli_main(["validate", good]) == 0
    assert capsys.readouterr().out == f"{good}: valid\n"
    assert cli_main(["validate", good, bad]) == 1
    out = capsys.readouterr().out.splitlines()
    expected = (f"{bad}:8: /States/A/TimeoutSeconds: 'TimeoutSeconds' must be a positive "
                "integer of seconds, a JSONata expression or a ${...} placeholder (got 0)")
    assert out == [f"{good}: valid", expected, f"{bad}: invalid (1 problem)"]


def test_cli_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["validate", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read file" in capsys.readouterr().out


def test_cli_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path, "bad.json", machine({"A": {"Type": "Pass", "Next": "Z"}}))
    assert cli_main(["validate", "--json", bad]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    [entry] = report["files"]
    assert entry["file"] == bad
    assert {"pointer": "/States/A/Next", "code": "MISSING_TRANSITION_TARGET", "line": 6,
            "file": bad, "message": "Next target 'Z' does not exist"} in entry["diagnostics"]


def test_cli_substitutions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "sub.json", machine({"A": task(Resource="${Fn}")}))
    assert cli_main(["validate", path, "--sub", "Fn=not-an-arn"]) == 1
    assert "'Resource' must be an ARN" in capsys.readouterr().out
    assert cli_main(["validate", path, "--sub", "Fn=http://127.0.0.1:8089/f"]) == 0
    assert cli_main(["validate", path, "--sub", "broken"]) == 2


def test_cli_unfilled_placeholders_warn_or_fail_with_strict(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "sub.json", machine({"A": task(Resource="${Fn}")}))
    assert cli_main(["validate", path]) == 0
    warned = capsys.readouterr().out.splitlines()
    assert warned[0].startswith(f"{path}:") and "warning: ${Fn} not filled" in warned[0]
    assert warned[1] == f"{path}: valid (1 warning)"
    assert cli_main(["validate", "--strict", path]) == 1
    assert f"{path}: invalid (1 problem)" in capsys.readouterr().out
    assert cli_main(["validate", "--json", path]) == 0
    [entry] = json.loads(capsys.readouterr().out)["files"]
    assert [w["code"] for w in entry["warnings"]] == ["UNFILLED_PLACEHOLDER"]
    # The substitutions.env beside the file fills it, as serve's does.
    (tmp_path / "substitutions.env").write_text("# for the tests\nFn = http://127.0.0.1:8089/f\n")
    assert cli_main(["validate", "--strict", path]) == 0
    assert capsys.readouterr().out == f"{path}: valid\n"
    (tmp_path / "substitutions.env").write_text("no equals sign\n")
    assert cli_main(["validate", path]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_reader_config_beyond_the_schema() -> None:
    """CSVDelimiter names, CSVHeaders for GIVEN, MaxItems' ceiling (the schema has the rest)."""
    def reader(config: dict[str, Any]) -> dict[str, Any]:
        return machine({"M": {
            "Type": "Map", "End": True,
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": config,
                           "Parameters": {"Bucket": "b", "Key": "k"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "P",
                              "States": {"P": {"Type": "Pass", "End": True}}}}})

    good = {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["a"],
            "CSVDelimiter": "PIPE", "MaxItems": 100_000_000}
    assert validate(reader(good)) == []
    bad = {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVDelimiter": ":",
           "MaxItems": 100_000_001}
    assert sorted(d.pointer.rsplit("/", 1)[1] for d in validate(reader(bad))) == [
        "CSVDelimiter", "CSVHeaders", "MaxItems"]


def test_result_writer_as_aws_checks_it() -> None:
    """Not empty; s3:putObject only, with Parameters; WriterConfig's enums and fields."""
    def writer(spec: dict[str, Any]) -> dict[str, Any]:
        return machine({"M": {
            "Type": "Map", "End": True, "ResultWriter": spec,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "P",
                              "States": {"P": {"Type": "Pass", "End": True}}}}})

    put = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "p"}}
    assert validate(writer(put)) == []
    assert validate(writer({"WriterConfig": {"OutputType": "JSONL", "Transformation": "FLATTEN"}})) == []
    assert validate(writer({**put, "WriterConfig": {"Transformation": "NONE"}})) == []
    [empty] = validate(writer({}))
    assert empty.pointer == "/States/M/ResultWriter" and "WriterConfig" in empty.message
    [other] = validate(writer({**put, "Resource": "arn:aws:states:::s3:getObject"}))
    assert other.pointer == "/States/M/ResultWriter/Resource" and "s3:putObject" in other.message
    [bare] = validate(writer({"Resource": "arn:aws:states:::s3:putObject"}))
    assert "Parameters" in bare.message
    bad = validate(writer({"WriterConfig": {"OutputType": "CSV", "Transformation": "ALL", "X": 1}}))
    assert sorted(d.pointer.rsplit("/", 1)[1] for d in bad) == ["OutputType", "Transformation", "X"]
    assert {d.code for d in bad} == {"SCHEMA_VALIDATION_FAILED"}
