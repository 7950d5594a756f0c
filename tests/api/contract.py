"""The API's answers checked against the component schemas of its own OpenAPI document."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from statemachine.api.openapi import document


def conforms(schema_name: str, value: Any) -> None:
    """Assert that ``value`` matches the OpenAPI document's component schema ``schema_name``."""
    doc = document()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=str)
    assert not errors, f"{schema_name}: {[e.message for e in errors]}"
