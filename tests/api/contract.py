"""The API's answers checked against the component schemas of its own OpenAPI document."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from statemachine.api.openapi import document


def _errors(schema: dict[str, Any], value: Any) -> list[str]:
    """What is wrong with ``value`` under ``schema`` (whose ``$ref`` point into the document)."""
    validator = Draft202012Validator({**schema, "components": document()["components"]})
    return sorted(error.message for error in validator.iter_errors(value))


def conforms(schema_name: str, value: Any) -> None:
    """Assert that ``value`` matches the OpenAPI document's component schema ``schema_name``."""
    errors = _errors({"$ref": f"#/components/schemas/{schema_name}"}, value)
    assert not errors, f"{schema_name}: {errors}"


def operation(operation_id: str) -> dict[str, Any]:
    """The document's operation of that id."""
    for operations in document()["paths"].values():
        for described in operations.values():
            if described["operationId"] == operation_id:
                return dict(described)
    raise AssertionError(f"no operation {operation_id!r} in the document")


def parameter_allows(operation_id: str, name: str, value: Any) -> bool:
    """Whether the document says ``value`` is a valid ``name`` parameter of the operation."""
    for parameter in operation(operation_id).get("parameters", []):
        if parameter["name"] == name:
            return not _errors(parameter["schema"], value)
    raise AssertionError(f"{operation_id} has no parameter {name!r}")


def response_conforms(operation_id: str, status: int, body: Any) -> None:
    """Assert that ``body`` is what the document says the operation answers with ``status``."""
    response = operation(operation_id)["responses"][str(status)]
    errors = _errors(response["content"]["application/json"]["schema"], body)
    assert not errors, f"{operation_id} {status}: {errors}"
