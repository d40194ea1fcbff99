"""The one interface every verifier implements, and the optional hook some add."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.responses import Response

from webhook_gateway.config.event_type import EventTypeRule
from webhook_gateway.config.id_rule import IdPart, IdRule


@dataclass(frozen=True, kw_only=True)
class SignedRequest:
    """What a verifier may look at: the raw bytes as received, before any parsing.

    `url` is the URL the sender called: behind a trusted proxy, with the scheme and host
    the proxy reported (see `client_ip.ProxyTrust.public_url`).
    """

    method: str
    url: str
    headers: Headers
    body: bytes
    client_ip: str | None = None
    path_params: dict[str, str] = field(default_factory=dict)


#: Seconds a signed timestamp may be off, both ways (`tolerance_seconds`, default 300).
Tolerance = Annotated[int, Field(ge=1, le=86_400)]


@dataclass(frozen=True)
class Verified:
    """What a verifier vouches for beyond the body: the id inside the signed content, for
    schemes that sign one (Standard Webhooks' `webhook-id`)."""

    signed_id: str | None = None


class Verifier(Protocol):
    """Checks one request; raises `VerificationFailed` with a reason slug when it fails."""

    #: Headers that carry credentials: never forwarded to a workflow, never logged.
    secret_headers: frozenset[str]

    def verify(self, request: SignedRequest) -> Verified: ...


class VerifierSettings(BaseModel):
    """What every verifier's config says about itself, besides how to build it.

    `signed_parts` are the parts of a request the signature covers: a delivery id read from
    any other part could be replaced by whoever replays a captured request, so a route must
    mark such an id `unsigned: true`. `id_headers` are headers that carry the signed id.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    signed_parts: ClassVar[frozenset[IdPart]] = frozenset()
    id_headers: ClassVar[tuple[str, ...]] = ()
    #: Methods the sender's ownership check uses besides the route's own (Meta's GET).
    handshake_methods: ClassVar[frozenset[str]] = frozenset()

    def default_delivery_id(self) -> IdRule | None:
        """The sender's own delivery id, or None when the route must name one."""
        return None

    def default_event_type(self) -> EventTypeRule | None:
        """Where the sender names its event type, or None when it does not."""
        return None

    def signs(self, rule: IdRule) -> bool:
        return rule.part in self.signed_parts or (rule.part is None)

    def normalize_id(self, rule: IdRule) -> IdRule:
        """A header that carries the signed id is read as the signed id itself."""
        if rule.header in self.id_headers:
            return IdRule(signed_id=True, prefix=rule.prefix, unsigned=rule.unsigned)
        return rule


@runtime_checkable
class Handshake(Protocol):
    """Optional: a verifier that answers its sender's endpoint-ownership check *before*
    verification, behind that sender's own check (Meta's verify token), starting nothing.
    It sees method, URL and headers only (`body` is empty); None for every other request."""

    def handshake(self, request: SignedRequest) -> Response | None: ...


@runtime_checkable
class Responder(Protocol):
    """Optional: a verifier that answers some *verified* requests itself, starting nothing
    (Slack's `url_verification` challenge). Returns None for every other request."""

    def respond(self, request: SignedRequest) -> Response | None: ...


class TimestampedHmac:
    """Shared state of HMAC verifiers whose scheme signs a timestamp (Stripe, Slack)."""

    def __init__(
        self,
        keys: list[bytes],
        *,
        tolerance_seconds: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._tolerance = tolerance_seconds
        self._clock = clock
