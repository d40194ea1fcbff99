"""Visibility page tokens in the console's URLs, signed with a key derived from the operator
token: Temporal is only ever handed a token it made. (The dev server retries a token it
cannot read for seconds before refusing it; a forged one never reaches it.)"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from webhook_gateway.config.settings import Settings
from webhook_gateway.errors import MalformedBody

MAC_BYTES = 16


def bad_token() -> MalformedBody:
    return MalformedBody("The page token is not valid; start from the first page.")


def _mac(settings: Settings, token: bytes) -> bytes:
    secret = settings.operator_token
    assert secret is not None  # the console is mounted only with one (app.py)
    key = hmac.new(secret.get_secret_value().encode(), b"console page token", hashlib.sha256)
    return hmac.new(key.digest(), token, hashlib.sha256).digest()[:MAC_BYTES]


def encode(settings: Settings, token: bytes) -> str:
    return base64.urlsafe_b64encode(_mac(settings, token) + token).rstrip(b"=").decode()


def decode(settings: Settings, text: str) -> bytes | None:
    """The token in `text` (None for the first page); `MalformedBody` unless it is one
    `encode` made."""
    if not text:
        return None
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (ValueError, binascii.Error):
        raise bad_token() from None
    mac, token = raw[:MAC_BYTES], raw[MAC_BYTES:]
    if not token or not hmac.compare_digest(mac, _mac(settings, token)):
        raise bad_token()
    return token
