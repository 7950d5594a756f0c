"""``statemachine validate --resources FILE...``: which resources can this runtime perform?

For every definition, each resource it calls (:func:`statemachine.language.resources.resources`:
Task states and Map item readers / result writers, nested ones too) is classified by the
invokers (:func:`statemachine.runtime.invokers.kind`):

- ``performable``: an invoker here performs it (request, callback or activity);
- ``placeholder``: the whole value is a deployment placeholder (``${ProcessFunctionArn}``)
  that ``substitutions.env`` / ``--sub`` did not fill, so what it calls is not known yet;
- ``unsupported``: nothing here performs it.

A deployment placeholder in an ARN's partition, region or account field
(``arn:${AWS::Partition}:states:::sns:publish``) stands for that field and is read as the
default one, so the resource is judged by what it calls.  The report ends with how many
definitions use only performable resources and the most used unsupported resources.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from statemachine.errors import DefinitionError
from statemachine.language.resources import ResourceUse, resources
from statemachine.runtime.invokers import kind

__all__ = ["Classified", "DefinitionResources", "classify", "fill_arn_fields", "main", "of_file"]

Class = Literal["performable", "placeholder", "unsupported"]
TOP = 15
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_ARN_DEFAULTS = {1: "aws", 3: "us-east-1", 4: "123456789012"}
"""ARN fields (``arn:partition:service:region:account:...``) a placeholder may stand for."""


@dataclass(frozen=True, slots=True)
class Classified:
    use: ResourceUse
    verdict: Class


@dataclass(frozen=True, slots=True)
class DefinitionResources:
    """One file's resources and their verdicts; ``problem`` when it holds no definition."""

    path: str
    uses: tuple[Classified, ...] = ()
    problem: str | None = None

    @property
    def performable(self) -> bool:
        return self.problem is None and all(c.verdict == "performable" for c in self.uses)

    def of(self, verdict: Class) -> list[str]:
        return sorted({c.use.resource for c in self.uses if c.verdict == verdict})


def classify(resource: str) -> Class:
    """``resource``'s verdict (see the module docstring); pure."""
    if _PLACEHOLDER.fullmatch(resource):
        return "placeholder"
    return "performable" if kind(fill_arn_fields(resource)) is not None else "unsupported"


def fill_arn_fields(resource: str) -> str:
    """``resource`` with placeholders in an ARN's partition, region or account field read as
    the defaults; other placeholders stay."""
    if not resource.startswith("arn:") or "${" not in resource:
        return resource
    found: list[str] = []

    def mark(match: re.Match[str]) -> str:
        found.append(match.group(0))
        return f"\0{len(found) - 1}\0"

    fields = _PLACEHOLDER.sub(mark, resource).split(":")
    for index, default in _ARN_DEFAULTS.items():
        if index < len(fields) and "\0" in fields[index]:
            fields[index] = default
    return re.sub("\0(\\d+)\0", lambda m: found[int(m.group(1))], ":".join(fields))


def of_file(path: str, substitutions: dict[str, str]) -> DefinitionResources:
    """Load ``path`` (its substitutions applied) and classify what it calls."""
    from statemachine.language.source import load_file

    try:
        source = load_file(path, substitutions=substitutions)
    except DefinitionError as exc:
        return DefinitionResources(path, problem=exc.diagnostics[0].message
                                   if exc.diagnostics else str(exc))
    definition: Any = source.definition
    if not isinstance(definition, dict) or not isinstance(definition.get("States"), dict):
        return DefinitionResources(path, problem="not a state machine definition")
    return DefinitionResources(path, tuple(Classified(use, classify(use.resource))
                                           for use in resources(definition)))


def main(files: list[str], per_file: dict[str, dict[str, str]], as_json: bool) -> int:
    """Print the report; 0 when every definition is performable, 1 when one is not, 2 when
    a file is not a definition."""
    reports = [of_file(path, per_file[path]) for path in files]
    definitions = [r for r in reports if r.problem is None]
    performable = sum(r.performable for r in definitions)
    unsupported = Counter(res for r in definitions for res in r.of("unsupported"))
    placeholders = sum(not r.performable and not r.of("unsupported") for r in definitions)
    summary = (f"{performable} of {len(definitions)} definitions use only resources this "
               f"runtime performs")
    if placeholders:
        summary += f" ({placeholders} more call a resource hidden behind a ${{...}} placeholder)"
    if as_json:
        json.dump({"performable": performable, "definitions": len(definitions),
                   "placeholder_only": placeholders,
                   "unsupported": dict(unsupported.most_common()),
                   "files": [_json(r) for r in reports]}, sys.stdout, indent=2)
        print()
    else:
        for report in reports:
            print(_line(report))
        print(summary)
        if unsupported:
            print("most used unsupported resources (definitions using each):")
            for resource, count in unsupported.most_common(TOP):
                print(f"  {count:4}  {resource}")
    if len(definitions) < len(reports):
        return 2
    return 0 if performable == len(definitions) else 1


def _line(report: DefinitionResources) -> str:
    if report.problem is not None:
        return f"{report.path}: {report.problem}"
    if report.performable:
        count = len(report.uses)
        return f"{report.path}: performable ({count} resource{'' if count == 1 else 's'})"
    parts = [f"{verdict} {', '.join(names)}" for verdict in ("unsupported", "placeholder")
             if (names := report.of(verdict))]
    return f"{report.path}: " + "; ".join(parts)


def _json(report: DefinitionResources) -> dict[str, Any]:
    if report.problem is not None:
        return {"file": report.path, "problem": report.problem}
    return {"file": report.path, "performable": report.performable,
            "resources": [{"pointer": c.use.pointer, "field": c.use.field,
                           "resource": c.use.resource, "verdict": c.verdict}
                          for c in report.uses]}
