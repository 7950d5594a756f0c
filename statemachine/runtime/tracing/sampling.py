"""Which executions' spans are recorded: the standard ``OTEL_TRACES_SAMPLER`` and
``OTEL_TRACES_SAMPLER_ARG``, decided from the execution's trace context alone.

An execution's spans are made by whichever processes advance it (the API, any worker, after
any crash), so the decision cannot be drawn once and remembered: it is a function of what
every process reads the same way, the execution's :class:`~.context.TraceContext` — its
trace id, and the sampled flag of the header it was started with.  The samplers the
OpenTelemetry specification names are such functions:

===========================  =================================================================
``always_on``                every execution
``always_off``               none
``traceidratio``             the trace ids whose lower 64 bits fall below ratio × 2⁶⁴ (the
                             SDK's rule, so a downstream service with the same ratio agrees)
``parentbased_always_on``    what the start's ``traceparent``/``traceHeader`` flag says; every
(the default)                execution started without one
``parentbased_always_off``   what the flag says; none started without one
``parentbased_traceidratio`` what the flag says; ``traceidratio`` for those without one
===========================  =================================================================

The decision also sets the sampled flag of every ``traceparent`` an execution sends (task
requests, its Map/Parallel children, nested executions), so downstream services and child
executions follow it.  Pure: no OpenTelemetry code, read by the invokers with tracing off too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from statemachine.runtime.tracing.context import TraceContext

__all__ = ["DEFAULT_SAMPLER", "Sampler", "SamplerName"]

log = logging.getLogger("statemachine.tracing")

_LOWER_64 = (1 << 64) - 1


class SamplerName(StrEnum):
    ALWAYS_ON = "always_on"
    ALWAYS_OFF = "always_off"
    TRACE_ID_RATIO = "traceidratio"
    PARENT_BASED_ALWAYS_ON = "parentbased_always_on"
    PARENT_BASED_ALWAYS_OFF = "parentbased_always_off"
    PARENT_BASED_TRACE_ID_RATIO = "parentbased_traceidratio"


@dataclass(frozen=True, slots=True)
class Sampler:
    """One of the specification's samplers (``ratio``: the ``traceidratio`` ones' share)."""

    name: SamplerName = SamplerName.PARENT_BASED_ALWAYS_ON
    ratio: float = 1.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Sampler:
        """``OTEL_TRACES_SAMPLER`` and its ``_ARG``; a sampler not known here (``xray``,
        ``jaeger_remote``) or a ratio outside [0, 1] is warned of and the default used, as
        the specification asks of an SDK."""
        env = os.environ if environ is None else environ
        text = env.get("OTEL_TRACES_SAMPLER", "").strip().lower()
        if not text:
            return DEFAULT_SAMPLER
        try:
            name = SamplerName(text)
        except ValueError:
            log.warning("OTEL_TRACES_SAMPLER=%s is not supported here; using %s", text,
                        DEFAULT_SAMPLER.name.value)
            return DEFAULT_SAMPLER
        argument = env.get("OTEL_TRACES_SAMPLER_ARG", "").strip()
        if name not in (SamplerName.TRACE_ID_RATIO, SamplerName.PARENT_BASED_TRACE_ID_RATIO) \
                or not argument:
            return cls(name)
        try:
            ratio = float(argument)
        except ValueError:
            ratio = -1.0
        if not 0.0 <= ratio <= 1.0:
            log.warning("OTEL_TRACES_SAMPLER_ARG=%s is not a ratio from 0 to 1; using 1.0",
                        argument)
            ratio = 1.0
        return cls(name, ratio)

    def samples(self, context: TraceContext) -> bool:
        """Whether the spans of an execution in ``context`` are recorded."""
        parents_word = context.sampled if context.parent is not None else None
        match self.name:
            case SamplerName.ALWAYS_ON:
                return True
            case SamplerName.ALWAYS_OFF:
                return False
            case SamplerName.TRACE_ID_RATIO:
                return self._by_trace_id(context)
            case SamplerName.PARENT_BASED_ALWAYS_ON:
                return True if parents_word is None else parents_word
            case SamplerName.PARENT_BASED_ALWAYS_OFF:
                return False if parents_word is None else parents_word
            case SamplerName.PARENT_BASED_TRACE_ID_RATIO:
                return self._by_trace_id(context) if parents_word is None else parents_word

    def _by_trace_id(self, context: TraceContext) -> bool:
        bound = round(self.ratio * (_LOWER_64 + 1))
        return int(context.trace_id, 16) & _LOWER_64 < bound


DEFAULT_SAMPLER = Sampler()
"""``parentbased_always_on``: the specification's default."""
