"""Names as Step Functions spells them: services, operations, error names and causes.

Resources name services the way AWS's Java SDK v2 names its packages, which for most
services is botocore's name without hyphens (``redshiftdata`` is ``redshift-data``); the
others are in :data:`ALIASES`.  Errors:

* SDK integrations (``aws-sdk:``) report ``<Service>.<Exception>`` in PascalCase, the
  service as the Java SDK v2 names its client (``S3``, ``DynamoDb``, ``Sfn``, ``AcmPca``) and
  the exception as the modelled error shape with an ``Exception`` suffix
  (``S3.NoSuchKeyException``); an error the model does not list is the service's base
  exception (``DynamoDb.DynamoDbException``).  The cause is the Java SDK v2 message:
  ``<message> (Service: S3, Status Code: 404, Request ID: <id>[, Extended Request ID: <id>])
  (SDK Attempt Count: 1)``.
* Optimised integrations (``sns:publish``, ...) report the Java SDK v1 names:
  ``SNS.NotFoundException``, ``DynamoDB.AmazonDynamoDBException``, with the cause
  ``<message> (Service: AmazonSNS; Status Code: 404; Error Code: NotFound; Request ID: <id>;
  Proxy: null)``.

Only botocore's model files are read (:func:`botocore_service` lists their folder once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from botocore.loaders import create_loader
from botocore.model import ServiceModel

Style = Literal["sdk", "optimized"]

ALIASES = {
    "eventbridge": "events", "sfn": "stepfunctions", "cloudwatchlogs": "logs",
    "cloudwatchevents": "events", "elasticloadbalancingv2": "elbv2",
    "elasticloadbalancing": "elb", "elasticsearch": "es", "cognitoidentityprovider": "cognito-idp",
    "costexplorer": "ce", "databasemigration": "dms", "iotdataplane": "iot-data",
    "lexruntimev2": "lexv2-runtime", "lexmodelsv2": "lexv2-models", "lexruntime": "lex-runtime",
    "lexmodelbuilding": "lex-models", "marketplacemetering": "meteringmarketplace",
    "configservice": "config", "sagemakerruntime": "sagemaker-runtime",
    "migrationhub": "mgh", "costandusagereport": "cur", "iotjobsdataplane": "iot-jobs-data",
}
"""Step Functions' service names that are not botocore's name without hyphens."""

_OPTIMIZED_NAMES = {
    "sns": ("SNS", "AmazonSNS", "AmazonSNSException"),
    "sqs": ("SQS", "AmazonSQS", "AmazonSQSException"),
    "dynamodb": ("DynamoDB", "AmazonDynamoDBv2", "AmazonDynamoDBException"),
    "events": ("EventBridge", "AmazonEventBridge", "AmazonEventBridgeException"),
    "s3": ("S3", "Amazon S3", "AmazonS3Exception"),
    "lambda": ("Lambda", "AWSLambda", "AWSLambdaException"),
}
"""Optimised integrations' (error prefix, Java SDK v1 service name, base exception)."""

_QUERY_CODES = {"AWS.SimpleQueueService.NonExistentQueue": "QueueDoesNotExist",
                "AWS.SimpleQueueService.UnsupportedOperation": "UnsupportedOperation"}
"""Error codes of services that left the query protocol, which their models no longer list."""

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_VERSION = re.compile(r"([A-Z]{2,})v([0-9]+)")


@lru_cache(maxsize=1)
def _botocore_names() -> dict[str, str]:
    names = create_loader().list_available_services("service-2")
    return {name.replace("-", ""): name for name in names} | {name: name for name in names}


def botocore_service(name: str) -> str | None:
    """botocore's service for a Step Functions service name; None when it knows none."""
    known = _botocore_names()
    alias = ALIASES.get(name)
    if alias is not None and alias in known.values():
        return alias
    return known.get(name) or known.get(name.replace("-", ""))


