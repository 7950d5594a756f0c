"""The log lines every process writes (:mod:`statemachine.runtime.log_lines`): one JSON object
per record (or text), the execution's fields taken from the message or from ``extra=``, and
the writer that gathers a moment's lines into one write."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from statemachine.runtime.log_lines import (
    FIELDS,
    FLUSH_S,
    Event,
    Fields,
    JsonFormatter,
    LineRecord,
    LineWriter,
    LogFormat,
    TextFormatter,
    configure,
)


def record(message: object, level: int = logging.INFO, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("statemachine.test", level, __file__, 1, message, (), None)
    made.__dict__.update(extra)
    return made


def test_a_json_line_holds_the_fields_of_the_execution() -> None:
    line = json.loads(JsonFormatter().format(record(
        "work item %s failed", executionId="x-1", state="Charge", unrelated="no")))
    assert line["message"] == "work item %s failed"
    assert list(line) == ["time", "level", "logger", "message", "executionId", "state"]
    assert line["time"].endswith("Z") and len(line["time"]) == len("2025-01-09T10:00:00.125Z")
    assert (line["level"], line["logger"]) == ("INFO", "statemachine.test")

    event = json.loads(JsonFormatter().format(record(Event("TaskScheduled Charge", {
        "executionId": "x-1", "eventId": 5, "attempt": 2, "resourceHost": "pay:443"}))))
    assert event["message"] == "TaskScheduled Charge"
    assert {k: event[k] for k in ("executionId", "eventId", "attempt", "resourceHost")} == {
        "executionId": "x-1", "eventId": 5, "attempt": 2, "resourceHost": "pay:443"}
    audit = json.loads(JsonFormatter().format(record(Fields({"keyId": "K", "status": 201}))))
    assert "message" not in audit and (audit["keyId"], audit["status"]) == ("K", 201)
    assert set(FIELDS) >= {"executionId", "machine", "version", "state", "eventId", "attempt",
                           "resourceHost", "durationMs", "error"}


def test_a_traceback_stays_inside_its_one_line() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        failed = logging.LogRecord("statemachine.test", logging.ERROR, __file__, 1, "it broke",
                                   (), sys.exc_info())
    text = JsonFormatter().format(failed)
    assert "\n" not in text and "ValueError: broken" in json.loads(text)["exception"]
    plain = TextFormatter().format(failed)
    assert plain.splitlines()[0].endswith("ERROR statemachine.test: it broke")
    assert "ValueError: broken" in plain


def test_a_text_line_is_the_message_then_the_fields() -> None:
    text = TextFormatter().format(record("lost", executionId="x-1", durationMs=12.5))
    assert text.endswith(" INFO statemachine.test: lost executionId=x-1 durationMs=12.5")
    event = TextFormatter().format(record(Event("ExecutionFailed", {
        "executionId": "x-1", "details": {"error": "E"}})))
    assert event.endswith('ExecutionFailed executionId=x-1 details={"error":"E"}')
    audit = TextFormatter().format(record(Fields({"keyId": "K"})))
    assert audit.endswith('statemachine.test: {"keyId":"K"}')


async def test_the_writer_gathers_a_moment_and_writes_a_warning_at_once() -> None:
    out = io.StringIO()
    writer = LineWriter(out)
    writer.setFormatter(TextFormatter())
    writer.handle(record("one"))
    writer.handle(record("two"))
    assert out.getvalue() == ""  # held for a moment
    await asyncio.sleep(FLUSH_S * 2)
    assert [line.split(": ")[1] for line in out.getvalue().splitlines()] == ["one", "two"]
    writer.handle(record("three"))
    writer.handle(record("four", logging.WARNING))  # at once, after what came before it
    assert [line.split(": ")[1] for line in out.getvalue().splitlines()] == [
        "one", "two", "three", "four"]
    writer.handle(record("five"))
    writer.close()
    assert out.getvalue().splitlines()[-1].endswith("five")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    kept = (list(root.handlers), root.level,
            {name: logging.getLogger(name).level
             for name in ("statemachine.execution", "statemachine.audit")})
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in kept[0]:
        root.addHandler(handler)
    root.setLevel(kept[1])
    for name, level in kept[2].items():
        logging.getLogger(name).setLevel(level)


def test_configure_sends_every_line_to_one_writer(restore_logging: None) -> None:
    out = io.StringIO()
    writer = configure(LogFormat.JSON, "WARNING", out)
    logging.getLogger("statemachine.worker").info("not at WARNING")
    logging.getLogger("statemachine.execution").info(Event("ExecutionStarted",
                                                           {"executionId": "x-9"}))
    logging.getLogger("statemachine.audit").info(Fields({"keyId": "K"}))
    logging.getLogger("statemachine.worker").warning("slow", extra={"executionId": "x-9"})
    writer.flush()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == [
        "statemachine.execution", "statemachine.audit", "statemachine.worker"]
    assert [line.get("executionId") for line in lines] == ["x-9", None, "x-9"]


def test_a_cheap_record_is_a_record_to_any_formatter() -> None:
    made = LineRecord("statemachine.execution", logging.WARNING,
                      Event("TaskFailed Charge", {"executionId": "x-1"}), "execution_lines.py")
    plain = logging.Formatter("%(levelname)s %(name)s %(filename)s:%(lineno)d %(module)s "
                              "%(process)s %(message)s").format(made)
    assert plain == ("WARNING statemachine.execution execution_lines.py:0 execution_lines None "
                     "TaskFailed Charge executionId=x-1")
    assert json.loads(JsonFormatter().format(made))["executionId"] == "x-1"
    assert abs(made.created - logging.makeLogRecord({}).created) < 5
