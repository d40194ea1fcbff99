"""Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1(auth token, URL + sorted form params)>`.

The signed string is the full URL Twilio called (scheme, host, port, path, query) followed,
for form bodies, by each parameter name and its value, sorted by name. JSON bodies are
covered through the URL's `bodySHA256=<hex sha256(body)>` query parameter instead. As
Twilio's own validator does, the URL is tried with and without its default port.

Behind a reverse proxy the URL must be the public one: set `public_url`, or list the proxy
in HOOKTIDE_TRUSTED_PROXIES so that its X-Forwarded-Proto/Host are honoured.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import ClassVar, Literal
from urllib.parse import SplitResult, parse_qs, parse_qsl, urlsplit, urlunsplit

from pydantic import Field

from webhook_gateway.config.id_rule import IdPart, IdRule
from webhook_gateway.contracts.secrets import SecretSources
from webhook_gateway.errors import VerificationFailed
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.base import SignedRequest, Verified, VerifierSettings

HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
ALGORITHMS: dict[str, checks.Algorithm] = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}
FORM = "application/x-www-form-urlencoded"


class TwilioConfig(VerifierSettings):
    signed_parts: ClassVar[frozenset[IdPart]] = frozenset({"body", "url"})

    type: Literal["twilio"]
    secret: SecretSources
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+(/[^?#]*)?$")

    def build(self, route: str) -> TwilioVerifier:
        keys = self.secret.keys(route, minimum=checks.MIN_HMAC_KEY_BYTES)
        return TwilioVerifier(keys, public_url=self.public_url)

    def default_delivery_id(self) -> IdRule:
        return IdRule(jmespath="MessageSid || CallSid")


class TwilioVerifier:
    secret_headers: frozenset[str] = frozenset({"x-twilio-signature"})

    def __init__(self, keys: list[bytes], *, public_url: str | None = None) -> None:
        self._keys = keys
        self._base = public_url.rstrip("/") if public_url else None

    def verify(self, request: SignedRequest) -> Verified:
        given = checks.decode(checks.header(request, HEADER), "base64")
        algorithm = self._algorithm(request)
        if given is None or len(given) != hashlib.new(algorithm).digest_size:
            raise checks.malformed(f"Header {HEADER} must be the base64 of an HMAC.")
        try:
            url = self._public(request.url)
            variants = [url, *_ports(urlsplit(url))]
        except ValueError as exc:
            raise checks.malformed("The Host header does not form a valid URL.") from exc
        params = self._signed_params(request, url)
        for variant in dict.fromkeys(variants):
            signed = (variant + params).encode("utf-8", "surrogateescape")
            expected = (checks.digest(key, signed, algorithm) for key in self._keys)
            if checks.any_match(expected, [given]):
                return Verified()
        raise checks.bad_signature(
            f"Header {HEADER} does not match the URL, the parameters and the auth token; "
            "if a proxy is in front, set the route's public_url to the URL Twilio calls."
        )

    def _algorithm(self, request: SignedRequest) -> checks.Algorithm:
        if not request.headers.get(SETTINGS_HEADER):
            return "sha1"
        for part in checks.header(request, SETTINGS_HEADER).split(","):
            name, _, value = part.partition("=")
            if name.strip() == "algorithm":
                found = ALGORITHMS.get(value.strip().upper())
                if found is None:
                    raise checks.malformed(
                        f"Header {SETTINGS_HEADER} names an algorithm other than "
                        f"{' or '.join(ALGORITHMS)}."
                    )
                return found
        return "sha1"

    def _public(self, url: str) -> str:
        if self._base is None:
            return url
        parts = urlsplit(url)
        return self._base + parts.path + (f"?{parts.query}" if parts.query else "")

    def _signed_params(self, request: SignedRequest, url: str) -> str:
        """The form parameters as Twilio appends them, or "" for a body covered by the URL."""
        media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        if media == FORM:
            text = request.body.decode("utf-8", "surrogateescape")
            pairs = parse_qsl(text, keep_blank_values=True, errors="surrogateescape")
            params: dict[str, set[str]] = {}
            for name, value in pairs:
                params.setdefault(name, set()).add(value)
            return "".join(n + v for n in sorted(params) for v in sorted(params[n]))
        if not request.body:
            return ""
        declared = parse_qs(urlsplit(url).query).get("bodySHA256")
        if not declared:
            raise VerificationFailed(
                "The body is not form-encoded and the URL carries no bodySHA256 parameter, "
                "so the signature would not cover it.",
                reason="unsigned-body",
            )
        actual = hashlib.sha256(request.body).hexdigest()
        if not hmac.compare_digest(actual.encode(), declared[0].lower().encode()):
            raise VerificationFailed(
                "The URL's bodySHA256 is not the SHA-256 of the body.", reason="bad-body-hash"
            )
        return ""


def _ports(parts: SplitResult) -> list[str]:
    """The URL with its default port written out, and without any port (Twilio signs
    either, depending on how the webhook URL was configured)."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port
    except ValueError:
        return []
    with_port = f"{host}:{port or default}"
    return [urlunsplit(parts._replace(netloc=n)) for n in (with_port, host)]
