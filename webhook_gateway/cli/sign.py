"""`hooktide send`: the headers a route's verifier expects, made with the route's own secret.

One function per verifier type, the sender's side of `verifiers/<type>.py` (Meta signs as
GitHub does, Zoom as Slack does: they share one). Microsoft Graph signs nothing, so `send`
only checks that the file already carries the route's `clientState`.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.datastructures import Headers

from webhook_gateway.config.routes import Route
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.signing import decode_secret, sign
from webhook_gateway.errors import VerificationFailed
from webhook_gateway.verifiers import checks
from webhook_gateway.verifiers.api_key import ApiKeyConfig
from webhook_gateway.verifiers.base import SignedRequest
from webhook_gateway.verifiers.basic_auth import BasicAuthConfig
from webhook_gateway.verifiers.bearer import BearerConfig
from webhook_gateway.verifiers.github import GitHubConfig
from webhook_gateway.verifiers.hmac_signature import HmacConfig
from webhook_gateway.verifiers.meta import MetaConfig
from webhook_gateway.verifiers.microsoft_graph import FIELD as CLIENT_STATE
from webhook_gateway.verifiers.microsoft_graph import MicrosoftGraphConfig
from webhook_gateway.verifiers.none import NoVerifierConfig
from webhook_gateway.verifiers.shopify import ShopifyConfig
from webhook_gateway.verifiers.slack import SlackConfig
from webhook_gateway.verifiers.standard_webhooks import StandardWebhooksConfig
from webhook_gateway.verifiers.stripe import StripeConfig
from webhook_gateway.verifiers.twilio import TwilioConfig
from webhook_gateway.verifiers.zoom import ZoomConfig

Signer = Callable[[Route, bytes, str, str, int], dict[str, str]]


def _encode(raw: bytes, encoding: checks.Encoding) -> str:
    if encoding == "hex":
        return raw.hex()
    if encoding == "base64":
        return base64.b64encode(raw).decode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _first(route: Route, attr: str) -> str:
    source = getattr(route.verifier, attr)
    return str(source.resolve(route.name)[0])


def _standard(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    key = decode_secret(_first(route, "secret"), route=route.name)
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(now),
        "webhook-signature": sign(key, delivery_id, now, body),
    }


def _hub(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    """GitHub's signature, which Meta uses too (Meta sends no delivery id header)."""
    mac = checks.digest(_first(route, "secret").encode(), body).hex()
    return {"X-Hub-Signature-256": f"sha256={mac}"}


def _github(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    return _hub(route, body, delivery_id, url, now) | {"X-GitHub-Delivery": delivery_id}


def _stripe(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    mac = checks.digest(_first(route, "secret").encode(), f"{now}.".encode() + body).hex()
    return {"Stripe-Signature": f"t={now},v1={mac}"}


def _shopify(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    mac = checks.digest(_first(route, "secret").encode(), body)
    return {
        "X-Shopify-Hmac-Sha256": base64.b64encode(mac).decode(),
        "X-Shopify-Webhook-Id": delivery_id,
    }


def _v0(route: Route, body: bytes, now: int) -> str:
    """Slack's and Zoom's signature: `v0=` and the hex HMAC-SHA256 of `v0:{ts}:{body}`."""
    mac = checks.digest(_first(route, "secret").encode(), f"v0:{now}:".encode() + body).hex()
    return f"v0={mac}"


def _slack(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    return {"X-Slack-Signature": _v0(route, body, now), "X-Slack-Request-Timestamp": str(now)}


def _zoom(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    return {"x-zm-signature": _v0(route, body, now), "x-zm-request-timestamp": str(now)}


def _twilio(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    # Form bodies only: the URL followed by each parameter and value, sorted by name.
    params = sorted(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    signed = url + "".join(k + v for k, v in params)
    mac = checks.digest(_first(route, "secret").encode(), signed.encode(), "sha1")
    return {"X-Twilio-Signature": base64.b64encode(mac).decode()}


def _microsoft_graph(
    route: Route, body: bytes, delivery_id: str, url: str, now: int
) -> dict[str, str]:
    """No headers: Graph's secret is the `clientState` of every item of the body's `value`.

    `send` posts FILE byte for byte, as it does for every sender, so it cannot write the
    secret into the body for you. Instead it checks the file with the route's own verifier
    before posting: a missing or different `clientState` stops here, naming the variable or
    file whose value to copy into each item, rather than coming back as a 401.
    """
    cfg = route.verifier
    assert isinstance(cfg, MicrosoftGraphConfig)
    request = SignedRequest(method="POST", url=url, headers=Headers(), body=body)
    try:
        cfg.build(route.name).verify(request)
    except VerificationFailed as exc:
        raise ConfigError(
            f"Route '{route.name}': {exc.detail} Microsoft Graph signs nothing, and 'send' "
            f'posts the file as it is: set "{CLIENT_STATE}" in every item of the body\'s '
            f'"value" list to the route\'s client_state ({cfg.client_state.describe()}).'
        ) from exc
    return {}


def _hmac(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    cfg = route.verifier
    assert isinstance(cfg, HmacConfig)
    before, after = cfg.signed_content.split("{body}")
    stamp = str(now)
    signed = before.replace("{timestamp}", stamp).encode() + body
    signed += after.replace("{timestamp}", stamp).encode()
    mac = checks.digest(_first(route, "secret").encode(), signed, cfg.algorithm)
    headers = {cfg.header: cfg.prefix + _encode(mac, cfg.encoding)}
    if cfg.timestamp_header:
        headers[cfg.timestamp_header] = stamp
    return headers


def _bearer(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {_first(route, 'token')}"}


def _api_key(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    cfg = route.verifier
    assert isinstance(cfg, ApiKeyConfig)
    return {cfg.header: _first(route, "key")}


def _basic(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    cfg = route.verifier
    assert isinstance(cfg, BasicAuthConfig)
    pair = f"{cfg.username}:{_first(route, 'password')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _none(route: Route, body: bytes, delivery_id: str, url: str, now: int) -> dict[str, str]:
    return {}


SIGNERS: dict[type, Signer] = {
    StandardWebhooksConfig: _standard,
    GitHubConfig: _github,
    MetaConfig: _hub,
    StripeConfig: _stripe,
    ShopifyConfig: _shopify,
    SlackConfig: _slack,
    ZoomConfig: _zoom,
    TwilioConfig: _twilio,
    MicrosoftGraphConfig: _microsoft_graph,
    HmacConfig: _hmac,
    BearerConfig: _bearer,
    ApiKeyConfig: _api_key,
    BasicAuthConfig: _basic,
    NoVerifierConfig: _none,
}


def signed_headers(
    route: Route, body: bytes, *, delivery_id: str, url: str, now: int | None = None
) -> dict[str, str]:
    """Every header `route` needs for `body`: its verifier's, and the delivery id's header."""
    signer = SIGNERS.get(type(route.verifier))
    if signer is None:
        raise ConfigError(
            f"Route '{route.name}': 'send' cannot sign for verifier type "
            f"'{route.verifier.type}' (it needs the sender's private key)."
        )
    headers = signer(route, body, delivery_id, url, int(time.time()) if now is None else now)
    rule = route.delivery_id_rule
    if rule.header and rule.header not in {h.lower() for h in headers}:
        headers[rule.header] = delivery_id
    return headers
