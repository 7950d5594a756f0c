"""Connections: the credentials an HTTP task uses, kept out of its definition.

A connection is EventBridge's: a name, an ``authorizationType`` (``API_KEY``, ``BASIC`` or
``OAUTH_CLIENT_CREDENTIALS``) and ``authParameters`` shaped exactly as EventBridge's
CreateConnection takes them::

    {"ApiKeyAuthParameters": {"ApiKeyName", "ApiKeyValue"}}
    {"BasicAuthParameters": {"Username", "Password"}}
    {"OAuthParameters": {"AuthorizationEndpoint", "HttpMethod": GET|POST|PUT,
                         "ClientParameters": {"ClientID", "ClientSecret"},
                         "OAuthHttpParameters"?: <http parameters>}}
    + "InvocationHttpParameters"?: <http parameters>

where ``<http parameters>`` is ``{"HeaderParameters"?, "QueryStringParameters"?,
"BodyParameters"?}``, each a list of ``{"Key", "Value", "IsValueSecret"?}``.

This module checks that shape (:func:`check_auth_parameters`), strips the secrets for
every answer (:func:`public_parameters`: ``ApiKeyValue``, ``Password``, ``ClientSecret``
and the values marked ``IsValueSecret`` are left out, as DescribeConnection does), and
seals the whole parameter document with the service's :class:`SecretBox` for storage.
A task names a connection by its ARN, ``arn:aws:events:<region>:<account>:connection/
<name>/<uuid>``: a connection deleted and made again under the same name has another ARN.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from statemachine.security.secretbox import SecretBox

__all__ = ["AuthorizationType", "Connection", "InvalidConnection",
           "check_auth_parameters", "check_name", "connection_arn", "parse_arn",
           "public_parameters", "seal", "unseal"]

MAX_NAME = 64
MAX_DESCRIPTION = 512
MAX_VALUE = 512
MAX_HTTP_PARAMETERS = 100
CONNECTION_STATE = "AUTHORIZED"
"""Credentials are used as given; an OAuth token is fetched when a task first needs it."""

_NAME = re.compile(r"[.\-_A-Za-z0-9]+")
_ARN = re.compile(r"arn:aws[a-z-]*:events:([a-z0-9-]*):(\d{12})?:connection/([.\-_A-Za-z0-9]+)"
                  r"/([-A-Za-z0-9]+)")
_HEADER_KEY = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-zA-Z]+")
_AUTH_VALUE = re.compile(r"[ \t]*[^\x00-\x1f:\x7f]+([ \t]+[^\x00-\x1f:\x7f]+)*[ \t]*")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")
_OAUTH_METHODS = ("GET", "POST", "PUT")
_HTTP_LISTS = ("HeaderParameters", "QueryStringParameters", "BodyParameters")


class AuthorizationType(StrEnum):
    API_KEY = "API_KEY"
    BASIC = "BASIC"
    OAUTH_CLIENT_CREDENTIALS = "OAUTH_CLIENT_CREDENTIALS"

    @property
    def parameters_field(self) -> str:
        """The field of ``authParameters`` that this type requires."""
        return _AUTH_FIELDS[self]


_AUTH_FIELDS = {AuthorizationType.API_KEY: "ApiKeyAuthParameters",
                AuthorizationType.BASIC: "BasicAuthParameters",
                AuthorizationType.OAUTH_CLIENT_CREDENTIALS: "OAuthParameters"}


class InvalidConnection(ValueError):
    """A connection request that does not have EventBridge's shape; says where."""

    def __init__(self, message: str, code: str = "InvalidConnection") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class Connection:
    """A stored connection with its secrets in clear: only ever held in memory, by the
    invoker that adds them to a request."""

    name: str
    arn: str
    authorization_type: AuthorizationType
    auth_parameters: dict[str, Any]

    def secrets(self) -> list[str]:
        """Every secret value of the connection (to scrub them from what a task reports)."""
        found: list[str] = []
        _walk_secrets(self.auth_parameters, found.append)
        return [s for s in found if s]


def connection_arn(name: str, uid: str, region: str, account: str) -> str:
    """A connection's ARN in the service's region and account (``Settings.place``)."""
    return f"arn:aws:events:{region}:{account}:connection/{name}/{uid}"


def parse_arn(arn: Any) -> str | None:
    """The connection name of a connection ARN, or None when ``arn`` is not one."""
    match = _ARN.fullmatch(arn) if isinstance(arn, str) and len(arn) <= 1600 else None
    return match.group(3) if match else None


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidConnection("connection name must be a non-empty string", "InvalidName")
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise InvalidConnection(f"connection name {name[:100]!r} must be 1 to {MAX_NAME} of the "
                                "characters A-Z a-z 0-9 . - _", "InvalidName")
    return name


