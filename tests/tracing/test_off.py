"""Tracing off (the default) costs nothing: no pipeline is built or even imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from statemachine.runtime.settings import Settings
from statemachine.runtime.tracing.config import TracingSettings
from statemachine.runtime.worker.worker import _tracer

ROOT = Path(__file__).resolve().parents[2]


def test_off_by_default_nothing_is_imported_or_built() -> None:
    check = ("import sys; from statemachine.runtime.worker import Worker; "
             "import statemachine.api.app, statemachine.cli.serve; "
             "assert Worker().settings.tracing is None; "
             "assert 'statemachine.runtime.tracing.exporter' not in sys.modules")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}  # no OTEL_* variable
    done = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert _tracer(Settings(), "host:1") is None


def test_on_a_worker_builds_its_pipeline_and_stops_it() -> None:
    tracer = _tracer(Settings(tracing=TracingSettings("console")), "host:1")
    assert tracer is not None and tracer.where == "stdout"
    tracer.shutdown()
