"""The Wait state: a stored due time (a ``StartTimer``), never a sleep."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from statemachine.interpreter import failures as F
from statemachine.interpreter.context import Go, Step
from statemachine.interpreter.formats import dumps
from statemachine.interpreter.instant import passthrough_output
from statemachine.interpreter.outcomes import fail_state, leave
from statemachine.language import paths as _paths
from statemachine.language.model import State
from statemachine.language.scope import StatesError

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


def parse_timestamp(text: Any) -> int | None:
    """An ISO-8601 extended offset date-time as ms since the epoch, or None if invalid."""
    if not isinstance(text, str):
        return None
    m = _TIMESTAMP.match(text)
    if m is None:
        return None
    frac = m.group(7) or ""
    base = text[: m.start(7)] if frac else text[: m.start(8)]
    zone = m.group(8)
    try:
        dt = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    ms = int(dt.timestamp()) * 1000
    if frac:
        ms += int((frac[1:] + "000")[:3])
    return ms


def wait(step: Step, state: State, value: Any) -> Go:
    due = _due(step, state, value, state.flow.effective_input(step, state, value))
    if due <= step.now:
        return wait_done(step, state)
    step.start_timer("wait", due)
    return None


def _due(step: Step, state: State, value: Any, scope_input: Any) -> int:
    """When the wait ends (ms since the epoch): Seconds, Timestamp, their ...Path (over the
    effective input, ``scope_input``) or their JSONata expression (over the raw input)."""
    kind, x = state.wait
    now = step.now
    match kind:
        case "seconds":
            return now + int(x * 1000)
        case "seconds_path":
            seconds = _paths.select(x, step.scope(state, scope_input), "SecondsPath")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or (
                isinstance(seconds, float) and not seconds.is_integer()
            ):
                raise StatesError(
                    F.RUNTIME,
                    f"The SecondsPath parameter cannot be parsed as a long value: {x.text} == {_num(seconds)}",
                )
            if seconds < 0:
                raise StatesError(
                    F.RUNTIME, f"The SecondsPath parameter references a negative value: {x.text} == {_num(seconds)}"
                )
            return now + int(seconds) * 1000
        case "seconds_expr":
            seconds = x.evaluate(step.scope(state, value), "Seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
                raise StatesError(
                    F.QUERY_EVALUATION, f"The Seconds field must be a non-negative integer, but was: {dumps(seconds)}"
                )
            return now + int(seconds * 1000)
        case "timestamp":
            return parse_timestamp(x) or now
        case "timestamp_path":
            text = _paths.select(x, step.scope(state, scope_input), "TimestampPath")
            parsed = parse_timestamp(text)
            if parsed is None:
                raise StatesError(
                    F.RUNTIME,
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
                    f"date-time format string: {x.text} == {text if isinstance(text, str) else dumps(text)}",
                )
            return parsed
        case _:  # timestamp_expr
            text = x.evaluate(step.scope(state, value), "Timestamp")
            parsed = parse_timestamp(text)
            if parsed is None:
                raise StatesError(
                    F.QUERY_EVALUATION,
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
                    f"format string: {text if isinstance(text, str) else dumps(text)}",
                )
            return parsed


def _num(value: Any) -> str:
    return dumps(value) if not isinstance(value, str) else value


def wait_done(step: Step, state: State) -> Go:
    """The wait is over: leave the state with its input, through its output data flow."""
    value = step.ex["state_input"]
    try:
        output = passthrough_output(step, state, value)
    except StatesError as err:
        return fail_state(step, state, err.error, step.cause_of(err))
    return leave(step, state, output)
