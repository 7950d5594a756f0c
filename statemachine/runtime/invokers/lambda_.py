"""Lambda tasks, performed against a local stand-in for the Lambda service.

Resources: ``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`` (the "legacy"
direct form) and ``arn:aws:states:::lambda:invoke[.waitForTaskToken]`` (Parameters
``FunctionName`` — a name, a partial or a full ARN, optionally with a qualifier — ``Payload``,
``Qualifier``, ``InvocationType``).

The function runs wherever ``STATEMACHINE_LAMBDA_ENDPOINT`` points: the invoker POSTs the
payload to ``<endpoint>/<function name>`` and reads the answer the way the Lambda Invoke API
answers:

* 2xx without ``X-Amz-Function-Error``: the body is the function's result (JSON, or the text
  when it is not JSON);
* 2xx with ``X-Amz-Function-Error: Unhandled`` and a body ``{"errorMessage", "errorType",
  "requestId", "stackTrace"}``: the function raised;
* anything else: the Lambda service refused (``x-amzn-ErrorType`` names the error, e.g.
  404 ``ResourceNotFoundException``).

What the task then reports is what Step Functions reports (see tests/conformance/cases/lambda):

* success — direct ARN: the payload itself; ``lambda:invoke``: ``{"ExecutedVersion",
  "Payload", "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"}``;
* the function raised — error = its ``errorType``; cause = the error document, re-serialised
  with spaces for a direct ARN (``{"errorMessage": "..", ...}``), as Lambda sent it (compact)
  for ``lambda:invoke``;
* the service refused — ``Lambda.<ErrorCode>`` with the cause ``<message> (Service: AWSLambda;
  Status Code: <n>; Error Code: <code>; Request ID: <id>; Proxy: null)``, e.g.
  ``Lambda.ResourceNotFoundException`` / ``Function not found: <arn>:$LATEST (...)``;
* the endpoint is unreachable — ``Lambda.SdkClientException``, ``Unable to execute HTTP
  request: ...``;
* no answer in time — ``States.Timeout`` (empty cause when the state's TimeoutSeconds expired).

A string ``Payload`` for ``lambda:invoke`` is sent as raw bytes (as AWS does), any other JSON
value as JSON, and a missing or null one as an empty body.  The direct form always sends the
effective input as JSON.  Results over 256 KiB are the interpreter's concern.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from statemachine.interpreter.commands import InvokeTask
from statemachine.runtime.invokers.base import (
    InvokerSettings,
    Resource,
    TaskResult,
    failed,
    sdk_metadata,
    succeeded,
    task_headers,
)
from statemachine.runtime.invokers.http import (
    HttpClient,
    Response,
    dump_json,
    parse_json_or_text,
    send,
)

_STATUS_ERRORS = {400: "InvalidRequestContentException", 404: "ResourceNotFoundException",
                  413: "RequestTooLargeException", 429: "TooManyRequestsException"}


class FunctionRef:
    """A function named by an ARN, a partial ARN (``123:function:f``) or a bare name."""

    def __init__(self, reference: str, settings: InvokerSettings,
                 qualifier: str | None = None) -> None:
        parts = reference.split(":")
        region, account = settings.lambda_region, settings.lambda_account
        if reference.startswith("arn:") and len(parts) >= 7:
            region, account, self.name = parts[3], parts[4], parts[6]
            rest = parts[7:]
        elif len(parts) >= 3 and parts[1] == "function":
            account, self.name, rest = parts[0], parts[2], parts[3:]
        else:
            self.name, rest = parts[0], parts[1:]
        self.qualifier = qualifier or (rest[0] if rest else None)
        self.arn = f"arn:aws:lambda:{region}:{account}:function:{self.name}"


class LambdaInvoker:
    """Both Lambda resource forms, served by one HTTP endpoint standing in for Lambda."""

    def __init__(self, client: HttpClient, settings: InvokerSettings) -> None:
        self._client = client
        self._settings = settings

    async def invoke(self, command: InvokeTask, resource: Resource) -> TaskResult:
        direct = resource.family == "lambda_function"
        params = command.input
        if direct:
            body: bytes | None = dump_json(params)
            function = FunctionRef(resource.target, self._settings)
            invocation = "RequestResponse"
        else:
            params = params if isinstance(params, dict) else {}
            name = params.get("FunctionName")
            if not isinstance(name, str) or not name:
                return failed(command, "States.Runtime", "lambda:invoke needs "
                              f"Parameters.FunctionName (a string); got {name!r}")
            function = FunctionRef(name, self._settings, params.get("Qualifier"))
            body = _payload_bytes(params.get("Payload"))
            invocation = str(params.get("InvocationType") or "RequestResponse")
        answer = await self._call(command, function, body, invocation)
        if isinstance(answer, dict):
            return answer
        if not answer.ok:
            return _service_error(command, function, answer)
        if answer.header("X-Amz-Function-Error"):
            return _function_error(command, answer, spaced=direct)
        if direct:
            return succeeded(command, parse_json_or_text(answer.body))
        if resource.kind == "callback":
            return None
        return succeeded(command, invoke_result(answer, _request_id(command, answer)))

    async def _call(self, command: InvokeTask, function: FunctionRef, body: bytes | None,
                    invocation: str) -> Response | dict[str, Any]:
        endpoint = self._settings.lambda_endpoint
        if not endpoint:
            return failed(command, "States.Runtime",
                          f"Cannot invoke Lambda function '{function.arn}': no Lambda endpoint is "
                          "configured (set STATEMACHINE_LAMBDA_ENDPOINT to the URL of a service "
                          "that runs it)")
        url = f"{endpoint.rstrip('/')}/{quote(function.name, safe='')}"
        if function.qualifier:
            url += f"?Qualifier={quote(function.qualifier, safe='')}"
        headers = {"Content-Type": "application/json", "X-Amz-Invocation-Type": invocation}
        headers.update(task_headers(command, self._settings, callback=False))
        answer = await send(self._client, command, "POST", url, headers, body,
                            self._settings.lambda_timeout_s)
        if isinstance(answer, dict) and answer["error"] == "States.Http.Socket":
            detail = answer["cause"].split(" failed: ", 1)[-1]
            return failed(command, "Lambda.SdkClientException",
                          f"Unable to execute HTTP request: {detail}")
        return answer


def _payload_bytes(payload: Any) -> bytes | None:
    """A string goes as raw bytes (AWS does so), null as no body, anything else as JSON."""
    if payload is None:
        return None
    if isinstance(payload, str):
        return payload.encode()
    return dump_json(payload)


def _request_id(command: InvokeTask, answer: Response) -> str:
    """Lambda's request id, or one derived from the task when the endpoint sent none."""
    given = answer.header("x-amzn-RequestId")
    if given:
        return given
    seed = f"{command.idempotency_key}:{command.attempt}"
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def invoke_result(answer: Response, request_id: str) -> dict[str, Any]:
    """The ``lambda:invoke`` result, keys in AWS's order."""
    all_headers: dict[str, list[str]] = {}
    for name, value in answer.headers:
        all_headers.setdefault(name, []).append(value)
    return {
        "ExecutedVersion": answer.header("X-Amz-Executed-Version") or "$LATEST",
        "Payload": parse_json_or_text(answer.body),
        **sdk_metadata(all_headers, answer.status, request_id),
        "StatusCode": answer.status,
    }