def check_auth_parameters(kind: Any, params: Any) -> tuple[AuthorizationType, dict[str, Any]]:
    """The authorization type and a checked copy of ``authParameters``, else InvalidConnection."""
    try:
        auth = AuthorizationType(kind)
    except ValueError:
        raise InvalidConnection(f"authorizationType must be one of {', '.join(AuthorizationType)}"
                                f"; got {str(kind)[:100]!r}") from None
    where = "authParameters"
    _object(params, where)
    wanted = auth.parameters_field
    if wanted not in params:
        raise InvalidConnection(f"{where}.{wanted} is required for authorizationType {auth}")
    _only(params, (wanted, "InvocationHttpParameters"), where)
    body = params[wanted]
    inner = f"{where}.{wanted}"
    match auth:
        case AuthorizationType.API_KEY:
            _fields(body, inner, ("ApiKeyName", "ApiKeyValue"))
        case AuthorizationType.BASIC:
            _fields(body, inner, ("Username", "Password"))
        case AuthorizationType.OAUTH_CLIENT_CREDENTIALS:
            _oauth(body, inner)
    if "InvocationHttpParameters" in params:
        _http_parameters(params["InvocationHttpParameters"], f"{where}.InvocationHttpParameters")
    return auth, json.loads(json.dumps(params))


def _object(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise InvalidConnection(f"{where} must be an object")


def _only(value: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise InvalidConnection(f"{where} has unknown field(s) {', '.join(map(repr, unknown))}; "
                                f"expected only {', '.join(allowed)}")


def _fields(value: Any, where: str, names: tuple[str, ...], *, optional: tuple[str, ...] = ()
            ) -> None:
    """An object with the string fields ``names`` (AuthHeaderParameters: 1-512 characters,
    no control characters or colon), and nothing else but ``optional``."""
    _object(value, where)
    _only(value, names + optional, where)
    for name in names:
        text = value.get(name)
        if not isinstance(text, str):
            raise InvalidConnection(f"{where}.{name} is required (a string)")
        if len(text) > MAX_VALUE or not _AUTH_VALUE.fullmatch(text):
            raise InvalidConnection(f"{where}.{name} must be 1 to {MAX_VALUE} characters without "
                                    "control characters or ':'")


def _oauth(value: Any, where: str) -> None:
    _object(value, where)
    _only(value, ("AuthorizationEndpoint", "HttpMethod", "ClientParameters",
                  "OAuthHttpParameters"), where)
    endpoint = value.get("AuthorizationEndpoint")
    if (not isinstance(endpoint, str) or len(endpoint) > 2048
            or not endpoint.startswith(("https://", "http://")) or not endpoint.isprintable()):
        raise InvalidConnection(f"{where}.AuthorizationEndpoint is required: an http(s) URL")
    if value.get("HttpMethod") not in _OAUTH_METHODS:
        raise InvalidConnection(f"{where}.HttpMethod is required: one of {', '.join(_OAUTH_METHODS)}")
    _fields(value.get("ClientParameters"), f"{where}.ClientParameters", ("ClientID", "ClientSecret"))
    if "OAuthHttpParameters" in value:
        _http_parameters(value["OAuthHttpParameters"], f"{where}.OAuthHttpParameters")


def _http_parameters(value: Any, where: str) -> None:
    _object(value, where)
    _only(value, _HTTP_LISTS, where)
    for kind in _HTTP_LISTS:
        items = value.get(kind, [])
        if not isinstance(items, list) or len(items) > MAX_HTTP_PARAMETERS:
            raise InvalidConnection(f"{where}.{kind} must be a list of at most "
                                    f"{MAX_HTTP_PARAMETERS} {{Key, Value, IsValueSecret}} objects")
        for index, item in enumerate(items):
            at = f"{where}.{kind}[{index}]"
            _object(item, at)
            _only(item, ("Key", "Value", "IsValueSecret"), at)
            key, text = item.get("Key"), item.get("Value")
            if not isinstance(key, str) or not key or len(key) > MAX_VALUE:
                raise InvalidConnection(f"{at}.Key is required (a string of 1 to {MAX_VALUE})")
            if kind == "HeaderParameters" and not _HEADER_KEY.fullmatch(key):
                raise InvalidConnection(f"{at}.Key {key[:100]!r} is not a valid header name")
            if not isinstance(text, str) or len(text) > MAX_VALUE:
                raise InvalidConnection(f"{at}.Value is required (a string of at most {MAX_VALUE})")
            if kind == "HeaderParameters" and not _HEADER_VALUE.fullmatch(text):
                raise InvalidConnection(f"{at}.Value must be printable ASCII (a header value)")
            if not isinstance(item.get("IsValueSecret", False), bool):
                raise InvalidConnection(f"{at}.IsValueSecret must be true or false")


_SECRET_FIELDS = frozenset({"ApiKeyValue", "Password", "ClientSecret"})


def _walk_secrets(value: Any, found: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            secret = key in _SECRET_FIELDS or (key == "Value" and value.get("IsValueSecret") is True)
            if secret and isinstance(item, str):
                found(item)
            else:
                _walk_secrets(item, found)
    elif isinstance(value, list):
        for item in value:
            _walk_secrets(item, found)


def public_parameters(value: Any) -> Any:
    """``authParameters`` without any secret: what every answer shows."""
    if isinstance(value, list):
        return [public_parameters(item) for item in value]
    if not isinstance(value, dict):
        return value
    secret_value = value.get("IsValueSecret") is True
    return {key: public_parameters(item) for key, item in value.items()
            if key not in _SECRET_FIELDS and not (secret_value and key == "Value")}


def seal(params: dict[str, Any], box: SecretBox) -> str:
    """The whole parameter document encrypted for storage."""
    return box.encrypt(json.dumps(params, separators=(",", ":")))


def unseal(sealed: str, box: SecretBox) -> dict[str, Any]:
    params = json.loads(box.decrypt(sealed))
    if not isinstance(params, dict):
        raise TypeError("a stored connection's parameters are not an object")
    return params
