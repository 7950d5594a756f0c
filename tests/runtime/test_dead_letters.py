"""Dead letters: a work item whose handling keeps raising is moved aside after
``max_deliveries`` deliveries, listed, and requeued once its cause is fixed.

Real redis-server, Service and in-process Worker; the poison is a corrupt execution record
(its ``r`` field is not JSON), which makes every load raise.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import pytest
import redis.asyncio as aioredis

from statemachine.cli import main as cli_main
from statemachine.errors import InputError, NotFound
from statemachine.runtime.store import keys as K
from statemachine.runtime.worker import Worker
from statemachine.security.keys import API_KEY_ENV
from statemachine.service import Service
from tests.api.client import keyed_app
from tests.api.contract import conforms

T = TypeVar("T")
MAX_DELIVERIES = 3
DONE = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"ok": True}, "End": True}}}


async def eventually(read: Callable[[], Awaitable[T]], ok: Callable[[T], bool],
                     timeout: float = 15.0) -> T:
    """``read()`` again until ``ok`` holds for its value (fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await read()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout} s")
        await asyncio.sleep(0.05)


async def drain(conf: Any, concurrency: int = 4) -> Worker:
    """A worker run until no work is left (a poison item is dead-lettered by then)."""
    worker = Worker(conf.redis_url, conf, concurrency)
    await asyncio.wait_for(worker.run(drain=True), 60)
    return worker


@pytest.fixture
async def parts(redis_url: str, settings: Any) -> AsyncIterator[tuple[Service, aioredis.Redis, Any]]:
    """A Service with short leases and a low delivery limit, a raw client, the settings."""
    conf = settings(lease_ms=300, max_deliveries=MAX_DELIVERIES, stats_flush_ms=100)
    service = await Service.connect(redis_url, settings=conf)
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield service, client, conf
    finally:
        await client.aclose()
        await service.close()


async def test_a_poison_work_item_is_dead_lettered_then_requeued_after_the_fix(
        parts: tuple[Service, aioredis.Redis, Any], caplog: pytest.LogCaptureFixture) -> None:
    service, client, conf = parts
    await service.define("poison", DONE)
    xid = (await service.start("poison", {"n": 1}))["executionId"]  # no worker yet
    shard = service.store.shard(xid)
    good = await client.hget(shard.record(xid), "r")
    await client.hset(shard.record(xid), "r", b"{corrupt")

    caplog.set_level(logging.ERROR, logger="statemachine.runtime.worker")
    worker = await drain(conf)
    page = await eventually(service.dead_letters, lambda p: bool(p["deadLetters"]))
    [letter] = page["deadLetters"]
    conforms("DeadLetterList", page)
    assert page["nextCursor"] is None
    assert letter["id"].startswith(f"{shard.n}-")
    assert (letter["kind"], letter["stream"], letter["group"]) == ("ready", shard.ready, "workers")
    assert letter["executionId"] == xid
    assert json.loads(letter["message"]) == {"x": xid, "e": {"type": "Started"}}
    assert letter["error"].startswith("JSONDecodeError: ")
    assert letter["consumer"] == worker.consumer
    assert abs(letter["at"] - time.time() * 1000) < 60_000

    # Gone from the ready stream: neither waiting nor pending; the execution untouched.
    assert await client.xlen(shard.ready) == 0
    assert (await client.xpending(shard.ready, K.WORKERS_GROUP))["pending"] == 0
    assert await client.hget(shard.record(xid), "status") == b"RUNNING"

    stats = await eventually(service.stats, lambda s: s["dead_lettered_total"] == 1)
    assert stats["dead_letters_current"] == 1
    # One ERROR record per failed delivery; the last one says where the item went.
    messages = [r.getMessage() for r in caplog.records if r.name == "statemachine.runtime.worker"]
    assert sum("it stays pending" in m for m in messages) == MAX_DELIVERIES - 1
    [moved] = [m for m in messages if "moved to" in m]
    assert f"each of {MAX_DELIVERIES} deliveries" in moved and letter["id"] in moved

    await client.hset(shard.record(xid), "r", good)
    requeued = await service.requeue_dead_letter(letter["id"])
    conforms("Requeued", requeued)
    assert (requeued["stream"], requeued["kind"]) == (shard.ready, "ready")
    await drain(conf)
    done = await service.describe(xid)
    assert (done["status"], done["output"]) == ("SUCCEEDED", {"ok": True})
    assert (await service.dead_letters())["deadLetters"] == []
    with pytest.raises(NotFound):
        await service.requeue_dead_letter(letter["id"])  # requeued once only


