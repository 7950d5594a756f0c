"""``cli.py serve`` with its private redis-server, as a user finds it after a run: the
data folder private, the server asking for a password that no log and no command line
shows, and ``cli.py worker`` joining it through ``redis.url`` with no option."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from tests.api.samples import HELLO_YAML
from tests.api.test_cli import CLI, _cli, _env, _wait_healthy
from tests.conftest import free_port
from tests.runtime.redis_servers import assert_private


def test_serve_keeps_its_redis_private_and_a_worker_joins_it(tmp_path: Path) -> None:
    definitions = tmp_path / "defs"
    definitions.mkdir()
    (definitions / "hello.yaml").write_text(HELLO_YAML)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        serve = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", "0",
                                  "--definitions", str(definitions)], cwd=tmp_path, env=_env(),
                                 stdout=out, stderr=subprocess.STDOUT, text=True)
    data = tmp_path / ".statemachine"
    try:
        _wait_healthy(base, serve)
        url = (data / "redis.url").read_text().strip()
        password = (data / "redis.password").read_text().strip()
        assert f":{password}@" in url
        redis_pid = int((data / "redis.pid").read_text())
        assert password.encode() not in Path(f"/proc/{redis_pid}/cmdline").read_bytes()
        redis_port = url.rsplit(":", 1)[1].split("/")[0]
        ping = subprocess.run(["redis-cli", "-p", redis_port, "ping"], capture_output=True,
                              text=True, timeout=10, check=False)
        assert "NOAUTH" in ping.stdout + ping.stderr

        started = _cli("start", "hello", "--api", base, cwd=tmp_path)
        assert started.returncode == 0, started.stderr
        execution_id = json.loads(started.stdout)["executionId"]
        # no --redis-url, no REDIS_URL: the worker reads .statemachine/redis.url
        worker = _cli("worker", "--drain", cwd=tmp_path, timeout=60)
        assert worker.returncode == 0, worker.stderr
        assert password not in worker.stderr and "redis://:***@127.0.0.1" in worker.stderr
        deadline = time.monotonic() + 10
        while True:
            described = json.loads(_cli("describe", execution_id, "--api", base,
                                        cwd=tmp_path).stdout)
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert described["status"] == "SUCCEEDED", described
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
    assert serve.returncode == 0, log.read_text()
    assert password not in log.read_text()
    assert_private(data)  # after a run: the AOF folder and files, log, pid, lock...
    assert (data / "appendonlydir").is_dir()
