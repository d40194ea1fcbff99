"""Redaction skips its credential patterns for text holding none of their words: the
result must be what running every pattern gives, for any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from webhook_gateway.observability.logs import _CREDENTIAL_TEXT, REDACTED, RedactingFilter

SECRET = "s3cr3t-value-0123"
#: Words the patterns look for, in odd cases and with look-alikes that case folding matches
#: (the Kelvin sign is a "k", the long s an "s").
PIECES = [
    "Authorization", "proxy-authorization", "COOKIE", "coo\u212aie", "x-api-key", "X-API-KEY",
    "webhook-signature", "Signature", "\u017fignature", "x-shopify-hmac-sha256", "Bearer",
    "basic", "BASIC", "bearer=", "basic=", ":", "=", " ", "'", '"', "{", "}", ",", "v1,",
    "abcDEF123456", "tok_123456", "eyJhbGciOi.x.y", "dXNlcjpwYXNz==", "/webhooks/bearer",
    "route", "delivery", SECRET, "\n",
]  # fmt: skip


def every_pattern(text: str) -> str:
    text = text.replace(SECRET, REDACTED)
    for pattern, replace in _CREDENTIAL_TEXT:
        text = pattern.sub(replace, text)
    return text


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=12).map("".join))
def test_redaction_equals_every_pattern_applied(text: str) -> None:
    assert RedactingFilter([SECRET]).redact(text) == every_pattern(text)


def test_plain_values_and_sensitive_names_are_cleaned_as_before() -> None:
    clean = RedactingFilter([SECRET]).clean
    assert clean(7, "token") == 7
    assert clean(None, "signature") is None
    assert clean(True, "x") is True
    assert clean("abc", "api_key") == REDACTED
    assert clean(b"abc", "x-signature") == REDACTED
    assert clean({"authorization": "Bearer x", "n": 1.5}) == {"authorization": REDACTED, "n": 1.5}
    assert clean(f"a {SECRET} b", "route") == f"a {REDACTED} b"
