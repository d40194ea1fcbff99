"""What `Kit.send` puts on the wire, and what it hands back.

A body is signed by `hooktide send`'s own signers (cli/sign.py), for every verifier type they
support; the test's headers are laid over the signed ones afterwards, so that a test can
forge, drop or replace exactly one of them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from webhook_gateway.cli.sign import signed_headers
from webhook_gateway.config.routes import Route
from webhook_gateway.verifiers.twilio import FORM, TwilioConfig

#: The gateway's address as its requests show it (served in process: nothing listens there).
BASE_URL = "http://hooktide.test"
JSON = "application/json"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    content: bytes
    headers: dict[str, str]
    delivery_id: str


@dataclass(frozen=True)
class Answer:
    """The gateway's answer to one `Kit.send`: `json` is the parsed body (None if not JSON)."""

    route: str
    delivery_id: str
    status: int
    headers: httpx.Headers
    text: str
    json: Any

    def __repr__(self) -> str:
        return f"<Answer {self.status} from route {self.route!r}: {self.text[:200]}>"


def signed_request(
    route: Route,
    body: Any,
    *,
    headers: Mapping[str, str | None] | None = None,
    delivery_id: str | None = None,
    path_params: Mapping[str, str] | None = None,
    method: str | None = None,
) -> Request:
    """`body` for `route`, signed: bytes and text as they are, anything else as JSON (as a
    form for a route that takes forms and not JSON, as Twilio's do). In `headers`, None
    removes a header."""
    content, content_type = _encode(route, body)
    path = route.path
    for key, value in (path_params or {}).items():
        path = path.replace("{" + key + "}", value)
    if "{" in path:
        raise ValueError(f"Route '{route.name}': fill {path} with path_params={{...}}")
    delivery_id = delivery_id or f"msg_{uuid.uuid4().hex}"
    signed = signed_headers(route, content, delivery_id=delivery_id, url=_signed_url(route, path))
    merged: dict[str, str | None] = {"content-type": content_type}
    merged |= {k.lower(): v for k, v in signed.items()}
    merged |= {k.lower(): v for k, v in (headers or {}).items()}
    return Request(
        method=method or ("POST" if "POST" in route.methods else route.methods[0]),
        path=path,
        content=content,
        headers={k: v for k, v in merged.items() if v is not None},
        delivery_id=delivery_id,
    )


def answer(route: str, request: Request, response: httpx.Response) -> Answer:
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    return Answer(
        route=route,
        delivery_id=request.delivery_id,
        status=response.status_code,
        headers=response.headers,
        text=response.text,
        json=parsed,
    )


def workflow_id(ack: Answer | Mapping[str, Any], rule: str | None) -> str:
    """The workflow an acknowledgement names: the route's, or with rules the first target's
    (or rule `rule`'s)."""
    data = ack.json if isinstance(ack, Answer) else ack
    if not isinstance(data, Mapping):
        raise ValueError(f"{ack!r} names no workflow; pass its workflow id")
    targets = data.get("targets")
    if isinstance(targets, list):
        found = [t for t in targets if rule is None or t.get("rule") == rule]
        if not found:
            rules = [t.get("rule") for t in targets]
            raise ValueError(f"No target of rule {rule!r} in this acknowledgement ({rules})")
        return str(found[0]["workflow_id"])
    if rule is not None or "workflow_id" not in data:
        raise ValueError(f"{ack!r} names no workflow{' of rules' if rule else ''}")
    return str(data["workflow_id"])


def _encode(route: Route, body: Any) -> tuple[bytes, str]:
    """The body's bytes and content type."""
    accepted = route.content_types
    if isinstance(body, bytes | str):
        content = body.encode() if isinstance(body, str) else body
        return content, accepted[0] if accepted else JSON
    if FORM in accepted and JSON not in accepted and isinstance(body, Mapping):
        return urlencode(body, doseq=True).encode(), FORM
    return json.dumps(body).encode(), JSON


def _signed_url(route: Route, path: str) -> str:
    """The URL the signature covers: the gateway's, or a Twilio route's public_url."""
    verifier = route.verifier
    if isinstance(verifier, TwilioConfig) and verifier.public_url:
        return verifier.public_url.rstrip("/") + path
    return BASE_URL + path
