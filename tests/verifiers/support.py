"""Building `SignedRequest`s as the gateway would, with any headers (repeated, raw bytes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest
from starlette.datastructures import Headers

from webhook_gateway.errors import VerificationFailed
from webhook_gateway.verifiers.base import SignedRequest, Verifier

URL = "https://hooks.example.com/webhooks/test"
HeaderItems = Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]]


def request(
    headers: HeaderItems = (), body: bytes = b"", *, url: str = URL, method: str = "POST"
) -> SignedRequest:
    items = headers.items() if isinstance(headers, Mapping) else headers
    raw = [
        (k.lower().encode("latin-1"), v if isinstance(v, bytes) else v.encode()) for k, v in items
    ]
    return SignedRequest(method=method, url=url, headers=Headers(raw=raw), body=body)


def rejected(verifier: Verifier, req: SignedRequest) -> VerificationFailed:
    """The `VerificationFailed` that `verify` raises (and fails the test if it does not)."""
    with pytest.raises(VerificationFailed) as info:
        verifier.verify(req)
    assert info.value.status == 401
    assert info.value.slug == f"verification-failed/{info.value.reason}"
    return info.value
