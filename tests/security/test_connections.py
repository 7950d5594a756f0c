"""Connections' shape (EventBridge's CreateConnection AuthParameters), their public view
and their sealing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from statemachine.security.connections import (
    InvalidConnection,
    check_auth_parameters,
    check_name,
    connection_arn,
    parse_arn,
    public_parameters,
    seal,
    unseal,
)
from statemachine.security.secretbox import SecretBox

OAUTH = {"OAuthParameters": {
    "AuthorizationEndpoint": "https://idp.example/token", "HttpMethod": "POST",
    "ClientParameters": {"ClientID": "id-1", "ClientSecret": "client-secret-1"},
    "OAuthHttpParameters": {"HeaderParameters": [
        {"Key": "X-Idp-Key", "Value": "idp-secret-2", "IsValueSecret": True}]}},
    "InvocationHttpParameters": {"QueryStringParameters": [
        {"Key": "region", "Value": "eu", "IsValueSecret": False}]}}


def test_the_three_types_are_accepted() -> None:
    assert check_auth_parameters("API_KEY", {"ApiKeyAuthParameters": {
        "ApiKeyName": "X-Api-Key", "ApiKeyValue": "v"}})[0] == "API_KEY"
    assert check_auth_parameters("BASIC", {"BasicAuthParameters": {
        "Username": "u", "Password": "p"}})[0] == "BASIC"
    kind, params = check_auth_parameters("OAUTH_CLIENT_CREDENTIALS", OAUTH)
    assert kind == "OAUTH_CLIENT_CREDENTIALS" and params == OAUTH and params is not OAUTH


@pytest.mark.parametrize(("kind", "params", "says"), [
    ("TOKEN", {}, "authorizationType must be one of API_KEY, BASIC, OAUTH_CLIENT_CREDENTIALS"),
    ("API_KEY", [], "authParameters must be an object"),
    ("API_KEY", {"BasicAuthParameters": {"Username": "u", "Password": "p"}},
     "authParameters.ApiKeyAuthParameters is required for authorizationType API_KEY"),
    ("API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"},
                 "BasicAuthParameters": {"Username": "u", "Password": "p"}},
     "unknown field(s) 'BasicAuthParameters'"),
    ("API_KEY", {}, "authParameters.ApiKeyAuthParameters is required for authorizationType"),
    ("API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "k"}},
     "authParameters.ApiKeyAuthParameters.ApiKeyValue is required (a string)"),
    ("BASIC", {"BasicAuthParameters": {"Username": "a:b", "Password": "p"}},
     "Username must be 1 to 512 characters without control characters or ':'"),
    ("BASIC", {"BasicAuthParameters": {"Username": "u", "Password": "p", "Extra": 1}},
     "unknown field(s) 'Extra'"),
    ("OAUTH_CLIENT_CREDENTIALS", {"OAuthParameters": {**OAUTH["OAuthParameters"],
                                                      "HttpMethod": "DELETE"}},
     "HttpMethod is required: one of GET, POST, PUT"),
    ("OAUTH_CLIENT_CREDENTIALS", {"OAuthParameters": {**OAUTH["OAuthParameters"],
                                                      "AuthorizationEndpoint": "ftp://x"}},
     "AuthorizationEndpoint is required: an http(s) URL"),
    ("API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"},
                 "InvocationHttpParameters": {"HeaderParameters": [{"Key": "bad key",
                                                                    "Value": "v"}]}},
     "HeaderParameters[0].Key 'bad key' is not a valid header name"),
    ("API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"},
                 "InvocationHttpParameters": {"BodyParameters": [{"Key": "k", "Value": "v",
                                                                  "IsValueSecret": "yes"}]}},
     "BodyParameters[0].IsValueSecret must be true or false"),
])
def test_a_wrong_shape_is_refused_naming_the_field(kind: str, params: Any, says: str) -> None:
    with pytest.raises(InvalidConnection) as refused:
        check_auth_parameters(kind, params)
    assert says in refused.value.message


def test_names_and_arns() -> None:
    assert check_name("stripe.prod-1_a") == "stripe.prod-1_a"
    for bad in ("", "a b", "x" * 65, "a/b", None):
        with pytest.raises(InvalidConnection):
            check_name(bad)
    arn = connection_arn("stripe", "81210c42-8af1-456b-9c4a-6ff02fc664ac", "us-east-1", "123456789012")
    assert arn == ("arn:aws:events:us-east-1:123456789012:connection/stripe/"
                   "81210c42-8af1-456b-9c4a-6ff02fc664ac")
    assert parse_arn(arn) == "stripe"
    assert parse_arn("arn:aws:events:us-east-1:123456789012:connection/stripe") is None
    assert parse_arn("arn:aws:states:us-east-1:123456789012:activity:x") is None
    assert parse_arn(42) is None


def test_the_public_view_has_no_secret_and_the_sealed_form_no_clear_text() -> None:
    public = public_parameters(OAUTH)
    text = json.dumps(public)
    assert "client-secret-1" not in text and "idp-secret-2" not in text
    assert public["OAuthParameters"]["ClientParameters"] == {"ClientID": "id-1"}
    assert public["OAuthParameters"]["OAuthHttpParameters"]["HeaderParameters"] == [
        {"Key": "X-Idp-Key", "IsValueSecret": True}]
    assert public["InvocationHttpParameters"] == OAUTH["InvocationHttpParameters"]
    box = SecretBox.generate()
    sealed = seal(OAUTH, box)
    assert "client-secret-1" not in sealed and "id-1" not in sealed
    assert unseal(sealed, box) == OAUTH
