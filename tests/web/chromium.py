"""Headless Chromium: one-shot runs (``--dump-dom``, ``--screenshot``) and :class:`Browser`, a
page kept open and driven over the DevTools protocol (for clicks, form input and dialogs,
which a one-shot run cannot do), which also collects what the page logs as an error."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import pytest

from tests.web.dom import Element, parse

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-dev-shm-usage")


async def chromium(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium once (isolated profile, no network but the page's own)."""
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing (python3 cli.py test installs it)")
    profile = tmp_path / "profile"
    profile.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "HOME": str(tmp_path)},
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


async def dump_dom(url: str, tmp_path: Path, *, screenshot: Path | None = None) -> Element:
    """The page's DOM after its scripts ran and its API calls answered (and a 1280x800 PNG)."""
    extra = [f"--screenshot={screenshot}", "--window-size=1280,800",
             "--hide-scrollbars"] if screenshot is not None else []
    return parse(await chromium(tmp_path, "--dump-dom", "--virtual-time-budget=5000", *extra, url))


class DumpDom(Protocol):
    """The ``dump_dom`` fixture: the dashboard at ``/ui/`` + ``fragment``, rendered once."""

    async def __call__(self, fragment: str = "", *, screenshot: Path | None = None) -> Element: ...


class Browser:
    """One headless Chromium page driven over the DevTools protocol (a WebSocket).

    ``errors`` collects what the page reports as an error while commands run: uncaught
    exceptions, ``console.error`` calls, and log entries such as a failed request or a
    Content-Security-Policy violation.
    """

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.last_id = 0
        self.errors: list[str] = []

    async def command(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        await self.ws.send_json({"id": self.last_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message.get("id") == self.last_id:
                assert "error" not in message, message
                return dict(message.get("result", {}))
            self._note(message.get("method"), message.get("params", {}))

    def _note(self, event: str | None, params: dict[str, Any]) -> None:
        if event == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(str(details.get("exception", {}).get("description")
                                   or details.get("text")))
        elif event == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(" ".join(str(arg.get("value", arg.get("description")))
                                        for arg in params.get("args", [])))
        elif event == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"{entry.get('text')} {entry.get('url', '')}".strip())

    async def eval(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page (promises awaited)."""
        result = await self.command("Runtime.evaluate", expression=expression,
                                    awaitPromise=True, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    async def open(self, url: str) -> None:
        await self.command("Page.navigate", url=url)

    async def until(self, expression: str, timeout: float = 15.0) -> Any:
        """Poll until the expression is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.eval(expression)
            if value or time.monotonic() > deadline:
                assert value, f"never true: {expression}"
                return value
            await asyncio.sleep(0.05)


@asynccontextmanager
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    """A Chromium child with remote debugging on a free port, closed afterwards."""
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing (python3 cli.py test installs it)")
    profile = tmp_path / "cdp-profile"
    profile.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
        "--window-size=1280,800", "about:blank",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, env={**os.environ, "HOME": str(tmp_path)},
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or "\n" not in port_file.read_text():
            assert time.monotonic() < deadline and proc.returncode is None, "chromium did not start"
            await asyncio.sleep(0.05)
        port = port_file.read_text().split()[0]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            page = next(t for t in targets if t["type"] == "page")
            async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                opened = Browser(ws)
                await opened.command("Runtime.enable")
                await opened.command("Log.enable")
                yield opened
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
