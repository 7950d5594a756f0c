"""Validate a definition: the JSON Schema, then the checks a schema cannot express.

:func:`validate` returns every problem as a :class:`~statemachine.errors.Diagnostic`
(JSON pointer, code, message, line), the way AWS's ``ValidateStateMachineDefinition``
reports them.  The semantic checks, in the order a reader meets them:

- state names: at most 80 characters, unique in the whole machine (branches included);
- transitions: ``StartAt``, ``Next``, ``Default`` and ``Catch[].Next`` name a state of
  their own scope (a Parallel branch or Map processor is a machine of its own), every
  state is reachable, there is a terminal state, ``End`` and ``Next`` exclude each other;
- fields allowed only in the query language in force (``Parameters`` is JSONPath,
  ``Arguments`` JSONata...), fields that exclude each other (``TimeoutSeconds`` and
  ``TimeoutSecondsPath``...), ``HeartbeatSeconds`` below ``TimeoutSeconds``;
- ``States.ALL`` alone in its ``ErrorEquals`` and only in the last retrier/catcher;
- expressions: JSONPath paths and reference paths, intrinsic functions (known name,
  arity, literal argument types), JSONata ``{% %}`` expressions, ``.$`` keys that would
  collide once the suffix is stripped, Choice rules with exactly one test;
- ``Resource`` is an ARN, an http(s) URL or a ``${...}`` placeholder.

``${...}`` deploy-time placeholders (SAM ``DefinitionSubstitutions``, CloudFormation
``Fn::Sub``, Terraform) are accepted wherever a string is, so an unsubstituted
definition validates.  The checks never raise on malformed input: whatever the schema
already rejected is skipped here.

This module walks machines, states and their transitions; the checks of a single
field's value are in :mod:`~statemachine.language.validate_fields`, the diagnostic
codes and field tables in :mod:`~statemachine.language.validate_tables`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from statemachine.errors import Diagnostic
from statemachine.language.schema import schema_diagnostics
from statemachine.language.source import Source, pointer_join
from statemachine.language.validate_fields import FieldChecker
from statemachine.language.validate_tables import (
    AT_MOST_ONE,
    BAD_CHOICE,
    BATCHER_PAIRS,
    CONFLICT,
    DUPLICATE_NAME,
    FLOW_TYPES,
    INTRINSIC_PATH_FIELDS,
    JSONATA,
    JSONATA_FIELDS,
    JSONATA_ONLY,
    JSONPATH,
    JSONPATH_ONLY,
    MAX_NAME,
    MISSING_TARGET,
    NAME_TOO_LONG,
    NEXT_AND_END,
    NO_NEXT,
    NO_TERMINAL,
    NUMBER_FIELDS,
    PATH_FIELDS,
    QUERY_LANGUAGE,
    RULE_COMBINATORS,
    SCHEMA,
    STATES_ALL,
    TEMPLATES,
    TERMINAL_TYPES,
    UNREACHABLE,
    WAIT_FIELDS,
    choice_operators,
)

__all__ = ["validate"]


def validate(definition: Any, *, source: Source | None = None) -> list[Diagnostic]:
    """All problems in ``definition``; an empty list means it is valid.

    With ``source`` (from :mod:`statemachine.language.source`) each diagnostic also
    carries the file name and the line of its JSON pointer.
    """
    diagnostics = schema_diagnostics(definition)
    if isinstance(definition, dict):
        checker = _Checker(definition)
        checker.machine(definition, "", "top")
        checker.finish()
        diagnostics.extend(checker.diagnostics)
    if source is None:
        return diagnostics
    located = [
        Diagnostic(d.pointer, d.code, d.message, source.line_of(d.pointer), source.filename)
        for d in diagnostics
    ]
    return sorted(located, key=lambda d: d.line if d.line is not None else 0)


class _Checker(FieldChecker):
    """One pass over a definition, collecting diagnostics."""

    def __init__(self, definition: dict[str, Any]) -> None:
        super().__init__()
        top = definition.get("QueryLanguage")
        self.top_language = top if top in (JSONPATH, JSONATA) else JSONPATH
        self.names: dict[str, str] = {}
        self.missing: list[tuple[str, str, str, str]] = []
        # Inside a distributed Map's processor (child executions of their own) a state
        # may go back to JSONPath even when the parent machine is JSONata.
        self.distributed = False

    # --- machines and transitions -----------------------------------------------

    def machine(self, machine: dict[str, Any], pointer: str, kind: str) -> None:
        """Check one (sub-)machine: its states, then its transitions as a graph."""
        states = machine.get("States")
        if not isinstance(states, dict):
            return
        states_pointer = pointer_join(pointer, "States")
        edges: dict[str, list[tuple[str, str]]] = {}
        terminal = False
        for name, state in states.items():
            state_pointer = pointer_join(states_pointer, name)
            self._name(name, state_pointer)
            if not isinstance(state, dict):
                continue
            edges[name] = self.state(state, state_pointer)
            terminal = terminal or state.get("Type") in TERMINAL_TYPES or state.get("End") is True
        start = machine.get("StartAt")
        if not isinstance(start, str):
            return
        reached = self._reach(start, pointer_join(pointer, "StartAt"), states, edges, kind)
        if start not in states:
            return  # every state would be "unreachable": the missing StartAt says it all
        for name in states:
            if name not in reached:
                self.report(pointer_join(states_pointer, name), UNREACHABLE,
                            f"state '{name}' is not reachable from StartAt '{start}'")
        if not terminal and states:
            where = {"top": "the state machine", "branch": "this Parallel branch",
                     "processor": "this Map processor"}[kind]
            self.report(states_pointer, NO_TERMINAL,
                        f"{where} has no terminal state (End: true, Succeed or Fail)")

    def _reach(self, start: str, start_pointer: str, states: dict[str, Any],
               edges: dict[str, list[tuple[str, str]]], kind: str) -> set[str]:
        reached: set[str] = set()
        todo = [(start, start_pointer)]
        while todo:
            target, where = todo.pop()
            if target in reached:
                continue
            if target not in states:
                self.missing.append((where, target, kind, where.rsplit("/", 1)[-1]))
                continue
            reached.add(target)
            todo.extend(edges.get(target, ()))
        return reached

    def finish(self) -> None:
        """Report missing targets now that every state name of the machine is known."""
        scope = {"branch": "this Parallel branch", "processor": "this Map processor"}
        for where, target, kind, field in self.missing:
            message = f"{field} target '{target}' does not exist"
            if kind in scope and target in self.names:
                message = (f"{field} target '{target}' is outside {scope[kind]}: a state inside "
                           "a Parallel branch or Map can only move to states of its own scope")
            self.report(where, MISSING_TARGET, message)

    def _name(self, name: str, pointer: str) -> None:
        if len(name) > MAX_NAME:
            self.report(pointer, NAME_TOO_LONG,
                        f"state name '{name[:20]}...' is {len(name)} characters long; "
                        f"the limit is {MAX_NAME}")
        first = self.names.setdefault(name, pointer)
        if first != pointer:
            self.report(pointer, DUPLICATE_NAME,
                        f"state name '{name}' is already used at {first}: names must be unique "
                        "in the whole state machine, branches included")

    # --- states ---------------------------------------------------------------------

    def state(self, state: dict[str, Any], pointer: str) -> list[tuple[str, str]]:
        """Check one state; returns its transitions as (target, pointer) pairs."""
        declared = state.get("Type")
        kind: str = declared if isinstance(declared, str) else ""
        language = self._language(state, pointer)
        edges: list[tuple[str, str]] = []
        self._flow(state, kind, pointer, edges)
        self._language_fields(state, language, pointer)
        for group in AT_MOST_ONE.get(kind, ()):
            self._at_most_one(state, group, pointer)
        if language == JSONPATH:
            self._jsonpath_fields(state, pointer)
        else:
            self._jsonata_fields(state, pointer)
        self._number_fields(state, language, pointer)
        for field in ("Retry", "Catch"):
            self._error_handlers(state.get(field), pointer_join(pointer, field), language, edges)
        handler = _STATE_CHECKS.get(kind)
        if handler is not None:
            handler(self, state, pointer, language, edges)
        return edges

    def _language(self, state: dict[str, Any], pointer: str) -> str:
        own = state.get("QueryLanguage")
        if own == JSONPATH and self.top_language == JSONATA and not self.distributed:
            self.report(pointer_join(pointer, "QueryLanguage"), QUERY_LANGUAGE,
                        "a state cannot use JSONPath when the state machine's QueryLanguage "
                        "is JSONata")
        return own if own in (JSONPATH, JSONATA) else self.top_language

    def _flow(self, state: dict[str, Any], kind: Any, pointer: str,
              edges: list[tuple[str, str]]) -> None:
        has_next, has_end = "Next" in state, "End" in state
        if isinstance(state.get("Next"), str):
            edges.append((state["Next"], pointer_join(pointer, "Next")))
        if kind not in FLOW_TYPES:
            return
        if has_next and has_end:
            self.report(pointer_join(pointer, "End"), NEXT_AND_END,
                        f"a {kind} state must have exactly one of 'Next' and 'End', not both")
        elif not has_next and not has_end:
            self.report(pointer, NO_NEXT,
                        f"a {kind} state must have either 'Next' or 'End: true'")

    def _language_fields(self, state: dict[str, Any], language: str, pointer: str) -> None:
        wrong = JSONPATH_ONLY if language == JSONATA else JSONATA_ONLY
        for field in state:
            hint = wrong.get(field)
            if hint is None:
                continue
            self.report(pointer_join(pointer, field), QUERY_LANGUAGE,
                        f"'{field}' is not allowed when QueryLanguage is {language} ({hint})")

    def _at_most_one(self, obj: dict[str, Any], group: Iterable[str], pointer: str) -> None:
        present = [f for f in group if f in obj]
        if len(present) > 1:
            names = " and ".join(f"'{f}'" for f in present)
            self.report(pointer_join(pointer, present[-1]), CONFLICT,
                        f"{names} cannot both be set")

    def _jsonpath_fields(self, state: dict[str, Any], pointer: str) -> None:
        for field in PATH_FIELDS:
            if field not in state:
                continue
            value, where = state[field], pointer_join(pointer, field)
            is_call = isinstance(value, str) and value.startswith("States.")
            if field in INTRINSIC_PATH_FIELDS and is_call:
                self.intrinsic(value, where)
            else:
                self.path(value, where, field)
        if "ResultPath" in state:
            self.reference_path(state["ResultPath"], pointer_join(pointer, "ResultPath"))
        for field in TEMPLATES:
            if field in state:
                self.template(state[field], pointer_join(pointer, field))

    def _jsonata_fields(self, state: dict[str, Any], pointer: str) -> None:
        for field in JSONATA_FIELDS:
            if field in state:
                self.jsonata_value(state[field], pointer_join(pointer, field))

    def _number_fields(self, state: dict[str, Any], language: str, pointer: str) -> None:
        """A ``{% %}`` string in a number field is JSONata: wrong in a JSONPath state."""
        if language == JSONATA:
            return
        for field in NUMBER_FIELDS:
            value = state.get(field)
            if isinstance(value, str) and self.jsonata.is_expression(value):
                self.report(pointer_join(pointer, field), QUERY_LANGUAGE,
                            f"'{field}' holds a JSONata expression, which needs "
                            "QueryLanguage JSONata; in JSONPath write a number or use "
                            f"'{field}Path'")

    # --- retry and catch -------------------------------------------------------------

    def _error_handlers(self, handlers: Any, pointer: str, language: str,
                        edges: list[tuple[str, str]]) -> None:
        if not isinstance(handlers, list):
            return
        is_catch = pointer.endswith("/Catch")
        last = len(handlers) - 1
        for i, handler in enumerate(handlers):
            if not isinstance(handler, dict):
                continue
            item = pointer_join(pointer, i)
            errors = handler.get("ErrorEquals")
            if isinstance(errors, list) and "States.ALL" in errors:
                where = pointer_join(item, "ErrorEquals")
                if len(errors) > 1:
                    self.report(where, STATES_ALL,
                                "'States.ALL' must appear alone in its ErrorEquals")
                if i != last:
                    what = "catcher" if is_catch else "retrier"
                    self.report(where, STATES_ALL,
                                f"'States.ALL' may only appear in the last {what}")
            if not is_catch:
                continue
            if isinstance(handler.get("Next"), str):
                edges.append((handler["Next"], pointer_join(item, "Next")))
            self._catcher_fields(handler, item, language)

    def _catcher_fields(self, catcher: dict[str, Any], pointer: str, language: str) -> None:
        if language == JSONATA:
            if "ResultPath" in catcher:
                self.report(pointer_join(pointer, "ResultPath"), QUERY_LANGUAGE,
                            "'ResultPath' is not allowed when QueryLanguage is JSONata "
                            "(use 'Output' or 'Assign')")
            for field in ("Output", "Assign"):
                if field in catcher:
                    self.jsonata_value(catcher[field], pointer_join(pointer, field))
            return
        if "Output" in catcher:
            self.report(pointer_join(pointer, "Output"), QUERY_LANGUAGE,
                        "'Output' is not allowed when QueryLanguage is JSONPath "
                        "(use 'ResultPath')")
        if "ResultPath" in catcher:
            self.reference_path(catcher["ResultPath"], pointer_join(pointer, "ResultPath"))
        if "Assign" in catcher:
            self.template(catcher["Assign"], pointer_join(pointer, "Assign"))

    # --- per state type ------------------------------------------------------------------

    def task(self, state: dict[str, Any], pointer: str, language: str,
             edges: list[tuple[str, str]]) -> None:
        self.resource(state.get("Resource"), pointer_join(pointer, "Resource"))
        heartbeat: Any = state.get("HeartbeatSeconds")
        timeout: Any = state.get("TimeoutSeconds")
        if _is_number(heartbeat) and _is_number(timeout) and heartbeat >= timeout:
            self.report(pointer_join(pointer, "HeartbeatSeconds"), CONFLICT,
                        f"'HeartbeatSeconds' ({heartbeat}) must be smaller than "
                        f"'TimeoutSeconds' ({timeout})")

    def wait(self, state: dict[str, Any], pointer: str, language: str,
             edges: list[tuple[str, str]]) -> None:
        present = [f for f in WAIT_FIELDS if f in state]
        if len(present) != 1:
            got = ", ".join(f"'{f}'" for f in present) or "none"
            self.report(pointer, CONFLICT,
                        "a Wait state must have exactly one of 'Seconds', 'SecondsPath', "
                        f"'Timestamp' and 'TimestampPath' (has {got})")
        self.timestamp(state.get("Timestamp"), pointer_join(pointer, "Timestamp"), "Timestamp",
                       language)

    def choice(self, state: dict[str, Any], pointer: str, language: str,
               edges: list[tuple[str, str]]) -> None:
        if isinstance(state.get("Default"), str):
            edges.append((state["Default"], pointer_join(pointer, "Default")))
        rules = state.get("Choices")
        if not isinstance(rules, list):
            return
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict):
                continue
            rule_pointer = pointer_join(pointer_join(pointer, "Choices"), i)
            if isinstance(rule.get("Next"), str):
                edges.append((rule["Next"], pointer_join(rule_pointer, "Next")))
            if language == JSONATA:
                self._jsonata_rule(rule, rule_pointer)
            else:
                self._jsonpath_rule(rule, rule_pointer, top=True)

    def _jsonata_rule(self, rule: dict[str, Any], pointer: str) -> None:
        wrong = [k for k in rule if k not in ("Next", "Comment", "Assign", "Output", "Condition")]
        for key in wrong:
            self.report(pointer_join(pointer, key), QUERY_LANGUAGE,
                        f"'{key}' is not allowed in a Choice rule when QueryLanguage is JSONata "
                        "(use 'Condition')")
        condition = rule.get("Condition")
        if "Condition" not in rule:
            self.report(pointer, BAD_CHOICE, "a JSONata Choice rule needs a 'Condition'")
        elif isinstance(condition, str):
            if not self.jsonata.is_expression(condition):
                self.report(pointer_join(pointer, "Condition"), BAD_CHOICE,
                            f"'Condition' must be a JSONata expression {{% ... %}} or a boolean "
                            f"(got {condition!r})")
            else:
                self._jsonata_string(condition, pointer_join(pointer, "Condition"))
        for field in ("Assign", "Output"):
            if field in rule:
                self.jsonata_value(rule[field], pointer_join(pointer, field))

    def _jsonpath_rule(self, rule: dict[str, Any], pointer: str, *, top: bool) -> None:
        for field in ("Condition", "Output"):
            if field in rule:
                self.report(pointer_join(pointer, field), QUERY_LANGUAGE,
                            f"'{field}' is not allowed in a Choice rule when QueryLanguage is "
                            "JSONPath")
        if top and "Assign" in rule:
            self.template(rule["Assign"], pointer_join(pointer, "Assign"))
        combinators = [k for k in RULE_COMBINATORS if k in rule]
        operators = [k for k in rule if k in choice_operators()]
        if "Condition" in rule and not combinators and not operators:
            return  # a JSONata rule in a JSONPath state: reported above
        if combinators:
            if len(combinators) > 1 or operators or "Variable" in rule:
                extra = [*combinators, *operators, *(["Variable"] if "Variable" in rule else [])]
                self.report(pointer, BAD_CHOICE,
                            "a Choice rule must have exactly one of 'And', 'Or', 'Not' or a "
                            f"comparison (has {', '.join(repr(k) for k in extra)})")
            self._nested_rules(rule, pointer)
            return
        if len(operators) != 1:
            got = ", ".join(f"'{k}'" for k in operators) or "none"
            self.report(pointer, BAD_CHOICE,
                        f"a Choice rule must have exactly one comparison operator (has {got})")
        if "Variable" not in rule:
            self.report(pointer, BAD_CHOICE, "a Choice rule comparison needs a 'Variable'")
        else:
            self.path(rule["Variable"], pointer_join(pointer, "Variable"), "Variable")
        for op in operators:
            self._operand(op, rule[op], pointer_join(pointer, op))

    def _nested_rules(self, rule: dict[str, Any], pointer: str) -> None:
        for key in ("And", "Or"):
            children = rule.get(key)
            if isinstance(children, list):
                for i, child in enumerate(children):
                    if isinstance(child, dict):
                        self._jsonpath_rule(child, pointer_join(pointer_join(pointer, key), i),
                                            top=False)
        if isinstance(rule.get("Not"), dict):
            self._jsonpath_rule(rule["Not"], pointer_join(pointer, "Not"), top=False)

    def _operand(self, op: str, value: Any, pointer: str) -> None:
        if op.endswith("Path"):
            self.path(value, pointer, op)
        elif op.startswith("Timestamp"):
            self.timestamp(value, pointer, op, JSONPATH)

    def parallel(self, state: dict[str, Any], pointer: str, language: str,
                 edges: list[tuple[str, str]]) -> None:
        branches = state.get("Branches")
        if isinstance(branches, list):
            for i, branch in enumerate(branches):
                if isinstance(branch, dict):
                    self.machine(branch, pointer_join(pointer_join(pointer, "Branches"), i),
                                 "branch")

    def map(self, state: dict[str, Any], pointer: str, language: str,
            edges: list[tuple[str, str]]) -> None:
        if "ItemProcessor" not in state and "Iterator" not in state:
            self.report(pointer, SCHEMA, "missing required field 'ItemProcessor' in a Map "
                                         "state (or the legacy 'Iterator')")
        for field in ("ItemProcessor", "Iterator"):
            processor = state.get(field)
            if not isinstance(processor, dict):
                continue
            config = processor.get("ProcessorConfig")
            outer = self.distributed
            distributed = isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED"
            self.distributed = outer or distributed
            self.machine(processor, pointer_join(pointer, field), "processor")
            self.distributed = outer
        self._map_parts(state, pointer, language)

    def _map_parts(self, state: dict[str, Any], pointer: str, language: str) -> None:
        reader = state.get("ItemReader")
        if isinstance(reader, dict):
            self._integration(reader, pointer_join(pointer, "ItemReader"), language)
            config = reader.get("ReaderConfig")
            if isinstance(config, dict):
                where = pointer_join(pointer_join(pointer, "ItemReader"), "ReaderConfig")
                self._at_most_one(config, ("MaxItems", "MaxItemsPath"), where)
                self.sub_path(config, "MaxItemsPath", where, language)
                self.reader_config(config, where)
        writer = state.get("ResultWriter")
        if isinstance(writer, dict):
            self._integration(writer, pointer_join(pointer, "ResultWriter"), language)
            self.writer_config(writer, pointer_join(pointer, "ResultWriter"), language)
        batcher = state.get("ItemBatcher")
        if isinstance(batcher, dict):
            where = pointer_join(pointer, "ItemBatcher")
            for pair in BATCHER_PAIRS:
                self._at_most_one(batcher, pair, where)
                self.sub_path(batcher, pair[1], where, language)
            if "BatchInput" in batcher:
                self.payload(batcher["BatchInput"], pointer_join(where, "BatchInput"), language)

    def _integration(self, obj: dict[str, Any], pointer: str, language: str) -> None:
        """ItemReader / ResultWriter: a resource with Parameters (JSONPath) or Arguments."""
        self.resource(obj.get("Resource"), pointer_join(pointer, "Resource"))
        wrong, right = (("Parameters", "Arguments") if language == JSONATA
                        else ("Arguments", "Parameters"))
        if wrong in obj:
            self.report(pointer_join(pointer, wrong), QUERY_LANGUAGE,
                        f"'{wrong}' is not allowed when QueryLanguage is {language} "
                        f"(use '{right}')")
        if right in obj:
            self.payload(obj[right], pointer_join(pointer, right), language)


_STATE_CHECKS = {
    "Task": _Checker.task,
    "Wait": _Checker.wait,
    "Choice": _Checker.choice,
    "Parallel": _Checker.parallel,
    "Map": _Checker.map,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
