"""The image test's fixture: an engine, the stand-in base and the built image
(:mod:`tests.image.prepare`, which a whole ``cli.py test`` run has usually done already in
the background); skipped, saying why, only where no Docker engine can start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.image.engine import EngineUnavailable, stop_ours
from tests.image.prepare import LOG, Prepared, prepare

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The image tests last: a whole ``cli.py test`` run's preparation in the background (a
    few minutes on a new machine) then overlaps the rest of the suite."""
    items.sort(key=lambda item: item.path.is_relative_to(HERE))  # stable: the rest in order


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
