"""Trace contexts and span ids, derived, never remembered: the one place that says them.

An execution is advanced one transition at a time, by any worker, after any crash, so no
span can be held open in memory from one transition to the next.  Every id is therefore a
function of what the record and its history already hold:

=================  ==========================================================================
trace id           the trace context the execution continues (its record's ``trace``: a start's
                   W3C ``traceparent`` or AWS X-Ray ``traceHeader``, or the one its parent's
                   Map/Parallel state handed its children), else the process-wide
                   ``TRACEPARENT``, else a hash of the root execution's id
execution span     hash of the execution id and its redrive count (a redriven execution is a
                   new run: a new span)
state span         hash of the execution id and the state's ``*StateEntered`` event id
task attempt span  hash of the execution id, that event id and the attempt (retries so far)
HTTP client span   hash of the task's idempotency key and the attempt: the span id of the
                   ``traceparent`` header a task request carries (:func:`client_span`)
=================  ==========================================================================

Pure: hashlib only, so the invokers, the planner and the API can all ask.  Whether an
execution's spans are recorded, and the flag its headers carry, is :mod:`.sampling`'s.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from statemachine.interpreter.records import Execution

__all__ = ["TraceContext", "attempt_span", "children_trace", "client_span", "execution_context",
           "execution_span", "header", "parse", "state_span", "w3c"]

_W3C = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_XRAY_ROOT = re.compile(r"^1-([0-9a-f]{8})-([0-9a-f]{24})$")
_SPAN_ID = re.compile(r"^[0-9a-f]{16}$")
_XRAY_SAMPLED = {"1": True, "0": False}  # "?" (the receiver decides) and none: no word
MAX_HEADER = 256
"""The longest trace header read (AWS's limit for ``traceHeader``)."""


@dataclass(frozen=True, slots=True)
class TraceContext:
    """A trace id (32 hex digits), the span a new span continues (16 hex digits, or None:
    the new span is the trace's root), and whether that parent was sampled (its header's
    flag; None: the header said nothing, or there is no parent)."""

    trace_id: str
    parent: str | None = None
    sampled: bool | None = None


def _hex(seed: str, length: int) -> str:
    """``length`` hex digits of a hash of ``seed``, never all zeros (W3C forbids those)."""
    digest = hashlib.sha256(seed.encode()).hexdigest()[:length]
    return digest if digest.strip("0") else "1".rjust(length, "0")


def w3c(text: str | None) -> TraceContext | None:
    """A W3C ``traceparent`` header's context; None for anything else (a malformed header is
    ignored, as the W3C Trace Context spec says: the trace restarts)."""
    if not text or len(text) > MAX_HEADER:
        return None
    match = _W3C.match(text.strip().lower())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or not trace_id.strip("0") \
            or not span_id.strip("0"):
        return None
    return TraceContext(trace_id, span_id, bool(int(flags, 16) & 1))


def _xray(text: str) -> TraceContext | None:
    """AWS X-Ray's ``Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=1`` (StartExecution's
    ``traceHeader``): the same 128 bits as a W3C trace id, as X-Ray's own propagators map it."""
    fields = dict(part.strip().partition("=")[::2] for part in text.split(";"))
    root = _XRAY_ROOT.match(fields.get("Root", "").lower())
    if root is None:
        return None
    trace_id = root.group(1) + root.group(2)
    parent = fields.get("Parent", "").lower()
    if not trace_id.strip("0"):
        return None
    if not (_SPAN_ID.match(parent) and parent.strip("0")):
        return TraceContext(trace_id)
    return TraceContext(trace_id, parent, _XRAY_SAMPLED.get(fields.get("Sampled", "").strip()))


def parse(text: str | None) -> TraceContext | None:
    """The context of a stored trace header: W3C ``traceparent`` or X-Ray ``traceHeader``;
    None when it is neither."""
    if not text or len(text) > MAX_HEADER:
        return None
    return w3c(text) or _xray(text)


def header(context: TraceContext, span_id: str, sampled: bool) -> str:
    """The W3C ``traceparent`` naming span ``span_id`` of ``context``'s trace, with the
    sampled flag of the execution's decision (:mod:`.sampling`)."""
    return f"00-{context.trace_id}-{span_id}-{'01' if sampled else '00'}"


def execution_context(execution_id: str, trace: str | None,
                      configured: str | None = None) -> TraceContext:
    """The context an execution's spans live in: its own ``trace`` header, else the
    process-wide ``configured`` one (``TRACEPARENT``; its trace only), else a trace of
    its own, derived from its root's id (a child without a header shares its root's)."""
    own = parse(trace)
    if own is not None:
        return own
    fallback = parse(configured)
    if fallback is not None:
        return TraceContext(fallback.trace_id)
    return TraceContext(_root_trace(execution_id.split("/", 1)[0]))


@functools.lru_cache(maxsize=4096)
def _root_trace(root: str) -> str:
    """The trace of a root execution started without a header, remembered for the
    executions in flight: each of their task requests and spans asks again."""
    return _hex(f"trace:{root}", 32)


def execution_span(execution_id: str, redrives: int = 0) -> str:
    """The span of one run of an execution (a redrive is a new run)."""
    return _hex(f"execution:{execution_id}:{redrives}", 16)


def state_span(execution_id: str, entered: int) -> str:
    """The span of the state entered as event ``entered``."""
    return _hex(f"state:{execution_id}:{entered}", 16)


def attempt_span(execution_id: str, entered: int, attempt: int) -> str:
    """The span of attempt ``attempt`` (0 first) of the task of the state entered as
    ``entered``."""
    return _hex(f"attempt:{execution_id}:{entered}:{attempt}", 16)


def client_span(idempotency_key: str, attempt: int) -> str:
    """The span of the request one task attempt sends: what its ``traceparent`` names (a
    request sent again for the same attempt, after a crash, names the same span)."""
    return _hex(f"span:{idempotency_key}:{attempt}", 16)


def children_trace(parent: Execution, configured: str | None,
                   samples: Callable[[TraceContext], bool]) -> str:
    """The trace header a Map/Parallel state hands its children (their records' ``trace``):
    its execution's trace, with the state's span as the parent of theirs, and its sampling
    decision (``samples``: the sampler's, :mod:`.sampling`), which a parent-based sampler
    has the children follow."""
    context = execution_context(parent["id"], parent.get("trace"), configured)
    return header(context, state_span(parent["id"], parent["entered"]), samples(context))
