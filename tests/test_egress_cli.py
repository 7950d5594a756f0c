"""``cli.py serve`` and ``cli.py worker`` refuse malformed egress rules before anything else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(project_root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(project_root / "cli.py"), *args],
                          check=False, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, cwd=project_root)


def test_malformed_egress_rules_stop_the_commands(project_root: Path) -> None:
    worker = run(project_root, "worker", "--egress-deny", "not a host")
    assert worker.returncode == 2 and "bad egress deny rule" in worker.stderr
    serve = run(project_root, "serve", "--egress-allow", "10.0.0.0/40")
    assert serve.returncode == 2 and "bad egress allow rule" in serve.stderr
    from_env = run(project_root, "worker", env={"STATEMACHINE_EGRESS_ALLOW": "ok.example, [::1"})
    assert from_env.returncode == 2 and "'[::1'" in from_env.stderr
