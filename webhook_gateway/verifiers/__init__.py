"""Verifiers, one module each; a route picks one by `verifier.type` in the YAML.

Adding a sender: write `verifiers/<name>.py` with a config model (`type: Literal[...]`,
`build(route) -> Verifier`) and add the config to `VerifierConfig` below.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from webhook_gateway.verifiers.base import SignedRequest, Verifier
from webhook_gateway.verifiers.none import NoVerifierConfig
from webhook_gateway.verifiers.standard_webhooks import StandardWebhooksConfig

VerifierConfig = Annotated[
    StandardWebhooksConfig | NoVerifierConfig,
    Field(discriminator="type"),
]

__all__ = ["SignedRequest", "Verifier", "VerifierConfig"]
