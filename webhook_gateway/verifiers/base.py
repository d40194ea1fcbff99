"""The one interface every verifier implements, and the optional hook some add."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from starlette.datastructures import Headers
from starlette.responses import Response


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


class Verifier(Protocol):
    """Checks one request; raises `VerificationFailed` with a reason slug when it fails."""

    #: Headers that carry credentials: never forwarded to a workflow, never logged.
    secret_headers: frozenset[str]

    def verify(self, request: SignedRequest) -> None: ...


@runtime_checkable
class Responder(Protocol):
    """Optional: a verifier that answers some *verified* requests itself, starting nothing
    (Slack's `url_verification` challenge). Returns None for every other request."""

    def respond(self, request: SignedRequest) -> Response | None: ...
