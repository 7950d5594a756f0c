"""The values of a definition's ``${Name}`` placeholders, as every command finds them: the
``substitutions.env`` beside the definition (``KEY=VALUE`` lines, ``#`` comments), then
``--sub K=V`` (which wins).  ``serve``, ``run``, ``validate``, ``define``,
``replay`` and ``statemachine.testing`` all read them here, so a definition means the same
thing to each of them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SUBSTITUTIONS_FILE", "parse_substitutions", "read_substitutions", "substitutions_for"]

SUBSTITUTIONS_FILE = "substitutions.env"


def parse_substitutions(pairs: list[str]) -> dict[str, str]:
    """``["A=1", "B=x=y"]`` -> ``{"A": "1", "B": "x=y"}``; raises ValueError on ``"A"``."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--sub expects NAME=VALUE, got {pair!r}")
        result[name] = value
    return result


def read_substitutions(env_file: Path, pairs: list[str]) -> dict[str, str]:
    """``${Name}`` values: ``env_file``'s ``KEY=VALUE`` lines (if it exists), then ``pairs``.

    Blank lines and lines starting with ``#`` are skipped; spaces around the key and the
    value are dropped.  A malformed line or pair raises ValueError naming it.
    """
    subs: dict[str, str] = {}
    if env_file.is_file():
        for number, raw in enumerate(env_file.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"{env_file}:{number}: expected KEY=VALUE, got {raw!r}")
            subs[key.strip()] = value.strip()
    subs.update(parse_substitutions(pairs))
    return subs


def substitutions_for(definition: str | Path, pairs: list[str]) -> dict[str, str]:
    """The values for ``definition``: its folder's ``substitutions.env``, then ``pairs``."""
    return read_substitutions(Path(definition).parent / SUBSTITUTIONS_FILE, pairs)
