"""A bench's helper server in a child process of its own (the echo service, the OTLP sink),
so that its work does not share the bench process's event loop and CPU accounting."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["child_server"]


@asynccontextmanager
async def child_server(module: str, what: str) -> AsyncIterator[str]:
    """Run ``python -m module``, which prints the loopback port it serves on as its first
    line; yields its base URL and stops it at the end."""
    proc = subprocess.Popen(  # noqa: ASYNC220 -- the server runs for the whole workload
        [sys.executable, "-m", module], stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
        if not line.strip().isdigit():
            raise RuntimeError(f"the bench's {what} did not start")
        yield f"http://127.0.0.1:{int(line)}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
