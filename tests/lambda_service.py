"""A stand-in for AWS Lambda that runs the functions of the conformance corpus's lambda group.

The invoker POSTs a function's payload to ``<STATEMACHINE_LAMBDA_ENDPOINT>/<function name>``.
Function names repeat across cases with different behaviours (``lambda_func`` is an identity
in one case and raises in another), so each case gets its own endpoint: point
``STATEMACHINE_LAMBDA_ENDPOINT`` at ``http://host:port/<case name>`` and the function is
looked up in that case's ``lambda_functions``.  Without a case, ``/<function>`` serves the
names that mean one thing in every case, and the behaviour names themselves (``/identity``,
``/raise_exception``, ...).  An unknown function answers 404 ``ResourceNotFoundException``.

Answers follow the Lambda Invoke API and a Python runtime: results are ``json.dumps``-ed
(with spaces), raised exceptions come back with ``X-Amz-Function-Error: Unhandled`` and a
compact error document.

Run it on its own for the conformance checker, with a template that points each case at
its own endpoint::

    python tests/lambda_service.py --port 9001 &
    E='STATEMACHINE_LAMBDA_ENDPOINT=http://127.0.0.1:9001/{name}'
    python tests/conformance/check.py --group lambda \\
        "$E python cli.py run {definition} --input-file {input}"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

CASES_DIR = Path(__file__).resolve().parent / "conformance" / "cases" / "lambda"
LARGE_BODY_CHARS = 263168
SLEEP_SECONDS = 60.0

Handler = Callable[[Any], Awaitable[web.Response]]

_STACK_EXCEPTION = ('  File "/var/task/handler.py", line 2, in handler\n'
                    '    raise Exception("Some exception was raised.")\n')
_STACK_CUSTOM = ('  File "/var/task/handler.py", line 9, in handler\n'
                 '    raise CustomException()\n')


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": str(uuid.uuid4()),
               "X-Amzn-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
               "x-amzn-Remapped-Content-Length": "0"}
    headers.update(extra or {})
    return headers


def _result(value: Any) -> web.Response:
    """A Python runtime's answer: the returned value, ``json.dumps``-ed."""
    return web.Response(body=json.dumps(value).encode(), content_type="application/json",
                        headers=_headers())


def _raised(error_type: str, message: str, stack: str) -> web.Response:
    document = {"errorMessage": message, "errorType": error_type,
                "requestId": str(uuid.uuid4()), "stackTrace": [stack]}
    return web.Response(body=json.dumps(document, separators=(",", ":")).encode(),
                        content_type="application/json",
                        headers=_headers({"X-Amz-Function-Error": "Unhandled"}))


async def identity(event: Any) -> web.Response:
    return _result(event)


async def return_hello_world(event: Any) -> web.Response:
    return _result({"Return": "HelloWorld"})


async def raw_hello_world(event: Any) -> web.Response:
    return web.Response(body=b'"HelloWorld!"', content_type="application/json", headers=_headers())


async def large_body(event: Any) -> web.Response:
    return web.Response(body=b"a" * LARGE_BODY_CHARS, content_type="application/json",
                        headers=_headers())


async def sleep_then_identity(event: Any) -> web.Response:
    await asyncio.sleep(SLEEP_SECONDS)
    return _result(event)


async def raise_exception(event: Any) -> web.Response:
    return _raised("Exception", "Some exception was raised.", _STACK_EXCEPTION)


async def raise_custom_exception(event: Any) -> web.Response:
    return _raised("CustomException", "", _STACK_CUSTOM)


BEHAVIOURS: dict[str, Handler] = {
    "identity": identity,
    "return_hello_world": return_hello_world,
    "raw_hello_world": raw_hello_world,
    "large_body": large_body,
    "sleep": sleep_then_identity,
    "raise_exception": raise_exception,
    "raise_custom_exception": raise_custom_exception,
}

