#!/usr/bin/env python3
"""Entry point: ``python3 cli.py --help``.  The same program as the ``statemachine`` script.

Once ``cli.py up`` or ``cli.py test`` has made ``.venv/``, any ``python3 cli.py ...`` runs
inside it (re-executing itself there), so a newcomer never has to activate anything.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"

if (
    (VENV / "bin" / "python").exists()
    and Path(sys.prefix).resolve() != VENV.resolve()
    and not os.environ.get("STATEMACHINE_NO_VENV")
):
    python = str(VENV / "bin" / "python")
    os.execv(python, [python, str(HERE / "cli.py"), *sys.argv[1:]])

from statemachine.cli import main

if __name__ == "__main__":
    sys.exit(main())
