"""Verifiers, one module each; a route picks one by `verifier.type` in the YAML.

Adding a sender: write `verifiers/<name>.py` with a config model subclassing
`VerifierSettings` (`type: Literal[...]`, `build(route) -> Verifier`, the `signed_parts` its
signature covers, `default_delivery_id()` and `default_event_type()` if the sender has them)
and add the config to `VerifierConfig` below.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from webhook_gateway.verifiers.api_key import ApiKeyConfig
from webhook_gateway.verifiers.base import Handshake, Responder, SignedRequest, Verified, Verifier
from webhook_gateway.verifiers.basic_auth import BasicAuthConfig
from webhook_gateway.verifiers.bearer import BearerConfig
from webhook_gateway.verifiers.github import GitHubConfig
from webhook_gateway.verifiers.hmac_signature import HmacConfig
from webhook_gateway.verifiers.meta import MetaConfig
from webhook_gateway.verifiers.microsoft_graph import MicrosoftGraphConfig
from webhook_gateway.verifiers.none import NoVerifierConfig
from webhook_gateway.verifiers.shopify import ShopifyConfig
from webhook_gateway.verifiers.slack import SlackConfig
from webhook_gateway.verifiers.standard_webhooks import (
    StandardWebhooksConfig,
    StandardWebhooksV1aConfig,
)
from webhook_gateway.verifiers.stripe import StripeConfig
from webhook_gateway.verifiers.twilio import TwilioConfig
from webhook_gateway.verifiers.zoom import ZoomConfig

VerifierConfig = Annotated[
    StandardWebhooksConfig
    | StandardWebhooksV1aConfig
    | GitHubConfig
    | StripeConfig
    | ShopifyConfig
    | SlackConfig
    | TwilioConfig
    | ZoomConfig
    | MetaConfig
    | MicrosoftGraphConfig
    | HmacConfig
    | BearerConfig
    | ApiKeyConfig
    | BasicAuthConfig
    | NoVerifierConfig,
    Field(discriminator="type"),
]

__all__ = ["Handshake", "Responder", "SignedRequest", "Verified", "Verifier", "VerifierConfig"]