def _function_error(command: InvokeTask, answer: Response, *, spaced: bool) -> dict[str, Any]:
    """The function raised: its ``errorType`` is the error, its error document the cause."""
    text = answer.text()
    try:
        document = json.loads(text)
    except ValueError:
        return failed(command, "Lambda.Unknown", text)
    if not isinstance(document, dict) or not isinstance(document.get("errorType"), str):
        return failed(command, "Lambda.Unknown", text)
    cause = json.dumps(document, ensure_ascii=False) if spaced else text
    return failed(command, document["errorType"], cause)


def _service_error(command: InvokeTask, function: FunctionRef, answer: Response) -> dict[str, Any]:
    """Lambda refused the call: ``Lambda.<ErrorCode>`` with the Java SDK's cause wording."""
    code = (answer.header("x-amzn-ErrorType") or "").split(":", 1)[0]
    if not code:
        fallback = "ServiceException" if answer.status >= 500 else "AWSLambdaException"
        code = _STATUS_ERRORS.get(answer.status, fallback)
    if code == "ResourceNotFoundException":
        message = f"Function not found: {function.arn}:{function.qualifier or '$LATEST'}"
    else:
        message = _message(answer)
    details = "; ".join([
        "Service: AWSLambda", f"Status Code: {answer.status}", f"Error Code: {code}",
        f"Request ID: {_request_id(command, answer)}", "Proxy: null",
    ])
    name = code if code.endswith("Exception") else "AWSLambdaException"
    return failed(command, f"Lambda.{name}", f"{message} ({details})")


def _message(answer: Response) -> str:
    document = parse_json_or_text(answer.body)
    if isinstance(document, dict):
        for key in ("Message", "message", "errorMessage"):
            text = document.get(key)
            if isinstance(text, str):
                return text
    return document if isinstance(document, str) else answer.reason
