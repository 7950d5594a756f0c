"""The Service facade: definitions, idempotent start, bad requests, callbacks, activities."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from statemachine.errors import (
    Conflict,
    DefinitionError,
    InputError,
    InvalidToken,
    NotFound,
    TaskTimedOut,
)
from statemachine.service import Service

HELLO = {"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "End": True}}}


async def test_definitions_are_validated_and_versioned(redis_url: str, settings: Any) -> None:
    service = await Service.connect(redis_url, settings=settings())
    try:
        assert (await service.define("hello", HELLO))["version"] == 1
        yaml_text = "StartAt: Hi\nStates:\n  Hi:\n    Type: Pass\n    Result: ${greeting}\n    End: true\n"
        second = await service.define("hello", yaml_text, {"greeting": "hey"})
        assert second["version"] == 2 and second["definition"]["States"]["Hi"]["Result"] == "hey"
        assert (await service.get_machine("hello", 1))["definition"] == HELLO
        assert [(m["name"], m["version"]) for m in await service.list_machines()] == [("hello", 2)]
        with pytest.raises(DefinitionError):
            await service.define("broken", {"StartAt": "Nowhere", "States": {}})
        with pytest.raises(NotFound):
            await service.get_machine("broken")
        with pytest.raises(InputError):
            await service.define("bad name", HELLO)
    finally:
        await service.close()


async def test_start_is_idempotent_by_name_and_checks_its_input(redis_url: str,
                                                                 settings: Any) -> None:
    service = await Service.connect(redis_url, settings=settings())
    try:
        await service.define("hello", HELLO)
        first = await service.start("hello", {"a": 1}, name="once")
        again = await service.start("hello", {"a": 1}, name="once")
        assert first["created"] and not again["created"]
        assert again["executionId"] == first["executionId"]
        with pytest.raises(Conflict):
            await service.start("hello", {"a": 2}, name="once")
        unnamed = await service.start("hello")
        assert unnamed["name"] == unnamed["executionId"] and len(unnamed["executionId"]) == 36
        with pytest.raises(InputError):
            await service.start("hello", {"blob": "x" * (256 * 1024)})
        with pytest.raises(InputError):
            await service.start("hello", {}, name="n" * 81)
        with pytest.raises(NotFound):
            await service.start("nobody", {})
        with pytest.raises(NotFound):
            await service.describe("no-such-execution")
        listed = await service.list_executions(machine="hello", limit=1)
        assert len(listed["executions"]) == 1 and listed["nextCursor"]
        rest = await service.list_executions(machine="hello", limit=10, cursor=listed["nextCursor"])
        seen = {e["executionId"] for e in listed["executions"] + rest["executions"]}
        assert seen == {first["executionId"], unnamed["executionId"]} and rest["nextCursor"] is None
    finally:
        await service.close()


def callback_machine(base: str) -> dict[str, Any]:
    return {"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": f"{base}/ask.waitForTaskToken", "TimeoutSeconds": 30,
                "Parameters": {"token.$": "$$.Task.Token"}, "End": True}}}


async def callback_service() -> tuple[web.Application, asyncio.Queue[str]]:
    tokens: asyncio.Queue[str] = asyncio.Queue()

    async def ask(request: web.Request) -> web.Response:
        await tokens.put((await request.json())["token"])
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/ask", ask)
    return app, tokens


async def test_callbacks_success_repeat_late_and_invalid(runtime: Any, serve_app: Any) -> None:
    app, tokens = await callback_service()
    async with serve_app(app) as base, runtime() as rt:
        service = rt.service
        await service.define("cb", callback_machine(base))
        started = await service.start("cb", {})
        await rt.drain()  # the task is sent; the execution waits for its callback
        token = await asyncio.wait_for(tokens.get(), 10)
        await service.send_task_success(token, {"answer": 42})
        with pytest.raises(TaskTimedOut):
            await service.send_task_success(token, {"answer": 43})
        done = await rt.finished(started["executionId"])
        assert done["status"] == "SUCCEEDED" and done["output"] == {"answer": 42}
        types = [e["type"] for e in await rt.events(started["executionId"])]
        assert types.count("TaskSucceeded") == 1
        with pytest.raises(TaskTimedOut):
            await service.send_task_failure(token, "Late", "after the end")
        with pytest.raises(InvalidToken):
            await service.send_task_success("not-a-token", {})
        forged = token.rsplit(".", 1)[0] + "." + "0" * 32
        with pytest.raises(InvalidToken):
            await service.send_task_heartbeat(forged)


async def test_callback_failure_and_stop_closes_the_task(runtime: Any, serve_app: Any) -> None:
    app, tokens = await callback_service()
    async with serve_app(app) as base, runtime() as rt:
        service = rt.service
        await service.define("cb", callback_machine(base))
        failing = await service.start("cb", {})
        await rt.drain()
        await service.send_task_failure(await asyncio.wait_for(tokens.get(), 10), "Declined", "no")
        done = await rt.finished(failing["executionId"])
        assert (done["status"], done["error"], done["cause"]) == ("FAILED", "Declined", "no")
        stopped = await service.start("cb", {})
        await rt.drain()
        token = await asyncio.wait_for(tokens.get(), 10)
        await service.stop(stopped["executionId"])
        assert (await rt.finished(stopped["executionId"]))["status"] == "ABORTED"
        with pytest.raises(TaskTimedOut):
            await service.send_task_success(token, {})


async def test_activity_poll_and_complete(runtime: Any) -> None:
    async with runtime() as rt:
        service = rt.service
        activity = await service.create_activity("review")
        assert activity["activityArn"].endswith(":activity:review")
        assert await service.poll_activity("review", timeout=0.1) is None
        with pytest.raises(NotFound):
            await service.poll_activity("nobody", timeout=0.1)
        await service.define("reviewed", {"StartAt": "Review", "States": {
            "Review": {"Type": "Task", "Resource": activity["activityArn"], "End": True}}})
        started = await service.start("reviewed", {"doc": 7})
        await rt.drain()  # the activity task is queued for its pollers
        task = await service.poll_activity("review", timeout=10)
        assert task is not None and task["input"] == {"doc": 7}
        await service.send_task_success(task["taskToken"], {"ok": True})
        done = await rt.finished(started["executionId"])
        assert done["status"] == "SUCCEEDED" and done["output"] == {"ok": True}