def operation_name(service_model: Any, action: str) -> str | None:
    """botocore's operation for ``action`` (``getObject`` is ``GetObject``); None if none."""
    operations = service_model.operation_names
    pascal = action[:1].upper() + action[1:]
    if pascal in operations:
        return str(pascal)
    return next((str(o) for o in operations if o.lower() == action.lower()), None)


def java_client_name(service_id: str) -> str:
    """The Java SDK v2 client name of a botocore ``serviceId``: ``DynamoDB`` is
    ``DynamoDb``, ``SFN`` is ``Sfn``, ``ACM PCA`` is ``AcmPca``, ``SESv2`` is ``SesV2``
    (a version after a capitals' run is a word of its own) and ``IoT Data Plane``
    ``IotDataPlane`` (the SDK's clients write IoT as ``Iot``)."""
    words = _VERSION.sub(r"\1 V\2", service_id).replace("IoT", "Iot")
    return "".join(word.capitalize() for word in _WORD.findall(words))


@dataclass(frozen=True, slots=True)
class ErrorNames:
    """How one service's errors are named for one integration style."""

    prefix: str
    service: str
    base: str
    style: Style


def error_names(service_model: Any, style: Style) -> ErrorNames:
    """The error prefix, the cause's service name and the base exception of a service."""
    service_id = str(service_model.metadata.get("serviceId") or service_model.service_name)
    if style == "sdk":
        prefix = java_client_name(service_id)
        return ErrorNames(prefix, prefix, f"{prefix}Exception", style)
    names = _OPTIMIZED_NAMES.get(service_model.service_name)
    if names is None:
        prefix = service_id.replace(" ", "")
        names = (prefix, f"Amazon{prefix}", f"Amazon{prefix}Exception")
    return ErrorNames(*names, style)


_MODELLED: dict[str, dict[str, str]] = {}


def _modelled(service_model: Any) -> dict[str, str]:
    """Error code (and shape name) -> exception shape name, from the service model."""
    cached = _MODELLED.get(service_model.service_name)
    if cached is not None:
        return cached
    found: dict[str, str] = {}
    for shape in service_model.error_shapes:
        found[shape.name] = shape.name
        code = shape.metadata.get("error", {}).get("code")
        if code:
            found[code] = shape.name
    _MODELLED[service_model.service_name] = found
    return found


def exception_name(service_model: Any, code: str, names: ErrorNames) -> str:
    """``<prefix>.<exception>`` for an error code the service answered with."""
    shape = _modelled(service_model).get(_QUERY_CODES.get(code, code))
    if shape is None:
        return f"{names.prefix}.{names.base}"
    return f"{names.prefix}.{shape if shape.endswith('Exception') else shape + 'Exception'}"


def service_cause(names: ErrorNames, code: str, response: dict[str, Any]) -> str:
    """The cause of a service's refusal, worded as the Java SDK Step Functions uses."""
    error = response.get("Error", {})
    meta = response.get("ResponseMetadata", {})
    message = str(error.get("Message") or code)
    status = meta.get("HTTPStatusCode", 400)
    request_id = meta.get("RequestId") or meta.get("HTTPHeaders", {}).get("x-amzn-requestid", "")
    if names.style == "optimized":
        return (f"{message} (Service: {names.service}; Status Code: {status}; Error Code: "
                f"{code}; Request ID: {request_id}; Proxy: null)")
    details = f"Service: {names.service}, Status Code: {status}, Request ID: {request_id}"
    if names.prefix == "S3":  # S3's exceptions always name the x-amz-id-2 of the answer
        host_id = meta.get("HostId") or meta.get("HTTPHeaders", {}).get("x-amz-id-2")
        details += f", Extended Request ID: {host_id or 'null'}"
    attempts = int(meta.get("RetryAttempts", 0)) + 1
    return f"{message} ({details}) (SDK Attempt Count: {attempts})"


@lru_cache(maxsize=64)
def service_model(service: str) -> ServiceModel:
    """botocore's model of ``service`` (read once)."""
    return ServiceModel(create_loader().load_service_model(service, "service-2"), service)
