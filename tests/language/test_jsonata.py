"""JSONata evaluation as AWS Step Functions does it (statemachine.language.jsonata).

Two parts: focused tests of the module's contract, then the conformance cases whose
states are only Pass, Succeed, Fail, Choice and inline Map, run through a tiny chain
evaluator that uses nothing but this module (Assign, Output, Condition, Error, Cause,
Items, ItemSelector, MaxConcurrency...).  The
lead's interpreter runs every case later; these pin the expression semantics and the
exact error texts now.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from statemachine.language import jsonata as jsonata_module
from statemachine.language.jsonata import (
    JsonataSyntaxError,
    compile_condition,
    compile_expression,
    compile_value,
    is_expression,
)
from statemachine.language.scope import Entropy, Scope, StatesError
from statemachine.language.values import json_type_name

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"
ENTERED = "2024-03-06T10:29:14.123Z"


def scope(
    input: Any = None,  # mirrors Scope
    variables: dict[str, Any] | None = None,
    **extra: Any,
) -> Scope:
    context = {"State": {"Name": "S", "EnteredTime": ENTERED}}
    return Scope(input=input, context=context, variables=variables or {}, **extra)


def run(text: str, sc: Scope | None = None, field: str = "Output") -> Any:
    return compile_expression("{% " + text + " %}").evaluate(sc or scope(), field)


def failure(text: str, sc: Scope | None = None, field: str = "Output") -> StatesError:
    with pytest.raises(StatesError) as caught:
        run(text, sc, field)
    assert caught.value.error == "States.QueryEvaluationError"
    return caught.value


# --------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% $x %}", True),
        ("{%$x%}", True),
        ("{% $x%}", True),
        (" {% $x %}", False),
        ("{% $x %} ", False),
        ("$states.input", False),
        ("{%", False),
        (42, False),
        (None, False),
    ],
)
def test_is_expression_needs_both_delimiters_at_the_ends(value: Any, expected: bool) -> None:
    assert is_expression(value) is expected


def test_compile_expression_caches_by_text_and_strips_the_body() -> None:
    first = compile_expression("{%   $sum([1, 2])  %}")
    assert compile_expression("{%   $sum([1, 2])  %}") is first
    assert first.text == "$sum([1, 2])"
    assert first.evaluate(scope(), "Output") == 3


@pytest.mark.parametrize("text", ["{% ( %}", "{% 1 + %}", "{%  %}", "{% $x[ %}"])
def test_syntax_errors_are_reported_at_compile_time(text: str) -> None:
    with pytest.raises(JsonataSyntaxError, match="Invalid JSONata expression"):
        compile_expression(text)


def test_syntax_error_names_the_jsonata_code() -> None:
    with pytest.raises(JsonataSyntaxError, match=r'S0203: Expected "\)" before end'):
        compile_expression("{% ($a := 1 %}")


def test_compiled_expressions_are_reusable_across_threads_and_interleaving() -> None:
    double = compile_expression("{% $states.input.n * 2 %}")
    names = compile_expression("{% $map($states.input.items, function($i) { $i.name }) %}")
    compile_expression("{% 'compiling another expression changes nothing' %}")

    def work(offset: int) -> list[Any]:
        out = []
        for n in range(offset, offset + 200):
            out.append(double.evaluate(scope({"n": n}), "Output"))
            out.append(names.evaluate(scope({"items": [{"name": n}, {"name": -n}]}), "Output"))
        return out

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(work, [0, 1000]))
    for offset, result in zip([0, 1000], results, strict=True):
        assert result[::2] == [2 * n for n in range(offset, offset + 200)]
        assert result[1::2] == [[n, -n] for n in range(offset, offset + 200)]


# --------------------------------------------------------------------------- bindings


def test_states_binds_input_context_result_and_error_output() -> None:
    sc = scope({"a": 1}, result={"r": 2}, error_output={"Error": "E"})
    assert run("$states.input.a + $states.result.r", sc) == 3
    assert run("$states.errorOutput.Error", sc) == "E"
    assert run("$states.context.State.Name", sc) == "S"


def test_result_and_error_output_are_absent_unless_given() -> None:
    assert run("$exists($states.result) or $exists($states.errorOutput)") is False


def test_variables_are_bound_by_name_including_null() -> None:
    sc = scope(variables={"count": 2, "nothing": None, "items": [1, 2]})
    assert run("$count * 10", sc) == 20
    assert run("$nothing", sc) is None
    assert run("$items[1]", sc) == 2


def test_null_in_the_input_is_a_value_not_undefined() -> None:
    sc = scope({"a": None, "list": [None, 1]})
    assert run("$states.input.a", sc) is None
    assert run("$states.input.list[0]", sc) is None
    assert run("{'k': $states.input.a}", sc) == {"k": None}
    assert run("$states.input", scope(None)) is None


def test_lambda_parameters_shadow_workflow_variables() -> None:
    sc = scope(variables={"x": 100})
    assert run("$map([1, 2], function($x) { $x * 2 })", sc) == [2, 4]


# --------------------------------------------------------------------------- results


def test_integral_numbers_come_back_as_ints() -> None:
    assert run("1.5 + 1.5") == 3
    assert isinstance(run("6 / 2"), int)
    assert run("0.1 + 0.2") == pytest.approx(0.3)
    assert run("-0") == 0


def test_undefined_members_are_dropped_and_undefined_results_fail() -> None:
    assert run("{'a': $nope, 'b': 1}") == {"b": 1}
    err = failure("$doesNotExist", field="Output/result")
    assert err.cause == (
        "The JSONata expression '$doesNotExist' specified for the field 'Output/result' "
        "returned nothing (undefined)."
    )
    assert err.prefixed is True


@pytest.mark.parametrize("text", ["function($x){$x}", "$sum", "/abc/", "$fn := function($x){$x}"])
def test_functions_and_regexes_are_unsupported_results(text: str) -> None:
    err = failure(text, field="Items")
    assert err.cause == (
        f"The JSONata expression '{text}' specified for the field 'Items' "
        "returned an unsupported result type."
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("$randomSeeded(1)", "T1006: Attempted to invoke a non-function"),
        ("$eval('1')", "T1006: Attempted to invoke a non-function"),
        ("$sum('a')", 'T0412: Argument 1 of function "sum" must be an array of "numbers"'),
        ("$string(1, 2, 3)", 'T0410: Argument 1 of function "string" does not match function'),
        ("1 + 'a'", 'T2002: The right side of the "+" operator must evaluate to a number'),
        ("$number('x')", 'D3030: Unable to cast value to a number: "x"'),
        ("1 / 0", "D1001: Number out of range"),
    ],
)
def test_evaluation_errors_carry_the_jsonata_code_and_message(text: str, message: str) -> None:
    err = failure(text, field="Output/FunctionResult")
    prefix = (
        f"The JSONata expression '{text}' specified for the field 'Output/FunctionResult' "
        "threw an error during evaluation. "
    )
    assert err.cause is not None and err.cause.startswith(prefix)
    assert err.cause[len(prefix) :].startswith(message)


def test_runaway_tail_recursion_stops_after_the_step_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jsonata_module, "MAX_EVALUATION_STEPS", 5_000)
    err = failure("($f := function($n){ $f($n + 1) }; $f(0))")
    assert err.cause is not None and err.cause.endswith(
        "D1012: Evaluation exceeded 5000 steps. Check for infinite loop"
    )


def test_deep_non_tail_recursion_is_a_stack_overflow() -> None:
    err = failure("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))")
    assert err.cause is not None and "D1011: Stack overflow" in err.cause


# --------------------------------------------------------------------------- AWS functions


def hashlib_hex(algorithm: str, text: str) -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()



@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$partition([1,2,3,4,5], 2)", [[1, 2], [3, 4], [5]]),
        ("$partition([0], 4)", [[0]]),
        ("$partition([1,2,3,4,5], 2.6)", [[1, 2], [3, 4], [5]]),
        ("$partition([1,2,3])", [[1, 2, 3]]),
        ("$range(0, 10, 2)", [0, 2, 4, 6, 8, 10]),
        ("$range(1, 9, 9)", 1),
        ("$range(1.4, 5.6, 2.2)", [1, 3, 5]),
        ("$range(5, 1, -2)", [5, 3, 1]),
        ("$hash('hello', 'SHA-256')", hashlib_hex("sha256", "hello")),
        ("$hash('✓', 'SHA-256')", hashlib_hex("sha256", "✓")),
        ("$hash('a', 'MD5')", hashlib_hex("md5", "a")),
        ("$hash('a', 'SHA-1')", hashlib_hex("sha1", "a")),
        ("$hash('a', 'SHA-384')", hashlib_hex("sha384", "a")),
        ("$hash('a', 'SHA-512')", hashlib_hex("sha512", "a")),
        ("$parse(' {\"a\": [1, null]} ')", {"a": [1, None]}),
        ("$parse('null')", None),
        ("$parse('-0')", 0),
        ("$number('0x1F') + $number('2')", 33),
    ],
)
def test_aws_functions(text: str, expected: Any) -> None:
    assert run(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "$partition([1,2,3], 0)",
        "$partition([1,2,3], -1)",
        "$partition([1,2,3], '2')",
        "$partition([1,2,3], null)",
        "$partition('abc', 2)",
        "$partition([1], 2, 3)",
        "$range(1, 10, 0)",
        "$range(1, 10, 0.49)",
        "$range('a', 5, 1)",
        "$range(1, 5, null)",
        "$range(1, 5)",
        "$hash('data', 'UNSUPPORTED')",
        "$hash('hello', 'sha-256')",
        "$hash(123, 'SHA-256')",
        "$hash()",
        "$parse('{bad json}')",
        "$parse('')",
        "$parse(123)",
        "$parse(null)",
        "$parse('{}', 1)",
        "$uuid('x')",
        "$random('seed')",
        "$random(null)",
        "$random(77, 88)",
    ],
)
def test_aws_functions_reject_bad_arguments(text: str) -> None:
    err = failure(text)
    assert err.cause is not None and "threw an error during evaluation" in err.cause


def test_random_and_uuid_are_deterministic_per_entropy_seed() -> None:
    def values(seed: str) -> Any:
        return run("[$random(), $uuid(), $random()]", scope(entropy=Entropy(seed)))

    first = values("exec-1:5")
    assert first == values("exec-1:5")
    assert first != values("exec-1:6")
    assert 0 <= first[0] < 1 and first[0] != first[2]
    uuid_v4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch(uuid_v4, first[1])


def test_shuffle_is_a_deterministic_permutation() -> None:
    text = "$shuffle([1, 2, 3, 4, 5, 6, 7, 8])"
    first = run(text, scope(entropy=Entropy("x")))
    assert first == run(text, scope(entropy=Entropy("x")))
    assert sorted(first) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert first != run(text, scope(entropy=Entropy("y")))


def test_seeded_random_depends_only_on_the_seed() -> None:
    a = run("[$random(77), $random(77), $random(78)]", scope(entropy=Entropy("a")))
    b = run("$random(77)", scope(entropy=Entropy("b")))
    assert a[0] == a[1] == b and a[2] != a[0] and 0 <= b < 1


def test_now_and_millis_are_the_state_entered_time() -> None:
    assert run("$now()") == ENTERED
    assert run("$millis()") == 1709720954123
    assert run("$now('[Y0001]-[M01]-[D01]')") == "2024-03-06"
    no_state = Scope(input=None, context={"Execution": {"StartTime": "2024-01-01T00:00:00Z"}})
    assert run("$now()", no_state) == "2024-01-01T00:00:00.000Z"


# --------------------------------------------------------------------------- templates


def test_template_names_nested_fields_like_aws() -> None:
    template = compile_value({"ok": "{% 1 %}", "deep": {"result": "{% $doesNotExist %}"}})
    with pytest.raises(StatesError) as caught:
        template.evaluate(scope(), "Output")
    assert "for the field 'Output/deep/result' returned nothing" in (caught.value.cause or "")


def test_template_keeps_literals_and_non_expression_strings() -> None:
    value = {
        "null": None,
        "float": 0.1,
        "padded": " {% $states.input %} ",
        "path": "$.input_value",
        "intrinsic": "States.Format('{}', 1)",
        "list": [None, "{% $states.input.a %}", {"k": "{% true %}"}],
    }
    result = compile_value(value).evaluate(scope({"a": 5}), "Output")
    assert result == {**value, "list": [None, 5, {"k": True}]}


def test_constant_template_returns_a_fresh_copy_each_time() -> None:
    template = compile_value({"a": [1, {"b": 2}]})
    assert template.is_constant and template.expression is None
    first = template.evaluate(scope(), "Output")
    first["a"][1]["b"] = 99
    assert template.evaluate(scope(), "Output") == {"a": [1, {"b": 2}]}


def test_template_of_a_single_expression_exposes_it() -> None:
    template = compile_value("{% $states.input.items %}")
    assert not template.is_constant
    assert template.expression is not None and template.expression.text == "$states.input.items"
    assert template.names == frozenset({"states"})


@pytest.mark.parametrize(
    ("expression", "variables", "cause_tail"),
    [
        ("true", {}, "Expected 'array', but was 'boolean' for value: true"),
        ("'string'", {}, "Expected 'array', but was 'string' for value: \"string\""),
        ("$ItemsVar", {"ItemsVar": None}, "Expected 'array', but was 'null' for value: null"),
        ("{'foo': 'bar'}", {}, "Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}"),
        ("1", {}, "Expected 'array', but was 'number' for value: 1"),
    ],
)
def test_evaluate_expecting_reports_aws_type_mismatch(
    expression: str, variables: dict[str, Any], cause_tail: str
) -> None:
    template = compile_value("{% " + expression + " %}")
    with pytest.raises(StatesError) as caught:
        template.evaluate_expecting(scope(variables=variables), "Items", "array")
    assert caught.value.cause == (
        f"The JSONata expression '{expression}' specified for the field 'Items' returned an "
        f"unexpected result type. {cause_tail}"
    )


def test_evaluate_expecting_passes_matching_values() -> None:
    template = compile_value("{% [0] %}")
    assert template.evaluate_expecting(scope(), "Items", "array") == [0]


def test_json_type_name() -> None:
    values: tuple[Any, ...] = (None, True, 1, 1.5, "s", [], {})
    kinds = [json_type_name(v) for v in values]
    assert kinds == ["null", "boolean", "number", "number", "string", "array", "object"]


# --------------------------------------------------------------------------- conditions


def test_condition_tests_booleans() -> None:
    condition = compile_condition("{% $states.input.value >= 20 and $states.input.value < 30 %}")
    assert condition.test(scope({"value": 25})) is True
    assert condition.test(scope({"value": 30})) is False


def test_condition_may_be_a_literal_boolean() -> None:
    assert compile_condition(True).test(scope()) is True
    assert compile_condition(False).test(scope()) is False
    with pytest.raises(JsonataSyntaxError):
        compile_condition("$states.input.flag")


def test_condition_rejects_non_boolean_results() -> None:
    with pytest.raises(StatesError) as caught:
        compile_condition("{% $states.input.value %}").test(scope({"value": 1}))
    assert caught.value.cause == (
        "The JSONata expression '$states.input.value' specified for the field 'Condition' "
        "returned an unexpected result type. Expected 'boolean', but was 'number' for value: 1"
    )


# --------------------------------------------------------------------------- conformance chain


def _load_checker() -> Any:
    spec = importlib.util.spec_from_file_location("conformance_check", CONFORMANCE / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("conformance_check", module)
    spec.loader.exec_module(module)
    return module


CHECK = _load_checker()
SIMPLE_TYPES = {"Pass", "Succeed", "Fail", "Choice", "Map"}
JSONPATH_UNSUPPORTED = {
    "InputPath",
    "OutputPath",
    "ResultPath",
    "ResultSelector",
    "ErrorPath",
    "CausePath",
}


class Unsupported(Exception):
    """The case needs more than this chain evaluator offers."""


def _state_types(states: dict[str, Any]) -> set[str]:
    found = set()
    for state in states.values():
        found.add(state["Type"])
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor is not None:
            if processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
                found.add("DistributedMap")
            found |= _state_types(processor["States"])
        for branch in state.get("Branches", []):
            found |= _state_types(branch["States"])
    return found


def _chain_cases() -> list[Path]:
    found = []
    for path in sorted((CONFORMANCE / "cases").glob("*/*.json")):
        case = json.loads(path.read_text())
        definition = case["definition"]
        text = json.dumps(definition)
        if "JSONata" not in text and "{%" not in text:
            continue
        if _state_types(definition["States"]) <= SIMPLE_TYPES:
            found.append(path)
    return found


def _jsonpath(path: str, data: Any, context: dict[str, Any], variables: dict[str, Any]) -> Any:
    """The few JSONPath forms these cases use: $, $.a.b, $$.a, $var.a."""
    match = re.fullmatch(r"(\$\$|\$[A-Za-z_][A-Za-z0-9_]*|\$)((?:\.[A-Za-z0-9_]+)*)", path)
    if match is None:
        raise Unsupported(path)
    head, rest = match.groups()
    value = data if head == "$" else context if head == "$$" else variables[head[1:]]
    for key in filter(None, rest.split(".")):
        value = value[key]
    return value


def _jsonpath_payload(
    value: Any, data: Any, context: dict[str, Any], variables: dict[str, Any]
) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.endswith(".$"):
                out[key[:-2]] = _jsonpath(item, data, context, variables)
            else:
                out[key] = _jsonpath_payload(item, data, context, variables)
        return out
    if isinstance(value, list):
        return [_jsonpath_payload(v, data, context, variables) for v in value]
    return value


def _context(case: dict[str, Any], state: str) -> dict[str, Any]:
    return {
        "Execution": {
            "Id": "arn:aws:states:us-east-1:111111111111:execution:machine:run",
            "Input": case["input"],
            "StartTime": "2024-03-06T10:29:14.000Z",
            "Name": "run",
            "RoleArn": "arn:aws:iam::111111111111:role/snf",
            "RedriveCount": 0,
        },
        "StateMachine": {
            "Id": "arn:aws:states:us-east-1:111111111111:stateMachine:machine",
            "Name": "machine",
        },
        "State": {"Name": state, "EnteredTime": ENTERED},
    }


def _jsonata_step(state: dict[str, Any], sc: Scope) -> tuple[Any, dict[str, Any], str | None]:
    """Output, assignments and next state of a JSONata Pass/Succeed/Choice state."""
    target: dict[str, Any] = state
    next_state = state.get("Next")
    if state["Type"] == "Choice":
        target = next(
            (rule for rule in state["Choices"] if compile_condition(rule["Condition"]).test(sc)),
            state,
        )
        next_state = target.get("Next", state.get("Default"))
        if next_state is None:
            raise Unsupported("States.NoChoiceMatched")
    assigned = compile_value(target.get("Assign", {})).evaluate(sc, "Assign")
    output = sc.input
    if "Output" in target:
        output = compile_value(target["Output"]).evaluate(sc, "Output")
    return output, assigned, next_state


def _jsonpath_step(
    state: dict[str, Any], data: Any, sc: Scope
) -> tuple[Any, dict[str, Any], str | None]:
    if JSONPATH_UNSUPPORTED & state.keys() or state["Type"] in ("Choice", "Map"):
        raise Unsupported("JSONPath feature")
    if "Parameters" in state:
        output = _jsonpath_payload(state["Parameters"], data, sc.context, sc.variables)
    else:
        output = state.get("Result", data)
    assigned = _jsonpath_payload(state.get("Assign", {}), data, sc.context, sc.variables)
    return output, assigned, state.get("Next")


def _fail(state: dict[str, Any], sc: Scope, jsonata: bool) -> dict[str, Any]:
    if not jsonata:
        return {"status": "FAILED", "error": state.get("Error"), "cause": state.get("Cause")}
    error = compile_value(state["Error"]).evaluate(sc, "Error") if "Error" in state else None
    cause = compile_value(state["Cause"]).evaluate(sc, "Cause") if "Cause" in state else None
    return {"status": "FAILED", "error": error, "cause": cause}


def _map_step(
    state: dict[str, Any], sc: Scope, case: dict[str, Any], language: str
) -> tuple[Any, dict[str, Any], str | None]:
    """A JSONata inline Map: Items, ItemSelector, the processor per item, then Output."""
    if "Items" in state:
        items = compile_value(state["Items"]).evaluate_expecting(sc, "Items", "array")
    elif isinstance(sc.input, list):
        items = sc.input
    else:
        shown = json.dumps(sc.input, separators=(",", ":"))
        raise StatesError(
            "States.QueryEvaluationError", f"Map state input must be an array but was: {shown}"
        )
    for key in ("MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage"):
        if key in state:
            compile_value(state[key]).evaluate(sc, key)
    selector = compile_value(state["ItemSelector"]) if "ItemSelector" in state else None
    processor = state.get("ItemProcessor") or state["Iterator"]
    results = []
    for index, item in enumerate(items):
        if selector is not None:
            context = {**sc.context, "Map": {"Item": {"Index": index, "Value": item}}}
            item_scope = Scope(input=sc.input, context=context, variables=sc.variables)
            item = selector.evaluate(item_scope, "ItemSelector")
        outcome = run_states(processor, item, dict(sc.variables), case, language)
        if outcome["status"] != "SUCCEEDED":
            raise Unsupported("failing Map iterations")
        results.append(outcome["output"])
    after = Scope(input=sc.input, context=sc.context, variables=sc.variables, result=results)
    assigned = compile_value(state.get("Assign", {})).evaluate(after, "Assign")
    output: Any = results
    if "Output" in state:
        output = compile_value(state["Output"]).evaluate(after, "Output")
    return output, assigned, state.get("Next")


def run_states(
    machine: dict[str, Any],
    data: Any,
    variables: dict[str, Any],
    case: dict[str, Any],
    default_language: str,
) -> dict[str, Any]:
    """Run a chain of Pass/Succeed/Fail/Choice/inline-Map states with this module only."""
    default_language = machine.get("QueryLanguage", default_language)
    name: str | None = machine["StartAt"]
    event_id = 2
    while name is not None:
        state = machine["States"][name]
        language = state.get("QueryLanguage", default_language)
        sc = Scope(input=data, context=_context(case, name), variables=dict(variables))
        try:
            if state["Type"] == "Fail":
                return _fail(state, sc, language == "JSONata")
            if state["Type"] == "Map" and language == "JSONata":
                data, assigned, next_name = _map_step(state, sc, case, language)
            elif language == "JSONata":
                data, assigned, next_name = _jsonata_step(state, sc)
            else:
                data, assigned, next_name = _jsonpath_step(state, data, sc)
        except StatesError as err:
            prefix = f"An error occurred while executing the state '{name}' "
            prefix += f"(entered at the event id #{event_id}). "
            return {"status": "FAILED", "error": err.error, "cause": prefix + (err.cause or "")}
        variables.update(assigned)
        name = None if state["Type"] == "Succeed" or state.get("End") else next_name
        event_id += 2
    return {"status": "SUCCEEDED", "output": data}


CHAIN_CASES = _chain_cases()


def test_the_chain_covers_the_jsonata_cases_with_simple_states() -> None:
    assert len(CHAIN_CASES) >= 110


@pytest.mark.parametrize("path", CHAIN_CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_conformance_case(path: Path) -> None:
    case = json.loads(path.read_text())
    try:
        result = run_states(case["definition"], case["input"], {}, case, "JSONPath")
    except Unsupported as why:
        pytest.skip(f"needs {why}")
    assert CHECK.check_result(case, result, check_history=False) is None, result

