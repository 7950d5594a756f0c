"""A stand-in OpenTelemetry collector: ``POST /v1/traces`` (OTLP/HTTP, protobuf) decoded
and kept, for ``cli.py bench --trace`` (what tracing costs, with the spans really sent and
received) and for the tests that assert the span tree a run exports.

Each span is kept as a :class:`ReceivedSpan` (ids as hex, its service's name); with
``keep=False`` only counted (``GET /count``).  :meth:`OtlpSink.app` is an aiohttp
application for whoever serves it; ``python -m statemachine.bench.otlp_sink`` serves a
counting one on a free loopback port and prints the port, and :func:`sink_service` runs
that process, like the bench's echo service (:mod:`.echo`), so that receiving spans takes
nothing from the load generator.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from statemachine.bench.child import child_server

__all__ = ["OtlpSink", "ReceivedSpan", "sink_service"]

PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True, slots=True)
class ReceivedSpan:
    """One span as a collector received it.  ``parent_id`` is "" for a root; ``kind`` is
    OTLP's (1 internal, 2 server, 3 client); ``status`` 2 is an error."""

    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    links: tuple[tuple[str, str], ...]
    status: int
    status_message: str


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return None if kind is None else getattr(value, kind)


class OtlpSink:
    """Keeps (or counts) the spans POSTed to its ``/v1/traces``."""

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self.spans: list[ReceivedSpan] = []
        self.received = 0
        self.requests = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 << 20)
        app.router.add_post("/v1/traces", self._export)
        app.router.add_get("/count", self._count)
        return app

    async def _count(self, request: web.Request) -> web.Response:
        return web.json_response({"spans": self.received, "requests": self.requests})

    async def _export(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        if request.content_type != PROTOBUF:
            return web.json_response({"error": f"only {PROTOBUF} is understood"}, status=415)
        export = ExportTraceServiceRequest()
        export.ParseFromString(body)
        self.requests += 1
        for resource_spans in export.resource_spans:
            service = next((_value(a.value) for a in resource_spans.resource.attributes
                            if a.key == "service.name"), "")
            for scope in resource_spans.scope_spans:
                self.received += len(scope.spans)
                if self.keep:
                    self.spans += [ReceivedSpan(
                        str(service), s.name, s.trace_id.hex(), s.span_id.hex(),
                        s.parent_span_id.hex(), s.kind, s.start_time_unix_nano,
                        s.end_time_unix_nano, {a.key: _value(a.value) for a in s.attributes},
                        tuple((link.trace_id.hex(), link.span_id.hex()) for link in s.links),
                        s.status.code, s.status.message) for s in scope.spans]
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                            content_type=PROTOBUF)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        """The spans of one trace received so far."""
        return [s for s in self.spans if s.trace_id == trace_id]


@asynccontextmanager
async def sink_service() -> AsyncIterator[tuple[str, Callable[[], Awaitable[int]]]]:
    """A counting sink in a child process; yields its base URL and an async count of the
    spans it received so far."""
    async with child_server("statemachine.bench.otlp_sink", "OTLP sink") as base:
        async def count() -> int:
            async with aiohttp.ClientSession() as session, session.get(f"{base}/count") as resp:
                return int((await resp.json())["spans"])

        yield base, count


async def _serve() -> None:
    runner = web.AppRunner(OtlpSink(keep=False).app(), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve())
