"""The AWS API's entry in the OpenAPI document: one path, ``POST /``, whose operations are
AWS's (named by ``X-Amz-Target``, described by botocore's Step Functions service model)."""

from __future__ import annotations

from statemachine.api.openapi_parts import Schema

__all__ = ["AWS_PATHS", "AWS_SCHEMAS"]

_AWS_JSON = "application/x-amz-json-1.0"


def _answer(description: str, schema: str) -> Schema:
    return {"description": description,
            "content": {_AWS_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


AWS_SCHEMAS: dict[str, Schema] = {
    "AwsError": {"type": "object", "required": ["__type", "message"],
                 "properties": {"__type": {"type": "string"}, "message": {"type": "string"}}},
    "AwsBody": {"type": "object"},
}

AWS_PATHS: dict[str, Schema] = {
    "/": {"post": {
        "operationId": "awsStepFunctions", "tags": ["aws"],
        "summary": "The AWS Step Functions API (AWS JSON 1.0): boto3, the aws CLI, any AWS SDK",
        "description": "X-Amz-Target: AWSStepFunctions.<Operation>; the request is signed "
                       "with SigV4 by an API key (access key id = the key's id, secret = its "
                       "secret). Shapes and errors are AWS's (botocore's service model).",
        "parameters": [{"name": "X-Amz-Target", "in": "header", "required": True,
                        "schema": {"type": "string"}}],
        "requestBody": {"required": True,
                        "content": {_AWS_JSON: {"schema": {"$ref": "#/components/schemas/AwsBody"}}}},
        "responses": {
            "200": _answer("The operation's output", "AwsBody"),
            "400": _answer("AWS's error: a bad or unsigned request, an unknown operation, "
                           "a resource that does not exist...", "AwsError"),
            "413": _answer("The body is too large", "AwsError"),
            "415": _answer("The body is not application/x-amz-json-1.0", "AwsError"),
            "503": _answer("The store is unavailable: retry", "AwsError"),
        },
    }},
}
