"""Whether spans are exported, and where: ``--otlp-endpoint`` or the standard ``OTEL_*``
variables.  Off unless one of them asks; reading this loads no OpenTelemetry code.

=====================================  ===================================================
``--otlp-endpoint http://host:4318``   on: spans POSTed to ``http://host:4318/v1/traces``
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``  on: spans POSTed to that URL as it is
``OTEL_EXPORTER_OTLP_ENDPOINT``         on: spans POSTed to ``<it>/v1/traces``
``OTEL_TRACES_EXPORTER``                ``otlp`` on (default endpoint ``localhost:4318``),
                                        ``console`` on (spans printed to stdout), ``none``
                                        off whatever variable else says on
``OTEL_SDK_DISABLED=true``              off (``--otlp-endpoint`` still turns it on)
=====================================  ===================================================

Which executions are recorded is ``OTEL_TRACES_SAMPLER``/``_ARG``'s (:mod:`.sampling`).
The exporter reads the rest of its variables itself (``OTEL_EXPORTER_OTLP_HEADERS``,
``..._TIMEOUT``, ``..._COMPRESSION``, ``..._CERTIFICATE``), the batch processor its own
(``OTEL_BSP_SCHEDULE_DELAY``, ``OTEL_BSP_MAX_QUEUE_SIZE``, ...), and the resource
``OTEL_SERVICE_NAME`` (default ``statemachine``) and ``OTEL_RESOURCE_ATTRIBUTES``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["TRACES_PATH", "TracingSettings", "traces_url"]

TRACES_PATH = "/v1/traces"
_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")

Exporter = Literal["otlp", "console"]


def traces_url(endpoint: str) -> str:
    """Where OTLP/HTTP spans go for a collector's base URL (``http://host:4318``); a URL
    that names the path already is kept."""
    base = endpoint.rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


@dataclass(frozen=True, slots=True)
class TracingSettings:
    """Tracing is on: ``exporter`` says how spans leave; ``endpoint`` is the collector's
    base URL given by ``--otlp-endpoint`` (None: the ``OTEL_*`` variables say, or the
    exporter's default)."""

    exporter: Exporter = "otlp"
    endpoint: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 endpoint: str | None = None) -> TracingSettings | None:
        """The settings the environment and ``endpoint`` (``--otlp-endpoint``) ask for; None:
        tracing off (the default)."""
        if endpoint:  # the command line's word is the last
            return cls("otlp", endpoint)
        env = os.environ if environ is None else environ
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return None
        chosen = [name.strip().lower() for name in env.get("OTEL_TRACES_EXPORTER", "").split(",")
                  if name.strip()]
        if "none" in chosen:
            return None
        if "otlp" in chosen:
            return cls("otlp")
        if "console" in chosen:
            return cls("console")
        if any(env.get(name) for name in _ENDPOINT_VARS):
            return cls("otlp")
        return None

    def describe(self) -> str:
        """Where spans go, for the line a process prints at start."""
        if self.exporter == "console":
            return "stdout"
        if self.endpoint:
            return traces_url(self.endpoint)
        traces, general = (os.environ.get(name) for name in _ENDPOINT_VARS)
        return traces or traces_url(general or "http://localhost:4318")
