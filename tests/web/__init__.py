"""Tests of the dashboard: the real API (redis-server, Service, Worker) driven by headless Chromium.

Helpers: a small DOM parsed from ``--dump-dom`` output, one-shot Chromium runs, and
:class:`Browser`, a Chromium kept open and driven over the DevTools protocol (for clicks,
form input and dialogs, which a one-shot run cannot do).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.api import Api

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-dev-shm-usage")


# a small DOM ------------------------------------------------------------------------------


@dataclass
class Element:
    """One element of the dumped DOM with its attributes, children and text."""

    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(self.texts) + "".join(child.text() for child in self.children)

    def walk(self) -> list[Element]:
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found

    def find_all(self, tag: str | None = None, cls: str | None = None,
                 **attrs: str) -> list[Element]:
        return [e for e in self.walk()
                if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)
                and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def by_id(self, element_id: str) -> Element:
        found = self.find_all(id=element_id)
        assert found, f"no element #{element_id}"
        return found[0]


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].texts.append(data)


def parse(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


# Chromium ---------------------------------------------------------------------------------


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


async def dump_dom(api: Api, tmp_path: Path, fragment: str = "", *,
                   screenshot: Path | None = None) -> Element:
    """The page's DOM after its scripts ran and its API calls answered (and a 1280x800 PNG)."""
    url = str(api.client.make_url("/ui/")) + fragment
    extra = [f"--screenshot={screenshot}", "--window-size=1280,800",
             "--hide-scrollbars"] if screenshot is not None else []
    return parse(await chromium(tmp_path, "--dump-dom", "--virtual-time-budget=5000", *extra, url))



class Browser:
    """One headless Chromium page driven over the DevTools protocol (a WebSocket)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.last_id = 0

    async def command(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        await self.ws.send_json({"id": self.last_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message.get("id") == self.last_id:
                assert "error" not in message, message
                return dict(message.get("result", {}))

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
                yield Browser(ws)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
