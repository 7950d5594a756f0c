"""Requests to the AWS API signed by hand, as any AWS SDK signs them: botocore's SigV4Auth
on an AWSRequest, sent with urllib3 (for the signature and fuzz tests, which need to send
what boto3 would not)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from unittest import mock

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"
POOL = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=30))


def signed(endpoint: str, operation: str, body: bytes, key_id: str, secret: str, *,
           at: datetime | None = None) -> AWSRequest:
    """A ``POST /`` of ``operation`` with ``body``, signed by (key_id, secret) — at the time
    ``at`` (naive UTC, as botocore keeps it) instead of now when given."""
    request = AWSRequest(method="POST", url=f"{endpoint}/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"AWSStepFunctions.{operation}"})
    signer = SigV4Auth(Credentials(key_id, secret), "states", REGION)
    if at is None:
        signer.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=at):
            signer.add_auth(request)
    return request


def send(request: AWSRequest, body: bytes | None = None) -> Any:
    """Send a signed request (with another ``body`` than the one signed, to replay it)."""
    prepared = request.prepare()
    return POOL.request("POST", prepared.url, body=prepared.body if body is None else body,
                        headers=dict(prepared.headers.items()))
