#!/usr/bin/env python3
"""Entry point: ``python cli.py --help``.  The same program as the ``statemachine`` script."""

import sys

from statemachine.cli import main

if __name__ == "__main__":
    sys.exit(main())
