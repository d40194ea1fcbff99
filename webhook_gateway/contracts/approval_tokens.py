"""Approval links: `/approvals/<token>`, signed, expiring and naming one pending decision.

    token = v1.<workflow id, base64url>.<nonce>.<expiry, unix seconds>.<HMAC-SHA256, base64url>

The HMAC covers the workflow id, the decision nonce and the expiry, keyed with
HOOKTIDE_APPROVAL_SECRET; the token holds only the MAC, never the secret. The worker makes
links (it sends the email), the gateway checks them; the workflow accepts one decision per
nonce, which is what makes a link single-use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

VERSION = "v1"
NONCE = re.compile(r"[0-9a-f-]{8,64}")
B64URL = re.compile(r"[A-Za-z0-9_-]+")


class ApprovalTokenError(Exception):
    """An approval link that cannot be used; `status` is the HTTP status to answer with."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)


class MalformedToken(ApprovalTokenError):
    """The link is not an approval link at all (cut short, or mangled)."""

    status = 400


class TamperedToken(ApprovalTokenError):
    """The link's signature does not match: changed, or made with another secret."""

    status = 403


class ExpiredToken(ApprovalTokenError):
    """The link was genuine but its time is up."""

    status = 410


@dataclass(frozen=True)
class ApprovalToken:
    workflow_id: str
    nonce: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, workflow_id: str, nonce: str, expiry: int) -> bytes:
    message = f"{VERSION}\n{workflow_id}\n{nonce}\n{expiry}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def _spell(workflow_id: bytes, nonce: str, expiry: int, mac: bytes) -> str:
    return ".".join((VERSION, _b64(workflow_id), nonce, str(expiry), _b64(mac)))


def make_token(secret: str, workflow_id: str, nonce: str, expires_at: datetime) -> str:
    expiry = int(expires_at.timestamp())
    return _spell(workflow_id.encode(), nonce, expiry, _mac(secret, workflow_id, nonce, expiry))


def read_token(secret: str, token: str, *, now: datetime | None = None) -> ApprovalToken:
    """Check a token: `MalformedToken`, `TamperedToken` or `ExpiredToken` if it is unusable.
    The signature is checked before the expiry, so nothing unsigned is ever believed."""
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != VERSION:
        raise MalformedToken("This is not a Hooktide approval link.")
    _, wid_part, nonce, expiry_part, mac_part = parts
    try:
        raw_workflow_id = _unb64(wid_part)
        workflow_id = raw_workflow_id.decode()
        mac = _unb64(mac_part)
        expiry = int(expiry_part)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise MalformedToken("This approval link is damaged (was it cut short?).") from None
    if not NONCE.fullmatch(nonce) or not workflow_id:
        raise MalformedToken("This approval link is damaged (was it cut short?).")
    # Base64 leaves bits unused and int() reads "+1", " 1" and "01" alike: a token is good
    # only as the one string `make_token` spells, or a changed link could still verify.
    if _spell(raw_workflow_id, nonce, expiry, mac) != token or not hmac.compare_digest(
        mac, _mac(secret, workflow_id, nonce, expiry)
    ):
        raise TamperedToken("This approval link is not valid: it was changed or not issued here.")
    expires_at = datetime.fromtimestamp(expiry, tz=UTC)
    if (now or datetime.now(UTC)) >= expires_at:
        raise ExpiredToken(f"This approval link expired at {expires_at:%Y-%m-%d %H:%M} UTC.")
    return ApprovalToken(workflow_id=workflow_id, nonce=nonce, expires_at=expires_at)


def approval_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/approvals/{token}"
