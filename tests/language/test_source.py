"""Loading JSON and YAML definitions: YAML 1.2 scalars, duplicate keys, lines, substitution."""

from __future__ import annotations

from pathlib import Path

import pytest

from statemachine.errors import DefinitionError
from statemachine.language.source import load_definition, load_file, pointer_join

YAML_MACHINE = """\
Comment: choose
StartAt: Ask
States:
  Ask:
    Type: Choice
    Choices:
      - Variable: $.answer
        BooleanEquals: true
        Next: Yes
    Default: No
  Yes:
    Type: Wait
    Timestamp: 2026-01-31T12:00:00Z
    Next: No
  No:
    Type: Succeed
"""


def _error(text: str, **kwargs: object) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        load_definition(text, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_yaml_state_names_yes_and_no_stay_strings() -> None:
    definition = load_definition(YAML_MACHINE).definition
    assert set(definition["States"]) == {"Ask", "Yes", "No"}
    assert definition["States"]["Ask"]["Choices"][0]["Next"] == "Yes"
    assert definition["States"]["Ask"]["Default"] == "No"
    assert definition["States"]["Ask"]["Choices"][0]["BooleanEquals"] is True


def test_yaml_uses_yaml_1_2_scalars() -> None:
    text = "a: on\nb: off\nc: yes\nd: 12:30\ne: 2026-01-31\nf: false\ng: 010\nh: 0x1F\ni: 1.5e3\nj: ~\n"
    data = load_definition(text).definition
    assert data == {"a": "on", "b": "off", "c": "yes", "d": "12:30", "e": "2026-01-31",
                    "f": False, "g": 10, "h": 31, "i": 1500.0, "j": None}


def test_yaml_timestamp_is_a_string() -> None:
    wait = load_definition(YAML_MACHINE).definition["States"]["Yes"]
    assert wait["Timestamp"] == "2026-01-31T12:00:00Z"


def test_yaml_lines_per_pointer() -> None:
    source = load_definition(YAML_MACHINE, filename="m.yaml")
    assert source.filename == "m.yaml"
    assert source.line_of("/StartAt") == 2
    assert source.line_of("/States/Ask") == 4
    assert source.line_of("/States/Ask/Choices/0") == 7
    assert source.line_of("/States/Ask/Choices/0/Next") == 9
    assert source.line_of("/States/Yes/Timestamp") == 13
    # an unknown pointer falls back to its nearest known ancestor
    assert source.line_of("/States/No/Missing/Deeper") == 15


def test_json_lines_per_pointer() -> None:
    text = '{\n  "StartAt": "A",\n  "States": {\n    "A": {\n      "Type": "Pass",\n' \
           '      "Result": [1, {"x/y": 2}],\n      "End": true\n    }\n  }\n}\n'
    source = load_definition(text)
    assert source.line_of("") == 1
    assert source.line_of("/StartAt") == 2
    assert source.line_of("/States/A") == 4
    assert source.line_of("/States/A/Result/1/x~1y") == 6
    assert source.line_of("/States/A/End") == 7


def test_duplicate_key_in_yaml_is_an_error_with_its_line() -> None:
    error = _error("StartAt: A\nStates:\n  A: {Type: Succeed}\n  A: {Type: Pass}\n", filename="d.yaml")
    [diagnostic] = error.diagnostics
    assert diagnostic.code == "DUPLICATE_KEY"
    assert diagnostic.line == 4
    assert diagnostic.file == "d.yaml"
    assert diagnostic.pointer == "/States/A"
    assert "'A'" in diagnostic.message and "line 3" in diagnostic.message


def test_duplicate_key_in_json_is_an_error_with_its_line() -> None:
    error = _error('{"StartAt": "A",\n "States": {"A": {"Type": "Succeed"}},\n "StartAt": "B"}')
    [diagnostic] = error.diagnostics
    assert diagnostic.code == "DUPLICATE_KEY"
    assert diagnostic.line == 3
    assert diagnostic.pointer == "/StartAt"


def test_yaml_merge_keys_are_not_duplicates() -> None:
    text = "base: &b {Type: Pass, End: true}\nStates:\n  A:\n    <<: *b\n    End: true\n"
    assert load_definition(text).definition["States"]["A"] == {"Type": "Pass", "End": True}


def test_invalid_json_names_the_line() -> None:
    error = _error('{\n  "StartAt": "A",\n  "States": {,}\n}', filename="bad.json")
    [diagnostic] = error.diagnostics
    assert diagnostic.code == "INVALID_JSON"
    assert diagnostic.line == 3
    assert "bad.json:3" in str(error)


def test_invalid_yaml_names_the_line() -> None:
    error = _error("StartAt: A\nStates:\n  A: [unclosed\n  B: x\n")
    assert error.diagnostics[0].code == "INVALID_YAML"
    assert error.diagnostics[0].line is not None


def test_definition_must_be_an_object() -> None:
    assert "an array" in _error("[1, 2]").diagnostics[0].message
    assert "empty document" in _error("").diagnostics[0].message
    assert "a string" in _error("just text").diagnostics[0].message


def test_cloudformation_tags_are_explained() -> None:
    error = _error("StartAt: A\nStates:\n  A:\n    Type: Task\n    Resource: !Ref Fn\n")
    assert "!Ref" in error.diagnostics[0].message
    assert error.diagnostics[0].line == 5


def test_substitution_replaces_known_placeholders_in_strings_and_keys() -> None:
    text = '{"Resource": "${Arn}", "Url": "${Base}/x/${Unknown}", "${Key}": 1, "n": 5}'
    data = load_definition(text, substitutions={"Arn": "arn:aws:lambda:x", "Base": "http://h",
                                                "Key": "k"}).definition
    assert data == {"Resource": "arn:aws:lambda:x", "Url": "http://h/x/${Unknown}", "k": 1, "n": 5}


def test_substitution_value_cannot_break_the_syntax() -> None:
    data = load_definition('{"a": "${V}"}', substitutions={"V": '"}, "evil": {'}).definition
    assert data == {"a": '"}, "evil": {'}


def test_load_file_reads_yaml_and_json(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(YAML_MACHINE, encoding="utf-8")
    source = load_file(path)
    assert source.filename == str(path)
    assert source.definition["StartAt"] == "Ask"


def test_load_file_missing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_file(tmp_path / "nope.json")
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "FILE_UNREADABLE"
    assert "No such file" in diagnostic.message


def test_pointer_join_escapes_rfc6901() -> None:
    assert pointer_join("/States", "a/b~c") == "/States/a~1b~0c"
    assert pointer_join("", 3) == "/3"


def test_deep_nesting_and_control_characters_are_definition_errors() -> None:
    """Never a RecursionError or a reader error escaping: each is a problem with a pointer."""
    for text in ("[" * 10_000 + "]" * 10_000, "[" * 150 + "]" * 150, "\u008a",
                 "a:\n" + "  - " * 1 + "[" * 5_000 + "]" * 5_000,
                 "".join(f"{'  ' * i}k{i}:\n" for i in range(150)) + "  " * 150 + "v: 1\n"):
        with pytest.raises(DefinitionError) as caught:
            load_definition(text)
        assert caught.value.diagnostics, text[:20]
