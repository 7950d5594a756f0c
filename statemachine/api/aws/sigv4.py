"""AWS Signature Version 4, checked: the AWS API's proof of an API key.

Every AWS client signs its requests with the key pair it was given (access key id = our
key's id, secret access key = its secret).  The signature is recomputed here with
botocore's own signer over exactly the headers the client signed and the body as
received, and compared in constant time.  The outcomes are AWS's:
``MissingAuthenticationTokenException`` (no signature), ``IncompleteSignatureException``
(a malformed one), ``UnrecognizedClientException`` (an unknown or revoked key),
``InvalidSignatureException`` (a wrong secret, a changed body, a clock off by more than
15 minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from statemachine.api.aws.call import AwsError

__all__ = ["Signed", "check_signature", "read_authorization"]

SERVICE = "states"
MAX_SKEW = timedelta(minutes=15)
_CREDENTIAL = re.compile(r"([A-Za-z0-9]{1,128})/([0-9]{8})/([a-z0-9-]{1,32})/([a-z0-9-]{1,32})/aws4_request")
_HEADERS = re.compile(r"[a-z0-9-]+(;[a-z0-9-]+)*")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
MISMATCH = ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.")


@dataclass(frozen=True, slots=True)
class Signed:
    """What an ``Authorization: AWS4-HMAC-SHA256 ...`` header says."""

    key_id: str
    date: str
    region: str
    service: str
    headers: tuple[str, ...]
    signature: str


def read_authorization(header: str | None) -> Signed:
    """Parse the Authorization header, or the AWS error for its absence or malformation."""
    if not header:
        raise AwsError("MissingAuthenticationTokenException", "Missing Authentication Token")
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise AwsError("IncompleteSignatureException",
                       f"Unsupported authorization type {algorithm[:32]!r}: sign with AWS4-HMAC-SHA256")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    credential = _CREDENTIAL.fullmatch(fields.get("Credential", ""))
    headers = fields.get("SignedHeaders", "")
    signature = fields.get("Signature", "")
    if credential is None or not _HEADERS.fullmatch(headers) or not _SIGNATURE.fullmatch(signature):
        raise AwsError("IncompleteSignatureException",
                       "Authorization header requires 'Credential', 'SignedHeaders' and "
                       "'Signature' parameters of the AWS4-HMAC-SHA256 form")
    return Signed(credential[1], credential[2], credential[3], credential[4],
                  tuple(headers.split(";")), signature)


class _Verifier(SigV4Auth):  # type: ignore[misc]
    """botocore's signer, told which headers were signed and what the body's hash is."""

    def __init__(self, credentials: Credentials, region: str, signed: HTTPHeaders,
                 body_hash: str) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed
        self._body_hash = body_hash

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return self._signed

    def payload(self, request: AWSRequest) -> str:
        return self._body_hash


def check_signature(signed: Signed, secret: str, *, method: str, path_qs: str,
                    headers: dict[str, str], body: bytes, now: datetime) -> None:
    """Raise the AWS error unless ``signed`` is the signature of this request by ``secret``.

    ``headers``: the request's headers with lower-case names."""
    if signed.service != SERVICE:
        raise AwsError("InvalidSignatureException",
                       f"Credential should be scoped to correct service: '{SERVICE}'.")
    amz_date = headers.get("x-amz-date", "")
    try:
        when = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        raise AwsError("IncompleteSignatureException",
                       "the request must carry X-Amz-Date (YYYYMMDDTHHMMSSZ)") from None
    if abs(now - when) > MAX_SKEW:
        raise AwsError("InvalidSignatureException",
                       f"Signature expired: {amz_date} is now earlier than "
                       f"{(now - MAX_SKEW).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} - 15 min.)")
    if signed.date != amz_date[:8] or "host" not in signed.headers:
        raise AwsError("InvalidSignatureException", MISMATCH)
    body_hash = hashlib.sha256(body).hexdigest()
    claimed = headers.get("x-amz-content-sha256")
    if claimed is not None and claimed != body_hash:
        raise AwsError("InvalidSignatureException", MISMATCH)
    chosen = HTTPHeaders()
    for name in signed.headers:
        value = headers.get(name)
        if value is None:
            raise AwsError("InvalidSignatureException", MISMATCH)
        chosen[name] = value
    request = AWSRequest(method=method, url=f"http://{headers['host']}{path_qs}", data=body,
                         headers=dict(chosen.items()))
    request.context["timestamp"] = amz_date
    verifier = _Verifier(Credentials(signed.key_id, secret), signed.region, chosen, body_hash)
    canonical = verifier.canonical_request(request)
    expected = verifier.signature(verifier.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signed.signature):
        raise AwsError("InvalidSignatureException", MISMATCH)
