"""The README's pytest example, run as a user would: its files written into an empty project
beside a copy of the definition, and ``python -m pytest`` run there (the plugin arrives
through the package's ``pytest11`` entry point, nothing else registers it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# a marker naming the file, then the fenced block holding it
EXAMPLE = re.compile(r"<!-- readme-example: (\S+) -->\n```[a-z]*\n(.*?)\n```", re.DOTALL)


def readme_files() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Testing your workflows", 1)[1].split("\n## ", 1)[0]
    return {name: body + "\n" for name, body in EXAMPLE.findall(section)}


def test_the_readme_holds_the_three_files_of_the_example() -> None:
    assert sorted(readme_files()) == ["pyproject.toml", "tests/MockConfigFile.json",
                                      "tests/test_onboarding.py"]


def test_the_readme_example_passes_in_a_project_of_its_own(tmp_path: Path) -> None:
    for name, body in readme_files().items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    (tmp_path / "definitions").mkdir()
    for name in ("user-onboarding.yaml", "substitutions.env"):
        shutil.copy(ROOT / "definitions" / name, tmp_path / "definitions" / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^4 passed\b", done.stdout, re.MULTILINE), done.stdout
