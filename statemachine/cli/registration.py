"""Registering a folder of definition files as state machines (``serve --definitions``).

Each visible ``*.yaml``/``*.yml``/``*.json`` file of the folder itself that holds a state
machine becomes the machine named after its stem; a new version only when it changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from statemachine.errors import DefinitionError, InputError, NotFound

DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")


async def register_definitions(service: Any, folder: Path,
                               substitutions: dict[str, str] | None = None) -> list[str]:
    """Register each definition file in ``folder``; returns one line to print per file.

    A file becomes the state machine named after its stem, with ``substitutions`` applied.
    A new version is made only when the result differs from the latest version's
    definition, so restarting ``serve`` does not pile up identical versions.  Invalid
    files are reported and skipped; files that are not state machines are passed over.
    """
    if not folder.is_dir():
        return [f"statemachine: no definitions folder at {folder}; nothing registered"]
    lines: list[str] = []
    for path in sorted(folder.iterdir()):
        if _is_candidate(path):
            line = await _register_one(service, path, substitutions or {})
            if line:
                lines.append(line)
    if not lines:
        lines.append(f"statemachine: no definition files in {folder}")
    return lines


def _is_candidate(path: Path) -> bool:
    """A visible file of the folder itself with a definition suffix."""
    return (path.suffix.lower() in DEFINITION_SUFFIXES and not path.name.startswith(".")
            and path.is_file())


async def _register_one(service: Any, path: Path, substitutions: dict[str, str]) -> str | None:
    """Register one file; the line to print, or None for a file that is no state machine."""
    from statemachine.language.source import load_definition

    name = path.stem
    try:
        text = path.read_text(encoding="utf-8")
        parsed = load_definition(text, filename=str(path), substitutions=substitutions).definition
        if not isinstance(parsed, dict) or "States" not in parsed:
            return None
        try:
            latest = await service.get_machine(name)
        except NotFound:
            latest = None
        if latest is not None and latest.get("definition") == parsed:
            return f"statemachine: {name} (version {latest['version']}) unchanged, from {path}"
        machine = await service.define(name, text, substitutions)
    except DefinitionError as exc:
        details = "; ".join(d.format() for d in exc.diagnostics)
        return f"statemachine: {path} NOT registered: {details}"
    except InputError as exc:
        return f"statemachine: {path} NOT registered: {exc}"
    except (OSError, UnicodeDecodeError) as exc:
        return f"statemachine: {path} NOT registered: {exc}"
    return f"statemachine: registered {name} version {machine['version']} from {path}"
