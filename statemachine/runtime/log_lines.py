"""The log lines every process writes (``serve``, ``worker``, ``up``): one event per line,
to stdout, as JSON (the default) or as text (``--log-format text``).

A JSON line is one object: ``time`` (UTC, milliseconds), ``level``, ``logger``,
``message``, then what the record says about an execution — ``executionId``, ``machine``,
``version``, ``state``, ``eventId``, ``type``, ``attempt``, ``resourceHost``,
``durationMs``, ``error``, ``details`` (:data:`FIELDS`) — and ``exception`` (the traceback)
when there is one::

    {"time":"2025-01-09T10:00:00.125Z","level":"INFO","logger":"statemachine.execution",
     "message":"TaskStateEntered Charge","executionId":"...","machine":"orders",...}

Those fields come from two places: a message that is a :class:`Event` (a message and its
fields: the worker's execution lines) or :class:`Fields` (fields only: the audit trail),
or ``extra={"executionId": ...}`` on any logging call, so every line about one execution
carries its id and ``grep <id>`` finds them all.  A text line is the former format,
``<local time> <LEVEL> <logger>: <message>``, the fields after the message as ``key=value``.

:class:`LineWriter` writes the lines of one moment together (at most :data:`FLUSH_S`
later, at once for a warning or worse, and at exit), not one system call per line: logging
every transition of a busy worker stays cheap.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TextIO

import orjson

__all__ = ["FIELDS", "FLUSH_S", "Event", "Fields", "JsonFormatter", "LineRecord", "LineWriter",
           "LogFormat", "TextFormatter", "configure", "format_from_env"]

FLUSH_S = 0.2
"""The longest a line waits in :class:`LineWriter` before it is written."""
BATCH_LINES = 512
FORMAT_ENV = "STATEMACHINE_LOG_FORMAT"

FIELDS = ("executionId", "machine", "version", "state", "eventId", "type", "attempt",
          "resourceHost", "durationMs", "error", "details")
"""What a line may say about an execution, in the order written (``extra=`` takes these)."""


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


def format_from_env() -> LogFormat:
    """``STATEMACHINE_LOG_FORMAT`` (json or text; default json)."""
    text = os.environ.get(FORMAT_ENV, "").strip().lower()
    return LogFormat.TEXT if text == LogFormat.TEXT else LogFormat.JSON


class Fields:
    """A message that is only fields (an audit line): its text is their JSON."""

    __slots__ = ("fields",)

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = fields

    def __str__(self) -> str:
        return orjson.dumps(self.fields).decode()


class Event:
    """A message with fields (an execution's line): its text is the message, then
    ``key=value`` for each field."""

    __slots__ = ("fields", "message")

    def __init__(self, message: str, fields: Mapping[str, Any]) -> None:
        self.message = message
        self.fields = fields

    def __str__(self) -> str:
        return " ".join([self.message, *(f"{key}={_text(value)}"
                                         for key, value in self.fields.items())])


class LineRecord(logging.LogRecord):
    """A record made cheaply, for lines written many times a second (an execution's events,
    the audit trail): what ``LogRecord`` looks up for every record — the caller's file and
    line, the process, the thread — is not looked up (``where`` names the writing module)."""

    def __init__(self, name: str, level: int, message: Event | Fields, where: str) -> None:
        # No super().__init__(): its lookups are most of a line's cost, and no line shows
        # them.  Every attribute is the instance's own: formatters read record.__dict__.
        now = time.time()
        self.__dict__.update(_UNLOOKED)
        self.name, self.msg, self.levelno = name, message, level
        self.levelname = _LEVEL_NAMES.get(level) or logging.getLevelName(level)
        self.pathname = self.filename = where
        self.module = where.removesuffix(".py")
        self.created = now
        self.msecs = (now - int(now)) * 1000
        self.relativeCreated = (now - _STARTED) * 1000


_UNLOOKED: dict[str, Any] = {
    "args": (), "exc_info": None, "exc_text": None, "stack_info": None, "lineno": 0,
    "funcName": "", "thread": None, "threadName": None, "process": None, "processName": None,
    "taskName": None}
_LEVEL_NAMES = {level: logging.getLevelName(level)
                for level in (logging.INFO, logging.WARNING, logging.ERROR)}
_STARTED = time.time()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    """The :data:`FIELDS` given as ``extra=`` on a logging call."""
    found = record.__dict__
    return {name: found[name] for name in FIELDS if name in found}


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # the date part is formatted once a second
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        line: dict[str, Any] = {"time": f"{self._stamp}.{int(record.msecs):03d}Z",
                                "level": record.levelname, "logger": record.name}
        message = record.msg
        if isinstance(message, Fields):
            line.update(message.fields)
        elif isinstance(message, Event):
            line["message"] = message.message
            line.update(message.fields)
        else:
            line["message"] = record.getMessage()
            line.update(_extra(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger>: <message>``, the ``extra=`` fields after it."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = _extra(record)
        if not extra:
            return text
        first, newline, rest = text.partition("\n")  # after the message, before a traceback
        pairs = " ".join(f"{key}={_text(value)}" for key, value in extra.items())
        return f"{first} {pairs}{newline}{rest}"


class LineWriter(logging.Handler):
    """Writes formatted lines to a stream in batches: one write per :data:`FLUSH_S` on the
    event loop (or per :data:`BATCH_LINES` lines), at once for a warning or worse (and from
    a thread with no event loop), and whatever is left at close."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream or sys.stdout
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 -- logging's own convention: report, never raise
            self.handleError(record)
            return
        if len(self.lines) >= BATCH_LINES or record.levelno >= logging.WARNING:
            self.flush()
        elif len(self.lines) == 1:
            try:
                asyncio.get_running_loop().call_later(FLUSH_S, self.flush)
            except RuntimeError:  # no event loop: write at once
                self.flush()

    def flush(self) -> None:
        self.acquire()  # lines may come from another thread meanwhile
        try:
            if not self.lines:
                return
            text, self.lines = "".join(self.lines), []
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):  # the stream is closed: nothing more to do
                pass
        finally:
            self.release()

    def close(self) -> None:
        self.flush()
        super().close()


def configure(log_format: LogFormat | str = LogFormat.JSON, level: int | str = logging.INFO,
              stream: TextIO | None = None) -> LineWriter:
    """Send every record of the process to one :class:`LineWriter` on ``stream`` (stdout)
    in ``log_format``; ``level`` is the process's own (the execution lines and the audit
    trail are written whatever it says: their loggers are set to INFO)."""
    writer = LineWriter(stream)
    writer.setFormatter(JsonFormatter() if LogFormat(log_format) is LogFormat.JSON
                        else TextFormatter())
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(writer)
    root.setLevel(level)
    for name in ("statemachine.execution", "statemachine.audit"):
        logging.getLogger(name).setLevel(logging.INFO)
    # No line shows the thread or process: not looking them up makes every record cheaper.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    return writer