async def test_a_poison_task_dispatch_is_dead_lettered_from_the_outbox(
        parts: tuple[Service, aioredis.Redis, Any]) -> None:
    service, client, conf = parts
    shard = service.store.shards[2]
    await client.xadd(shard.tasks, {"m": b"not json at all"})
    await drain(conf, 2)
    page = await eventually(service.dead_letters, lambda p: bool(p["deadLetters"]))
    [letter] = page["deadLetters"]
    assert (letter["kind"], letter["group"], letter["shard"]) == ("tasks", "invokers", 2)
    assert (letter["message"], letter["executionId"]) == ("not json at all", None)
    assert (await client.xpending(shard.tasks, K.INVOKERS_GROUP))["pending"] == 0
    assert await client.xlen(shard.tasks) == 0


async def test_listing_pages_newest_first_over_the_shards(
        parts: tuple[Service, aioredis.Redis, Any]) -> None:
    service, client, _ = parts
    made = []
    for n, ms, seq in [(0, 1000, 0), (0, 3000, 0), (1, 2000, 5), (1, 3000, 0), (5, 500, 0),
                       (5, 2000, 5), (9, 4000, 1)]:  # ascending per stream, as XADD requires
        shard = service.store.shards[n]
        await client.xadd(shard.dead, {"stream": shard.ready, "group": "workers", "id": "1-0",
                                       "m": b'{"x":"e","e":{"type":"Started"}}', "error": "E: x",
                                       "consumer": "c", "at": ms}, id=f"{ms}-{seq}")
        made.append(((ms, seq, n), f"{n}-{ms}-{seq}"))
    expected = [dead_id for _, dead_id in sorted(made, reverse=True)]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await service.dead_letters(limit=2, cursor=cursor)
        seen += [letter["id"] for letter in page["deadLetters"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == expected
    assert [x["id"] for x in (await service.dead_letters(limit=100))["deadLetters"]] == expected


async def test_malformed_and_unknown_ids(parts: tuple[Service, aioredis.Redis, Any]) -> None:
    service, _, _ = parts
    for bad in ("nope", "1-2", "a-1-0", "", "1-1-1-1"):
        with pytest.raises(InputError) as refused:
            await service.requeue_dead_letter(bad)
        assert refused.value.status == 400 and refused.value.code == "InvalidDeadLetterId"
    for unknown in ("0-1-0", "9999-1-0"):
        with pytest.raises(NotFound):
            await service.requeue_dead_letter(unknown)
    with pytest.raises(InputError):
        await service.dead_letters(cursor="garbage")


async def test_rest_routes_and_the_command_line(parts: tuple[Service, aioredis.Redis, Any],
                                                capsys: pytest.CaptureFixture[str],
                                                serve_app: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    service, client, _ = parts
    shard = service.store.shards[1]
    message = b'{"x":"missing","e":{"type":"Started"}}'
    await client.xadd(shard.dead, {"stream": shard.ready, "group": "workers", "id": "7-0",
                                   "m": message, "error": "KeyError: 'x'", "consumer": "w:1",
                                   "at": 1_764_121_200_000}, id="1764121200000-0")
    app, headers = await keyed_app(service)
    monkeypatch.setenv(API_KEY_ENV, headers["Authorization"].removeprefix("Bearer "))
    async with serve_app(app) as base:
        # The API is served by this event loop, so the (blocking) command line runs in a thread.
        code = await asyncio.to_thread(cli_main, ["dead-letters", "--api", base])
        listed = json.loads(capsys.readouterr().out)
        assert code == 0
        assert [x["id"] for x in listed["deadLetters"]] == ["1-1764121200000-0"]
        assert listed["deadLetters"][0]["error"] == "KeyError: 'x'"

        code = await asyncio.to_thread(cli_main, ["dead-letters", "--api", base,
                                                  "--requeue", "1-1764121200000-0"])
        requeued = json.loads(capsys.readouterr().out)
        assert code == 0 and requeued["kind"] == "ready"
        [(new_id, fields)] = await client.xrange(shard.ready)
        assert new_id.decode() == requeued["entryId"]
        assert fields == {b"m": message, b"requeued": b"1"}
        assert await client.xlen(shard.dead) == 0

        code = await asyncio.to_thread(cli_main, ["dead-letters", "--api", base,
                                                  "--requeue", "1-1764121200000-0"])
        refused = capsys.readouterr()
        assert code == 1 and json.loads(refused.err)["error"] == "DeadLetterDoesNotExist"

        async with aiohttp.ClientSession(base, headers=headers) as http:
            async with http.post("/v1/dead-letters/1-1764121200000-0/requeue") as response:
                assert response.status == 404
                assert (await response.json())["error"] == "DeadLetterDoesNotExist"
            async with http.post("/v1/dead-letters/not-an-id/requeue") as response:
                assert response.status == 400
                assert (await response.json())["error"] == "InvalidDeadLetterId"
            async with http.get("/v1/dead-letters", params={"limit": "0"}) as response:
                assert response.status == 400
            async with http.get("/v1/dead-letters") as response:
                assert response.status == 200
                assert await response.json() == {"deadLetters": [], "nextCursor": None}


async def test_a_requeued_dispatch_whose_execution_moved_on_is_dropped_unperformed(
        parts: tuple[Service, aioredis.Redis, Any], serve_app: Any) -> None:
    """A requeued task dispatch is checked against its execution first (like one taken over
    from another worker): here the execution has finished, so no request is sent."""
    from aiohttp import web

    service, client, conf = parts
    hits: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    async with serve_app(app) as base:
        await service.define("done", DONE)
        xid = (await service.start("done", {}))["executionId"]
        shard = service.store.shard(xid)
        dispatch = {"x": xid, "c": {"type": "InvokeTask", "token": "stale-token",
                                    "resource": f"{base}/late", "input": {}, "state": "Done",
                                    "entered": 2, "idempotency_key": "k", "attempt": 0,
                                    "timeout_s": None, "heartbeat_s": None, "credentials": None}}
        dead = await client.xadd(shard.dead, {
            "stream": shard.tasks, "group": K.INVOKERS_GROUP, "id": "1-0",
            "m": json.dumps(dispatch), "error": "E: x", "consumer": "c", "at": 1})
        await drain(conf, 2)
        assert (await service.describe(xid))["status"] == "SUCCEEDED"
        await service.requeue_dead_letter(f"{shard.n}-{dead.decode()}")
        await drain(conf, 2)
        await eventually(lambda: client.xlen(shard.tasks), lambda n: n == 0)
    assert hits == []
    assert (await client.xpending(shard.tasks, K.INVOKERS_GROUP))["pending"] == 0


async def test_a_result_that_cannot_be_applied_is_never_fetched_again_and_stalls_visibly(
        parts: tuple[Service, aioredis.Redis, Any], serve_app: Any) -> None:
    """Applying a task's result raises (here: a record missing a field, as a bug would leave
    it): the result is handed to the ready stream instead of the dispatch being delivered
    again, so the service is called once; once dead-lettered, the execution shows
    ``stalled`` in describe, over REST and in ``/metrics``; requeued after the fix, it
    finishes with that very result and the mark is gone."""
    from aiohttp import web

    service, client, conf = parts
    calls: list[str] = []
    saved: dict[str, Any] = {}

    async def pay(request: web.Request) -> web.Response:
        calls.append(request.path)
        key = service.store.shard(saved["xid"]).record(saved["xid"])
        raw, rev = await client.hmget(key, ["r", "rev"])
        saved.update(r=raw, rev=rev)
        broken = json.loads(raw)
        del broken["seq"]
        broken["rev"] += 1  # a newer revision: the worker's commit is refused and it reloads
        await client.hset(key, mapping={"r": json.dumps(broken), "rev": broken["rev"]})
        return web.json_response({"paid": 12})

    app = web.Application()
    app.router.add_post("/pay", pay)
    api_app, headers = await keyed_app(service)
    async with serve_app(app) as base, serve_app(api_app) as api:
        await service.define("pay", {"StartAt": "Pay", "States": {
            "Pay": {"Type": "Task", "Resource": f"{base}/pay", "End": True}}})
        xid = saved["xid"] = (await service.start("pay", {}))["executionId"]
        shard = service.store.shard(xid)
        await drain(conf)
        [letter] = (await eventually(service.dead_letters,
                                     lambda p: bool(p["deadLetters"])))["deadLetters"]
        assert (letter["kind"], letter["executionId"]) == ("ready", xid)
        handed = json.loads(letter["message"])["e"]
        assert (handed["type"], handed["output"]) == ("TaskSucceeded", {"paid": 12})
        assert letter["error"].startswith("KeyError")
        assert calls == ["/pay"]  # neither the dispatch nor the handed-over result re-sent it
        assert await client.xlen(shard.tasks) == 0

        async with aiohttp.ClientSession(api, headers=headers) as http:
            async with http.get(f"/v1/executions/{xid}") as response:
                described = await response.json()
            conforms("Execution", described)
            assert (described["status"], described["stalled"]) == ("RUNNING", True)
            [stall] = described["stalledBy"]
            assert (stall["id"], stall["error"]) == (letter["id"], letter["error"])
            async with http.get("/metrics") as response:
                assert "statemachine_executions_stalled_current 1" in await response.text()

            await client.hset(shard.record(xid), mapping={"r": saved["r"], "rev": saved["rev"]})
            async with http.post(f"/v1/dead-letters/{letter['id']}/requeue") as response:
                assert response.status == 200
            await drain(conf)
            async with http.get(f"/v1/executions/{xid}") as response:
                done = await response.json()
            assert (done["status"], done["output"], done["stalled"]) == ("SUCCEEDED", {"paid": 12},
                                                                         False)
            assert "stalledBy" not in done
            async with http.get("/metrics") as response:
                assert "statemachine_executions_stalled_current 0" in await response.text()
    assert calls == ["/pay"]
