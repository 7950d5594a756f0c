"""The core is pure: language/ and interpreter/ import no I/O, clock or randomness."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "statemachine"
FORBIDDEN = {
    "asyncio", "time", "random", "uuid", "logging", "redis", "aiohttp", "aiobotocore",
    "botocore", "socket", "subprocess", "threading", "os", "secrets",
}
FORBIDDEN_PACKAGES = {"statemachine.runtime", "statemachine.api", "statemachine.cli", "statemachine.service"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _core_files() -> list[Path]:
    return sorted((PACKAGE / "language").glob("*.py")) + sorted((PACKAGE / "interpreter").glob("*.py"))


def test_core_files_exist() -> None:
    assert len(_core_files()) >= 10


def test_core_imports_no_io_clock_or_randomness() -> None:
    bad = []
    for path in _core_files():
        for name in _imports(path):
            top = name.split(".")[0]
            if top in FORBIDDEN or any(name == p or name.startswith(p + ".") for p in FORBIDDEN_PACKAGES):
                bad.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not bad, "\n".join(bad)


def test_core_never_reads_the_clock() -> None:
    bad = []
    for path in _core_files():
        text = path.read_text()
        for call in ("datetime.now(", "datetime.utcnow(", "date.today(", ".now()"):
            if call in text:
                bad.append(f"{path.relative_to(PACKAGE)} calls {call}")
    assert not bad, "\n".join(bad)
