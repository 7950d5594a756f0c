"""Tools for testing workflows: runs with mocks on a virtual clock, record and replay.

For a user's own test suite::

    from statemachine.testing import run

    result = run("definitions/orders.yaml", {"id": 1}, mocks="MockConfigFile.json",
                 case="HappyPath")
    result.assert_succeeded()
    result.assert_path("Charge", "Ship", "Notify")

:func:`run` (and :func:`run_async` inside an event loop) in :mod:`.harness`, the
:class:`RunResult` it returns in :mod:`.result`, the pytest plugin's ``workflow`` fixture in
:mod:`.plugin`.  The names are loaded on first use, so pytest loading the plugin (installed
with the package) costs a suite nothing until a test runs a workflow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from statemachine.testing.engine import SetupError
    from statemachine.testing.harness import run, run_async
    from statemachine.testing.result import RunResult, TaskCall

__all__ = ["RunResult", "SetupError", "TaskCall", "run", "run_async"]

_HOMES = {
    "SetupError": "statemachine.testing.engine",
    "run": "statemachine.testing.harness",
    "run_async": "statemachine.testing.harness",
    "RunResult": "statemachine.testing.result",
    "TaskCall": "statemachine.testing.result",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
