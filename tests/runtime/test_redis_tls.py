"""An external Redis over TLS (``rediss://``): every connection the runtime opens honours
the URL's ``ssl_*`` parameters — the store's pool, the lean pipelined connection of starts
and commits, the timers' pub/sub, the bench probes.

The server listens on a TLS port only (``--port 0``), with a certificate signed by a CA
made here, so a connection that skipped TLS or ignored the CA could not work at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp import web

from statemachine.runtime.settings import Settings
from statemachine.runtime.store import RedisStore, Refused
from statemachine.runtime.store.probes import Probe
from statemachine.runtime.store.resp import RespConnection
from statemachine.service import Service
from tests.conftest import free_port
from tests.runtime.redis_servers import Server, TlsFiles, make_tls_files


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, TlsFiles]]:
    folder = tmp_path_factory.mktemp("redis-tls")
    files = make_tls_files(folder)
    port = free_port()
    server = Server(folder, [
        "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(files.cert),
        "--tls-key-file", str(files.key), "--tls-ca-cert-file", str(files.ca),
        "--tls-auth-clients", "optional"], f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={files.ca}")
    yield port, files
    server.stop()


@pytest.fixture
def redis_url(tls: tuple[int, TlsFiles]) -> str:
    """The TLS server's URL (what the ``runtime`` and ``settings`` fixtures use here), flushed."""
    port, files = tls
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={files.ca}&ssl_cert_reqs=required"
    with redis.Redis.from_url(url) as client:
        client.flushall()
    return url


async def test_an_execution_runs_over_tls_through_a_worker(runtime: Any, serve_app: Any,
                                                           redis_url: str) -> None:
    calls: list[dict[str, Any]] = []

    async def charge(request: web.Request) -> web.Response:
        calls.append(await request.json())
        return web.json_response({"charged": True})

    app = web.Application()
    app.router.add_post("/charge", charge)
    async with serve_app(app) as base, runtime(worker=True, concurrency=4) as rt:
        # the starts' and commits' lean connection speaks TLS too (no fallback)
        assert RespConnection.like(rt.service.store.core.client) is not None
        await rt.service.define("paid", {"StartAt": "Charge", "States": {
            "Charge": {"Type": "Task", "Resource": f"{base}/charge", "Next": "Settle"},
            "Settle": {"Type": "Wait", "Seconds": 1, "Next": "Done"},  # a timer: pub/sub
            "Done": {"Type": "Pass", "End": True}}})
        started = await rt.service.start("paid", {"amount": 12})
        done = await rt.finished(started["executionId"])
    assert done["status"] == "SUCCEEDED", done
    assert done["output"] == {"charged": True} and calls == [{"amount": 12}]


async def test_the_bench_probes_use_tls(redis_url: str) -> None:
    probe = Probe(redis_url)
    try:
        assert await probe.rtt_rate(0.05) > 0
        assert await probe.used_memory() > 0
    finally:
        await probe.close()


async def test_a_certificate_that_does_not_verify_is_refused_at_once(
        tls: tuple[int, TlsFiles]) -> None:
    port, _ = tls
    url = f"rediss://127.0.0.1:{port}/0"  # no CA: the test CA is unknown to the system
    began = time.monotonic()
    with pytest.raises(Refused, match="TLS connection to Redis failed.*certificate verify failed"):
        await RedisStore.connect(Settings.from_env(redis_url=url))
    assert time.monotonic() - began < 5  # not the 30 s of waiting out an outage
    with pytest.raises(Refused, match="TLS"):
        await Service.connect(url)


async def test_a_client_certificate_in_the_url_is_presented_by_every_connection(
        tmp_path: Path) -> None:
    """A server that demands client certificates (mutual TLS): starts (the lean connection)
    and reads (the pool) work with the URL's ``ssl_certfile``/``ssl_keyfile``, and a URL
    without them is refused."""
    files = make_tls_files(tmp_path)
    port = free_port()
    base = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={files.ca}"
    url = f"{base}&ssl_certfile={files.cert}&ssl_keyfile={files.key}"
    server = Server(tmp_path, [
        "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(files.cert),
        "--tls-key-file", str(files.key), "--tls-ca-cert-file", str(files.ca),
        "--tls-auth-clients", "yes"], url)
    try:
        service = await Service.connect(url, settings=Settings.from_env(redis_url=url))
        try:
            assert RespConnection.like(service.store.core.client) is not None
            await service.define("p", {"StartAt": "P", "States": {"P": {"Type": "Pass",
                                                                        "End": True}}})
            started = await service.start("p", {})
            assert (await service.describe(started["executionId"]))["status"] == "RUNNING"
        finally:
            await service.close()
        with pytest.raises(Refused, match="TLS"):
            await Service.connect(base, settings=Settings.from_env(redis_url=base))
    finally:
        server.stop()
