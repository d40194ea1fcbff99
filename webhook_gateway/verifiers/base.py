"""The one interface every verifier implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from starlette.datastructures import Headers


@dataclass(frozen=True, kw_only=True)
class SignedRequest:
    """What a verifier may look at: the raw bytes as received, before any parsing."""

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
