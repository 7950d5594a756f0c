"""The image test's fixture: an engine, the stand-in base and the built image
(:mod:`tests.image.prepare`, which a whole ``cli.py test`` run has usually done already in
the background); skipped, saying why, only where no Docker engine can start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.image.engine import EngineUnavailable, stop_ours
from tests.image.prepare import LOG, Prepared, prepare


@pytest.fixture(scope="session")
def prepared() -> Iterator[Prepared]:
    try:
        ready = prepare(say=print)  # shown with a failing test's captured output
    except EngineUnavailable as exc:
        pytest.skip(f"no Docker engine can start here: {exc}"
                    + (f" (cli.py test's preparation logged to {LOG})" if LOG.exists() else ""))
    yield ready
    if ready.engine.started:
        stop_ours()
