"""GitHub, checked against the example in GitHub's "Validating webhook deliveries" docs."""

from __future__ import annotations

import hashlib
import hmac

from tests.verifiers.support import rejected, request
from webhook_gateway.verifiers.github import GitHubVerifier

# GitHub's documented test values: this secret and payload give exactly this signature.
DOC_SECRET = b"It's a Secret to Everybody"
DOC_BODY = b"Hello, World!"
DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

GITHUB = GitHubVerifier([DOC_SECRET])


def test_githubs_documented_example_is_accepted() -> None:
    GITHUB.verify(request({"X-Hub-Signature-256": DOC_SIGNATURE}, DOC_BODY))


def test_any_live_secret_matches_during_rotation() -> None:
    rotating = GitHubVerifier([b"old-secret", DOC_SECRET])
    rotating.verify(request({"X-Hub-Signature-256": DOC_SIGNATURE}, DOC_BODY))


def test_upper_case_hex_is_accepted() -> None:
    upper = "sha256=" + DOC_SIGNATURE.removeprefix("sha256=").upper()
    GITHUB.verify(request({"X-Hub-Signature-256": upper}, DOC_BODY))


def test_missing_signature_header_is_missing_header() -> None:
    failure = rejected(GITHUB, request({}, DOC_BODY))
    assert failure.reason == "missing-header"
    assert "X-Hub-Signature-256" in failure.detail


def test_legacy_sha1_header_alone_is_missing_header() -> None:
    sha1 = "sha1=" + hmac.new(DOC_SECRET, DOC_BODY, hashlib.sha1).hexdigest()
    assert rejected(GITHUB, request({"X-Hub-Signature": sha1}, DOC_BODY)).reason == (
        "missing-header"
    )


def test_signature_without_sha256_prefix_is_malformed_header() -> None:
    bare = DOC_SIGNATURE.removeprefix("sha256=")
    assert rejected(GITHUB, request({"X-Hub-Signature-256": bare}, DOC_BODY)).reason == (
        "malformed-header"
    )


def test_tampered_body_is_bad_signature_and_detail_reveals_no_digest() -> None:
    failure = rejected(GITHUB, request({"X-Hub-Signature-256": DOC_SIGNATURE}, b"Hello, World?"))
    assert failure.reason == "bad-signature"
    expected = hmac.new(DOC_SECRET, b"Hello, World?", hashlib.sha256).hexdigest()
    assert expected not in failure.detail
    assert "It's a Secret" not in failure.detail


def test_wrong_secret_is_bad_signature() -> None:
    other = GitHubVerifier([b"not the secret"])
    assert rejected(other, request({"X-Hub-Signature-256": DOC_SIGNATURE}, DOC_BODY)).reason == (
        "bad-signature"
    )
