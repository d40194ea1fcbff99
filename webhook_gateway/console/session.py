"""The console's session: a signed cookie holding who signed in, their CSRF token and when
they were last seen.

The cookie is `base64url(json) "." base64url(hmac-sha256)`, keyed by a key derived from the
operator token, so every replica accepts the others' sessions and changing the token signs
everybody out. It is HttpOnly, SameSite=Strict, scoped to /console, Secure when the console
is reached over HTTPS, and re-issued on every page so that `idle` is an idle timeout, not a
lifetime. Nothing secret is stored in it: the operator token never leaves the sign-in form.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace

from starlette.responses import Response

COOKIE = "hooktide_console"
PATH = "/console"


@dataclass(frozen=True, kw_only=True)
class Session:
    who: str
    csrf: str
    seen: float

    @classmethod
    def new(cls, who: str, *, now: float | None = None) -> Session:
        return cls(who=who, csrf=secrets.token_urlsafe(24), seen=now or time.time())


class SessionCodec:
    """Writes and reads session cookies signed with a key derived from `secret`."""

    def __init__(self, secret: str, *, idle_seconds: float) -> None:
        self._key = hmac.new(secret.encode(), b"hooktide console session v1", "sha256").digest()
        self.idle_seconds = idle_seconds

    def __repr__(self) -> str:
        return f"SessionCodec(idle_seconds={self.idle_seconds})"

    def _mac(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def dumps(self, session: Session) -> str:
        data = json.dumps(
            {"who": session.who, "csrf": session.csrf, "seen": session.seen},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(data)}.{_b64(self._mac(data))}"

    def loads(self, cookie: str | None, *, now: float | None = None) -> Session | None:
        """The session in `cookie`, or None when it is missing, forged, malformed or idle
        for longer than the timeout."""
        if not cookie or cookie.count(".") != 1:
            return None
        body, mac = cookie.split(".")
        try:
            data, signature = _unb64(body), _unb64(mac)
        except (ValueError, binascii.Error):
            return None
        if not hmac.compare_digest(signature, self._mac(data)):
            return None
        try:
            fields = json.loads(data)
            session = Session(
                who=str(fields["who"]), csrf=str(fields["csrf"]), seen=float(fields["seen"])
            )
        except (ValueError, KeyError, TypeError):
            return None
        if (now or time.time()) - session.seen > self.idle_seconds:
            return None
        return session

    def set(self, response: Response, session: Session, *, secure: bool) -> None:
        """Issue (or re-issue, seen now) the cookie on `response`."""
        response.set_cookie(
            COOKIE,
            self.dumps(replace(session, seen=time.time())),
            max_age=int(self.idle_seconds),
            path=PATH,
            secure=secure,
            httponly=True,
            samesite="strict",
        )

    @staticmethod
    def clear(response: Response, *, secure: bool) -> None:
        response.delete_cookie(COOKIE, path=PATH, secure=secure, httponly=True, samesite="strict")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
