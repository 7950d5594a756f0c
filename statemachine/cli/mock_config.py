"""``serve --mock-config F`` and ``worker --mock-config F``: the option, its loading, its check.

The file is a mock config in Step Functions Local's format (``MockConfigFile.json``; default
``$STATEMACHINE_MOCK_CONFIG``).  It is loaded once, at start, into
``Settings.mock_config`` for the API (a start may name one of its test cases) and the workers
(they answer the mocked states); ``serve`` and every ``worker`` must be given the same file.
A file that cannot be read or parsed, or (``serve``) a test case that mocks a state its
registered machine has no Task state of, stops the command with one line naming the file,
machine, case and state (exit 2).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

__all__ = ["MOCK_CONFIG_ENV", "add_mock_config_argument", "check_mock_config",
           "load_mock_config_option"]

MOCK_CONFIG_ENV = "STATEMACHINE_MOCK_CONFIG"


def add_mock_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mock-config", metavar="F", default=os.environ.get(MOCK_CONFIG_ENV),
                        help="a mock config in Step Functions Local's format (MockConfigFile."
                        "json): a start on '<stateMachineArn>#<TestCase>' (REST: testCase) runs "
                        "with that test case, its mocked states answered from the file "
                        f"(default: ${MOCK_CONFIG_ENV}; serve and its workers must share it)")


def load_mock_config_option(args: argparse.Namespace) -> str | None:
    """Load ``--mock-config`` into ``args.mocks`` (None without one); else a problem's line."""
    from statemachine.language.mocks import MockConfigError
    from statemachine.runtime.mocking import load_mock_config

    args.mocks = None
    if args.mock_config:
        try:
            args.mocks = load_mock_config(args.mock_config)
        except MockConfigError as exc:
            return str(exc)
        except OSError as exc:
            return f"{args.mock_config}: {exc.strerror or exc}"
    return None


async def check_mock_config(args: argparse.Namespace, service: Any) -> str | None:
    """The loaded config's first test case that does not fit its registered machine, as a
    line to print (None: all fit, or no config)."""
    from statemachine.service.mocks import mock_config_problem

    mocks = getattr(args, "mocks", None)
    return None if mocks is None else await mock_config_problem(service, mocks)
