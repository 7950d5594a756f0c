"""Distributed tracing: OpenTelemetry spans of executions, states, task attempts and task
requests, exported over OTLP/HTTP.  Off by default.

* :mod:`.context` — trace contexts and span ids, derived from the record and its history
  (pure; the invokers' ``traceparent`` header comes from here too);
* :mod:`.sampling` — which executions' spans are recorded (``OTEL_TRACES_SAMPLER``, a
  function of the trace context; pure);
* :mod:`.config` — whether tracing is on and where spans go (``--otlp-endpoint``,
  ``OTEL_*``); loads no OpenTelemetry code;
* :mod:`.spans` — the spans one committed transition ended (pure);
* :mod:`.exporter` — the OpenTelemetry SDK pipeline, imported only when tracing is on.
"""
