"""A definition compiled once into frozen objects the interpreter walks.

``compile_machine(definition)`` turns a validated definition dict into a
:class:`Machine`.  Every path, payload template, intrinsic call, Choice rule and
JSONata expression is parsed here, once, so that evaluating a state costs only
the evaluation (the lesson of LocalStack's interpreter, which re-parses JSONPath
on every transition and spends 99% of its time doing so).

Fields keep the ASL distinction between *absent* and *null*: an absent
``InputPath`` means ``$`` (:data:`IDENTITY`), a null one means ``{}`` (``None``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from statemachine.language import choice as _choice
from statemachine.language import items as _items
from statemachine.language import jsonata as _jsonata
from statemachine.language import paths as _paths
from statemachine.language import templates as _templates
from statemachine.language.queues import QUEUE_FIELD

JSONPATH = "JSONPath"

#: The whole context object: ``$$`` or ``$states.context`` not followed by a field.
_WHOLE_CONTEXT = re.compile(r"\$\$(?![.\[])|\$states\.context(?![.\[])")
JSONATA = "JSONata"


class _Identity:
    """The path ``$``: the value itself, with no copying."""

    __slots__ = ()
    text = "$"

    def __repr__(self) -> str:
        return "IDENTITY"


IDENTITY: Any = _Identity()


@dataclass(frozen=True, slots=True)
class Retrier:
    errors: tuple[str, ...]
    interval: float = 1.0
    max_attempts: int = 3
    backoff: float = 2.0
    max_delay: float | None = None
    jitter: str = "NONE"


@dataclass(frozen=True, slots=True)
class Catcher:
    errors: tuple[str, ...]
    next: str
    result_path: Any = IDENTITY  # JSONPath: Path | IDENTITY | None
    output: Any = None  # JSONata Template | None
    assign: Any = None  # Template (either language) | None


@dataclass(frozen=True, slots=True)
class ChoiceRule:
    rule: Any  # choice.Rule (has .test(scope))
    next: str
    assign: Any = None
    output: Any = None


@dataclass(slots=True)
class State:
    """One compiled state.  Type-specific values live in plain attributes (None when absent)."""

    name: str
    type: str
    language: str
    raw: dict[str, Any]
    next: str | None = None
    end: bool = False
    # JSONPath data flow
    input_path: Any = IDENTITY
    parameters: Any = None
    result_selector: Any = None
    result_path: Any = IDENTITY
    output_path: Any = IDENTITY
    result: Any = None  # Pass "Result" (a constant), wrapped in a 1-tuple when present
    # JSONata data flow
    arguments: Any = None
    output: Any = None
    # both
    assign: Any = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    # Task
    resource: str | None = None
    timeout: Any = None  # ("const", n) | ("path", Path) | ("expr", Template)
    heartbeat: Any = None
    credentials: Any = None
    queue: str | None = None  # the x-queue extension field (None: the execution's queue)
    # Choice
    choices: tuple[ChoiceRule, ...] = ()
    default: str | None = None
    # Wait
    wait: Any = None  # (kind, value) kind in seconds|seconds_path|timestamp|timestamp_path|seconds_expr|timestamp_expr
    # Fail
    error: Any = None  # ("const", s) | ("path", Path) | ("expr", Template)
    cause: Any = None
    # Map / Parallel
    processor: Machine | None = None
    branches: tuple[Machine, ...] = ()
    items_path: Any = IDENTITY
    items: Any = None  # JSONata Template
    item_selector: Any = None
    max_concurrency: Any = ("const", 0)
    tolerated_count: Any = None
    tolerated_percentage: Any = None
    distributed: bool = False
    item_reader: _items.ItemReader | None = None
    item_batcher: _items.ItemBatcher | None = None
    result_writer: _items.ResultWriter | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # The interpreter's input/output data flow for ``language`` (a strategy object), given
    # once per compiled machine by statemachine.interpreter.dataflow.bind: language/ does
    # not import the interpreter.
    flow: Any = None


@dataclass(slots=True)
class Machine:
    start_at: str
    states: dict[str, State]
    language: str
    timeout_seconds: float | None
    definition: dict[str, Any]
    _subs: dict[tuple[Any, ...], Machine] = field(default_factory=dict)
    _reads_input: bool | None = None
    bound: bool = False  # the states' data flows are bound (statemachine.interpreter.dataflow)

    @property
    def reads_execution_input(self) -> bool:
        """Could a state here (or nested deeper) read ``$$.Execution.Input``?

        Conservative text search, done once: Map iterations and Parallel branches copy the
        execution input into their records only when this is true, so a Map over 10,000
        items does not store the whole input 10,000 times.
        """
        if self._reads_input is None:
            text = json.dumps(self.definition)
            self._reads_input = "Execution" in text or bool(_WHOLE_CONTEXT.search(text))
        return self._reads_input

    def sub(self, path: list[Any] | tuple[Any, ...]) -> Machine:
        """The machine at ``path`` (``[]`` is this one; see interpreter.records)."""
        key = tuple(path)
        if not key:
            return self
        found = self._subs.get(key)
        if found is not None:
            return found
        machine: Machine = self
        i = 0
        while i < len(key):
            if key[i] != "States":
                raise KeyError(f"bad machine path {list(key)!r}")
            state = machine.states[key[i + 1]]
            what = key[i + 2]
            if what in ("ItemProcessor", "Iterator"):
                assert state.processor is not None
                machine = state.processor
                i += 3
            elif what == "Branches":
                machine = state.branches[int(key[i + 3])]
                i += 4
            else:
                raise KeyError(f"bad machine path {list(key)!r}")
        self._subs[key] = machine
        return machine


def _path_or_identity(raw: dict[str, Any], key: str) -> Any:
    if key not in raw:
        return IDENTITY
    value = raw[key]
    if value is None:
        return None
    if value == "$":
        return IDENTITY
    return _paths.compile_path(value)


def _template(value: Any, language: str) -> Any:
    if language == JSONATA:
        return _jsonata.compile_value(value)
    return _templates.compile_template(value)


def _number_field(raw: dict[str, Any], key: str, language: str) -> Any:
    """A field like TimeoutSeconds that may be a constant, a ``...Path`` or a JSONata expression."""
    if key in raw:
        value = raw[key]
        if language == JSONATA and isinstance(value, str):
            return ("expr", _jsonata.compile_value(value))
        return ("const", value)
    if key + "Path" in raw:
        return ("path", _paths.compile_path(raw[key + "Path"]))
    return None


def _string_field(raw: dict[str, Any], key: str, language: str) -> Any:
    if key in raw:
        value = raw[key]
        if language == JSONATA and _jsonata.is_expression(value):
            return ("expr", _jsonata.compile_value(value))
        return ("const", value)
    if key + "Path" in raw:
        text = raw[key + "Path"]
        if text.startswith("States."):
            return ("intrinsic", _templates.compile_template({"v.$": text}))
        return ("path", _paths.compile_path(text))
    return None


def _retriers(raw: dict[str, Any]) -> tuple[Retrier, ...]:
    out = []
    for r in raw.get("Retry") or ():
        out.append(
            Retrier(
                errors=tuple(r.get("ErrorEquals", ())),
                interval=float(r.get("IntervalSeconds", 1)),
                max_attempts=int(r.get("MaxAttempts", 3)),
                backoff=float(r.get("BackoffRate", 2.0)),
                max_delay=float(r["MaxDelaySeconds"]) if "MaxDelaySeconds" in r else None,
                jitter=str(r.get("JitterStrategy", "NONE")),
            )
        )
    return tuple(out)


def _catchers(raw: dict[str, Any], language: str) -> tuple[Catcher, ...]:
    out = []
    for c in raw.get("Catch") or ():
        out.append(
            Catcher(
                errors=tuple(c.get("ErrorEquals", ())),
                next=c["Next"],
                result_path=_path_or_identity(c, "ResultPath"),
                output=_jsonata.compile_value(c["Output"]) if "Output" in c else None,
                assign=_template(c["Assign"], language) if "Assign" in c else None,
            )
        )
    return tuple(out)


def _state(name: str, raw: dict[str, Any], machine_language: str) -> State:
    language = raw.get("QueryLanguage", machine_language)
    kind = raw["Type"]
    s = State(name=name, type=kind, language=language, raw=raw)
    s.next = raw.get("Next")
    s.end = bool(raw.get("End", False))
    if language == JSONPATH:
        s.input_path = _path_or_identity(raw, "InputPath")
        s.output_path = _path_or_identity(raw, "OutputPath")
        s.result_path = _path_or_identity(raw, "ResultPath")
        if "Parameters" in raw and kind != "Map":
            s.parameters = _templates.compile_template(raw["Parameters"])
        if "ResultSelector" in raw:
            s.result_selector = _templates.compile_template(raw["ResultSelector"])
        if "Result" in raw:
            s.result = (raw["Result"],)
    else:
        if "Arguments" in raw:
            s.arguments = _jsonata.compile_value(raw["Arguments"])
        if "Output" in raw:
            s.output = _jsonata.compile_value(raw["Output"])
    if "Assign" in raw:
        s.assign = _template(raw["Assign"], language)
    s.retry = _retriers(raw)
    s.catch = _catchers(raw, language)
    compile_kind = _COMPILERS.get(kind)
    if compile_kind is not None:
        compile_kind(s, raw, language, machine_language)
    return s


def _compile_task(s: State, raw: dict[str, Any], language: str, top: str) -> None:
    s.resource = raw.get("Resource")
    s.timeout = _number_field(raw, "TimeoutSeconds", language)
    s.heartbeat = _number_field(raw, "HeartbeatSeconds", language)
    if "Credentials" in raw:
        s.credentials = _template(raw["Credentials"], language)
    s.queue = raw.get(QUEUE_FIELD)


def _compile_choice(s: State, raw: dict[str, Any], language: str, top: str) -> None:
    rules = []
    for rule in raw.get("Choices", ()):
        rules.append(
            ChoiceRule(
                rule=_choice.compile_rule(rule, language),
                next=rule["Next"],
                assign=_template(rule["Assign"], language) if "Assign" in rule else None,
                output=_jsonata.compile_value(rule["Output"]) if "Output" in rule else None,
            )
        )
    s.choices = tuple(rules)
    s.default = raw.get("Default")


def _compile_wait(s: State, raw: dict[str, Any], language: str, top: str) -> None:
    for key, kind in (("Seconds", "seconds"), ("Timestamp", "timestamp")):
        if key in raw:
            value = raw[key]
            if language == JSONATA and isinstance(value, str) and _jsonata.is_expression(value):
                s.wait = (kind + "_expr", _jsonata.compile_value(value))
            else:
                s.wait = (kind, value)
        elif key + "Path" in raw:
            s.wait = (kind + "_path", _paths.compile_path(raw[key + "Path"]))


def _compile_fail(s: State, raw: dict[str, Any], language: str, top: str) -> None:
    s.error = _string_field(raw, "Error", language)
    s.cause = _string_field(raw, "Cause", language)


def _compile_parallel(s: State, raw: dict[str, Any], language: str, top: str) -> None:
    s.branches = tuple(compile_machine(b, inherited=top) for b in raw.get("Branches", ()))


def _compile_map(s: State, raw: dict[str, Any], language: str, top: str) -> None:
    processor = raw.get("ItemProcessor") or raw["Iterator"]  # validation requires one
    s.processor = compile_machine(processor, inherited=top)
    config = processor.get("ProcessorConfig") or {}
    s.distributed = config.get("Mode") == "DISTRIBUTED"
    if language == JSONPATH:
        s.items_path = _path_or_identity(raw, "ItemsPath")
        selector = raw.get("ItemSelector", raw.get("Parameters"))
        if selector is not None:
            s.item_selector = _templates.compile_template(selector)
    else:
        if "Items" in raw:
            s.items = _jsonata.compile_value(raw["Items"])
        if "ItemSelector" in raw:
            s.item_selector = _jsonata.compile_value(raw["ItemSelector"])
    s.max_concurrency = _number_field(raw, "MaxConcurrency", language) or ("const", 0)
    s.tolerated_count = _number_field(raw, "ToleratedFailureCount", language)
    s.tolerated_percentage = _number_field(raw, "ToleratedFailurePercentage", language)
    if "Label" in raw:
        s.extras["Label"] = raw["Label"]
    reader = raw.get("ItemReader")
    if isinstance(reader, dict):
        s.item_reader = _item_reader(reader, language)
    writer = raw.get("ResultWriter")
    if isinstance(writer, dict):
        s.result_writer = _result_writer(writer, language)
    batcher = raw.get("ItemBatcher")
    if isinstance(batcher, dict):
        s.item_batcher = _items.ItemBatcher(
            max_items=_number_field(batcher, "MaxItemsPerBatch", language),
            max_bytes=_number_field(batcher, "MaxInputBytesPerBatch", language),
            batch_input=(_template(batcher["BatchInput"], language)
                         if "BatchInput" in batcher else None),
        )


def _item_reader(raw: dict[str, Any], language: str) -> _items.ItemReader:
    config = raw.get("ReaderConfig") or {}
    arguments = raw.get("Arguments" if language == JSONATA else "Parameters")
    headers = config.get("CSVHeaders")
    return _items.ItemReader(
        resource=str(raw.get("Resource", "")),
        arguments=_template(arguments, language) if arguments is not None else None,
        input_type=config.get("InputType"),
        csv_header_location=str(config.get("CSVHeaderLocation", "FIRST_ROW")),
        csv_headers=tuple(str(h) for h in headers) if isinstance(headers, list) else None,
        csv_delimiter=str(config.get("CSVDelimiter", "COMMA")),
        max_items=_number_field(config, "MaxItems", language),
    )


def _result_writer(raw: dict[str, Any], language: str) -> _items.ResultWriter:
    config = raw.get("WriterConfig") or {}
    arguments = raw.get("Arguments" if language == JSONATA else "Parameters")
    resource = raw.get("Resource")
    return _items.ResultWriter(
        resource=str(resource) if resource is not None else None,
        arguments=_template(arguments, language) if arguments is not None else None,
        transformation=config.get("Transformation"),
        output_type=config.get("OutputType"),
    )


_COMPILERS = {
    "Task": _compile_task,
    "Choice": _compile_choice,
    "Wait": _compile_wait,
    "Fail": _compile_fail,
    "Parallel": _compile_parallel,
    "Map": _compile_map,
}


def compile_machine(definition: dict[str, Any], *, inherited: str = JSONPATH) -> Machine:
    """Compile a validated definition (or a Map processor / Parallel branch) into a Machine."""
    language = definition.get("QueryLanguage", inherited)
    states = {name: _state(name, raw, language) for name, raw in definition["States"].items()}
    timeout = definition.get("TimeoutSeconds")
    return Machine(
        start_at=definition["StartAt"],
        states=states,
        language=language,
        timeout_seconds=float(timeout) if isinstance(timeout, (int, float)) else None,
        definition=definition,
    )
