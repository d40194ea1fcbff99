"""Bearer token, API key header and HTTP Basic (RFC 7617's Aladdin example, and headers
built by httpx's own `BasicAuth`)."""

from __future__ import annotations

import httpx

from tests.verifiers.support import rejected, request
from webhook_gateway.verifiers.api_key import ApiKeyVerifier
from webhook_gateway.verifiers.basic_auth import BasicAuthVerifier
from webhook_gateway.verifiers.bearer import BearerVerifier

BEARER = BearerVerifier([b"tok-old", b"tok-new"])
API_KEY = ApiKeyVerifier([b"key-1"], header="X-Acme-Key")
BASIC = BasicAuthVerifier("Aladdin", [b"open sesame"])


def httpx_basic(user: str, password: str) -> str:
    flow = httpx.BasicAuth(user, password).auth_flow(httpx.Request("POST", "http://127.0.0.1/"))
    return next(flow).headers["authorization"]


def test_bearer_accepts_every_live_token() -> None:
    BEARER.verify(request({"Authorization": "Bearer tok-old"}))
    BEARER.verify(request({"Authorization": "bearer tok-new"}))


def test_bearer_missing_authorization_is_missing_header() -> None:
    assert rejected(BEARER, request({})).reason == "missing-header"


def test_bearer_with_basic_scheme_is_malformed_header() -> None:
    assert rejected(BEARER, request({"Authorization": "Basic dG9rLW9sZA=="})).reason == (
        "malformed-header"
    )


def test_bearer_unknown_token_is_bad_signature() -> None:
    failure = rejected(BEARER, request({"Authorization": "Bearer tok-older"}))
    assert failure.reason == "bad-signature"
    assert "tok-old" not in failure.detail


def test_api_key_in_its_configured_header_is_accepted() -> None:
    API_KEY.verify(request({"x-acme-key": "key-1"}))
    assert API_KEY.secret_headers == frozenset({"x-acme-key"})


def test_api_key_missing_is_missing_header() -> None:
    assert rejected(API_KEY, request({"X-API-Key": "key-1"})).reason == "missing-header"


def test_api_key_sent_twice_is_malformed_header() -> None:
    twice = [("X-Acme-Key", "key-1"), ("X-Acme-Key", "key-2")]
    assert rejected(API_KEY, request(twice)).reason == "malformed-header"


def test_api_key_wrong_is_bad_signature() -> None:
    assert rejected(API_KEY, request({"X-Acme-Key": "key-2"})).reason == "bad-signature"


def test_basic_rfc_7617_example_and_httpx_header_are_accepted() -> None:
    BASIC.verify(request({"Authorization": "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}))
    BASIC.verify(request({"Authorization": httpx_basic("Aladdin", "open sesame")}))


def test_basic_non_ascii_password_sent_as_utf8_is_accepted() -> None:
    verifier = BasicAuthVerifier("zoë", ["pässwörd".encode()])
    verifier.verify(request({"Authorization": httpx_basic("zoë", "pässwörd")}))


def test_basic_without_colon_is_malformed_header() -> None:
    assert rejected(BASIC, request({"Authorization": "Basic QWxhZGRpbg=="})).reason == (
        "malformed-header"
    )


def test_basic_wrong_password_is_bad_signature() -> None:
    header = httpx_basic("Aladdin", "close sesame")
    assert rejected(BASIC, request({"Authorization": header})).reason == "bad-signature"


def test_basic_wrong_user_is_bad_signature() -> None:
    header = httpx_basic("Jafar", "open sesame")
    assert rejected(BASIC, request({"Authorization": header})).reason == "bad-signature"