_DESCRIPTIONS = (  # a phrase of the case file's description -> behaviour; first match wins
    ("does not exist", "not_found"),
    ("CustomException", "raise_custom_exception"),
    ("raises Exception", "raise_exception"),
    ("sleeps", "sleep"),
    ("257 KiB", "large_body"),
    ("raw response body \"HelloWorld!\"", "raw_hello_world"),
    ("{\"Return\": \"HelloWorld\"}", "return_hello_world"),
    ("identity", "identity"),
)


def behaviour_of(description: str) -> str:
    """The behaviour a case file's ``lambda_functions`` description names."""
    for phrase, behaviour in _DESCRIPTIONS:
        if phrase in description:
            return behaviour
    raise ValueError(f"no behaviour known for: {description}")


def load_cases(directory: Path = CASES_DIR) -> dict[str, dict[str, str]]:
    """``{case name: {function name: behaviour}}`` from the lambda cases' ``lambda_functions``."""
    cases: dict[str, dict[str, str]] = {}
    for path in sorted(directory.glob("*.json")):
        case = json.loads(path.read_text())
        cases[case["name"]] = {arn.rsplit(":", 1)[-1]: behaviour_of(text)
                               for arn, text in case.get("lambda_functions", {}).items()}
    return cases


def unambiguous(cases: dict[str, dict[str, str]]) -> dict[str, str]:
    """Function names that mean the same behaviour in every case that uses them."""
    seen: dict[str, set[str]] = {}
    for functions in cases.values():
        for name, behaviour in functions.items():
            seen.setdefault(name, set()).add(behaviour)
    return {name: next(iter(b)) for name, b in seen.items() if len(b) == 1}


CASES = load_cases()
DEFAULTS = {**unambiguous(CASES), **{name: name for name in BEHAVIOURS}}


def _not_found(name: str) -> web.Response:
    body = {"Type": "User", "Message": f"Function not found: {name}"}
    return web.json_response(body, status=404,
                             headers={"x-amzn-ErrorType": "ResourceNotFoundException",
                                      "x-amzn-RequestId": str(uuid.uuid4())})


async def _event(request: web.Request) -> tuple[Any, web.Response | None]:
    """The invocation's event (``{}`` for an empty payload), or Lambda's 400 answer."""
    raw = await request.read()
    if not raw.strip():
        return {}, None
    try:
        return json.loads(raw), None
    except ValueError as exc:
        body = {"Type": "User", "message": f"Could not parse request body into json: {exc}"}
        return None, web.json_response(body, status=400, headers={
            "x-amzn-ErrorType": "InvalidRequestContentException",
            "x-amzn-RequestId": str(uuid.uuid4())})


async def _run(request: web.Request, behaviour: str | None, name: str) -> web.Response:
    handler = BEHAVIOURS.get(behaviour or "")
    if handler is None:
        return _not_found(name)
    event, refusal = await _event(request)
    return refusal or await handler(event)


async def invoke_in_case(request: web.Request) -> web.Response:
    case, name = request.match_info["case"], request.match_info["function"]
    functions = CASES.get(case)
    behaviour = functions.get(name) if functions is not None else None
    return await _run(request, behaviour, name)


TABLE: web.AppKey[dict[str, str]] = web.AppKey("table", dict)


async def invoke_default(request: web.Request) -> web.Response:
    name = request.match_info["function"]
    return await _run(request, request.app[TABLE].get(name), name)


def make_app(table: dict[str, str] | None = None) -> web.Application:
    """The aiohttp application: ``POST /{case}/{function}`` and ``POST /{function}``.

    ``POST /{group}/{case}/{function}`` works too: check.py's ``{name}`` is ``group/case``.
    ``/{function}`` looks the name up in ``table`` (default: :data:`DEFAULTS`); a caller
    that keeps the dict may change it between runs, for a service that has one endpoint
    for every case (tests/conformance/aws_run.py runs the corpus in rounds so).
    """
    app = web.Application(client_max_size=8 << 20)
    app[TABLE] = DEFAULTS if table is None else table
    app.router.add_post("/{function}", invoke_default)
    app.router.add_post("/{case}/{function}", invoke_in_case)
    app.router.add_post("/{group}/{case}/{function}", invoke_in_case)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
