"""`http_request`: one durable HTTP call, with failures a workflow can branch on.

`send` performs a request through the SSRF guard and raises `HttpFailure` (the failure types
are listed in `activities.http_errors`); the activity turns that into an `ApplicationError`.
Every call `send` makes leaves one redacted `CallRecord` (`activities.call_log`): logged on
`hooktide.outbound` and handed to the caller's `on_call`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import JsonValue
from temporalio import activity

from activities.http.call_log import log_call, redact_headers, redact_text, redact_url
from activities.http.errors import EXCERPT_BYTES, HttpFailure, status_failure
from activities.http.models import (
    DEFAULT_RESPONSE_HEADERS,
    BasicAuth,
    BearerAuth,
    HttpRequest,
    HttpResponse,
    JsonBody,
    RawBody,
)
from activities.http.ssrf import (
    DestinationForbidden,
    GuardedBackend,
    GuardedTransport,
    OutboundPolicy,
    Resolver,
    system_resolver,
)
from webhook_gateway.contracts.outbound import CallRecord

IDEMPOTENCY_NAMESPACE = uuid.UUID("8a4c3e0e-4c1b-5d43-9a57-2f1f0d9b7c11")


def idempotency_key_for(workflow_id: str, step: str) -> str:
    """The Idempotency-Key of one workflow step: the same on every retry and every run."""
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{workflow_id}/{step}"))


def _credentials(request: HttpRequest, environ: Mapping[str, str]) -> dict[str, str]:
    auth = request.auth
    if auth is None:
        return {}
    name = (
        auth.token_env
        if isinstance(auth, BearerAuth)
        else auth.password_env
        if isinstance(auth, BasicAuth)
        else auth.value_env
    )
    secret = environ.get(name, "")
    if not secret:
        raise HttpFailure(
            f"Environment variable {name} (the {auth.type} credential) is not set or empty.",
            kind="HttpCredentialsMissing",
            retryable=False,
            url=request.url,
        )
    if isinstance(auth, BearerAuth):
        return {"authorization": f"Bearer {secret}"}
    if isinstance(auth, BasicAuth):
        token = base64.b64encode(f"{auth.username}:{secret}".encode()).decode()
        return {"authorization": f"Basic {token}"}
    return {auth.name.lower(): secret}


def _body_args(request: HttpRequest) -> dict[str, Any]:
    body = request.body
    if body is None:
        return {}
    if isinstance(body, JsonBody):
        return {"json": body.data}
    if isinstance(body, RawBody):
        return {"content": body.content, "headers": {"content-type": body.content_type}}
    return {"data": body.data}


@dataclass
class _Meter:
    """What one call did, filled in as it goes; becomes its `CallRecord`."""

    url: str
    started: float = field(default_factory=time.monotonic)
    headers: dict[str, str] = field(default_factory=dict)
    credentials: set[str] = field(default_factory=set)
    status: int | None = None
    request_bytes: int = 0
    response_bytes: int = 0

    def received(self, response: httpx.Response) -> None:
        self.status = response.status_code
        read = response.num_bytes_downloaded
        declared = response.headers.get("content-length", "")
        unread = int(declared) if not read and declared.isdigit() else 0
        self.response_bytes += read or unread

    def record(
        self, request: HttpRequest, attempt: int, outcome: str, error: str | None
    ) -> CallRecord:
        urls = (request.url, self.url)
        return CallRecord(
            method=request.method,
            url=redact_url(self.url),
            status=self.status,
            latency_ms=round((time.monotonic() - self.started) * 1000, 2),
            request_bytes=self.request_bytes,
            response_bytes=self.response_bytes,
            attempt=attempt,
            outcome=outcome,
            error=redact_text(error, urls) if error else None,
            headers=redact_headers(self.headers, self.credentials),
        )


async def send(
    request: HttpRequest,
    *,
    policy: OutboundPolicy,
    resolver: Resolver = system_resolver,
    idempotency_key: str | None = None,
    environ: Mapping[str, str] | None = None,
    attempt: int = 1,
    on_call: Callable[[CallRecord], None] | None = None,
    log_context: Mapping[str, str | int | None] | None = None,
) -> HttpResponse:
    """Perform `request` through the SSRF guard; raises `HttpFailure`. The call is logged
    (with `log_context` as extra fields) and its record passed to `on_call`."""
    meter = _Meter(url=request.url)
    outcome, error = "ok", None
    try:
        return await _send(request, policy, resolver, idempotency_key, environ, meter)
    except HttpFailure as failure:
        redact_failure(failure, (request.url, meter.url))
        outcome, error = failure.kind, f"{failure.kind}: {failure}"
        # Only a failing status is the call's answer: a response refused for its size, its
        # pace or its body is none, whatever status line it began with.
        meter.status = failure.status
        raise
    except BaseException as exc:
        outcome, error = type(exc).__name__, f"{type(exc).__name__}: {exc}"
        meter.status = None
        raise
    finally:
        record = meter.record(request, attempt, outcome, error)
        log_call(record, **(log_context or {}))
        if on_call is not None:
            on_call(record)


def redact_failure(failure: HttpFailure, urls: tuple[str, ...]) -> None:
    """Keep secrets in URLs (query tokens, userinfo) out of the failure's message and
    details: they reach workflow history, the Web UI and the SDK's own warnings."""
    failure.args = (redact_text(str(failure), (*urls, failure.url), limit=None),)
    failure.url = redact_url(failure.url) if failure.url else failure.url


async def _send(
    request: HttpRequest,
    policy: OutboundPolicy,
    resolver: Resolver,
    idempotency_key: str | None,
    environ: Mapping[str, str] | None,
    meter: _Meter,
) -> HttpResponse:
    credentials = _credentials(request, os.environ if environ is None else environ)
    headers = {k.lower(): v for k, v in request.headers.items()}
    body_args = _body_args(request)
    for name, value in body_args.pop("headers", {}).items():
        headers.setdefault(name, value)
    if idempotency_key and request.unsafe:
        headers.setdefault("idempotency-key", idempotency_key)
    headers.update(credentials)
    meter.credentials = set(credentials)
    t = request.timeouts
    transport = GuardedTransport(GuardedBackend(policy, resolver=resolver))
    try:
        async with (
            asyncio.timeout(t.total),
            httpx.AsyncClient(
                transport=transport,
                timeout=httpx.Timeout(t.read, connect=t.connect),
                trust_env=False,
            ) as client,
        ):
            # `params=` would replace the URL's own query string (httpx 0.28): merge instead.
            url = httpx.URL(request.url)
            url = url.copy_merge_params(request.query) if request.query else url
            first = client.build_request(request.method, url, headers=headers, **body_args)
            meter.url, meter.headers = str(first.url), dict(first.headers)
            meter.request_bytes = len(first.content)
            return await _exchange(client, first, request, set(credentials), meter)
    except HttpFailure:
        raise
    except DestinationForbidden as exc:
        raise HttpFailure(
            str(exc), kind="HttpDestinationForbidden", retryable=False, url=request.url
        ) from exc
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise HttpFailure(
            f"{request.url} did not answer within the time limits ({type(exc).__name__})",
            kind="HttpTimeout",
            retryable=True,
            url=request.url,
        ) from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise HttpFailure(
            f"Invalid request URL {request.url}: {exc}",
            kind="HttpInvalidRequest",
            retryable=False,
            url=request.url,
        ) from exc
    except httpx.TransportError as exc:
        raise HttpFailure(
            f"Connection to {request.url} failed ({type(exc).__name__}: {exc})",
            kind="HttpConnectionError",
            retryable=True,
            url=request.url,
        ) from exc


async def _exchange(
    client: httpx.AsyncClient,
    outgoing: httpx.Request,
    request: HttpRequest,
    credential_headers: set[str],
    meter: _Meter,
) -> HttpResponse:
    for _hop in range(request.max_redirects + 1):
        response = await client.send(outgoing, stream=True, follow_redirects=False)
        try:
            nxt = response.next_request
            if request.follow_redirects and nxt is not None:
                if _origin(nxt.url) != _origin(outgoing.url):
                    for name in credential_headers:
                        nxt.headers.pop(name, None)
                outgoing = nxt
                continue
            return await _read(response, request, meter.started)
        finally:
            meter.received(response)
            await response.aclose()
    raise HttpFailure(
        f"{request.url} redirected more than {request.max_redirects} times",
        kind="HttpTooManyRedirects",
        retryable=False,
        url=request.url,
    )


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


async def _read(response: httpx.Response, request: HttpRequest, started: float) -> HttpResponse:
    url = str(response.url)
    wanted = (*DEFAULT_RESPONSE_HEADERS, *request.response_headers)
    headers = {name: response.headers[name] for name in wanted if name in response.headers}
    status = response.status_code
    if not request.expects(status):
        excerpt = await _body(response, url, EXCERPT_BYTES, truncate=True)
        raise status_failure(url, status, headers, excerpt.decode("utf-8", "replace"))
    limit = request.max_response_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(url, f"declares {declared} bytes, more than the limit of {limit}")
    raw = b"" if request.response == "none" else await _body(response, url, limit)
    return HttpResponse(
        status=status,
        url=url,
        headers=headers,
        body=_parse(raw, request, url),
        elapsed_seconds=round(time.monotonic() - started, 6),
    )


async def _body(response: httpx.Response, url: str, limit: int, *, truncate: bool = False) -> bytes:
    """Read at most `limit` bytes (after content decoding, so a compressed bomb stops too)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            if truncate:
                chunks.append(chunk[: limit - (size - len(chunk))])
                break
            raise _too_large(url, f"sent more than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(url: str, what: str) -> HttpFailure:
    return HttpFailure(
        f"The response from {url} {what} (max_response_bytes)",
        kind="HttpResponseTooLarge",
        retryable=False,
        url=url,
    )


def _parse(raw: bytes, request: HttpRequest, url: str) -> JsonValue:
    if request.response == "none":
        return None
    text = raw.decode("utf-8", "replace")
    if request.response == "text":
        return text
    if not raw.strip():
        return None
    try:
        parsed: JsonValue = json.loads(text)
    except ValueError as exc:
        raise HttpFailure(
            f"The response from {url} is not valid JSON ({exc}); ask for response='text'",
            kind="HttpInvalidResponse",
            retryable=False,
            url=url,
            body=text[:EXCERPT_BYTES],
        ) from exc
    return parsed


def activity_idempotency_key(request: HttpRequest) -> str | None:
    """The caller's key, else one derived from this activity's identity (never the attempt)."""
    if not request.unsafe:
        return None
    if request.idempotency_key:
        return request.idempotency_key
    info = activity.info()
    workflow_id = info.workflow_id or info.activity_id
    return idempotency_key_for(workflow_id, f"{info.workflow_run_id}/{info.activity_id}")


class HttpActivities:
    """The `http_request` activity, built once by the worker with the SSRF policy
    (HOOKTIDE_OUTBOUND_ALLOW)."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy

    @activity.defn
    async def http_request(self, request: HttpRequest) -> HttpResponse:
        """Perform one HTTP call; see the module docstring for its failure types."""
        try:
            return await send(
                request,
                policy=self._policy,
                idempotency_key=activity_idempotency_key(request),
                attempt=activity.info().attempt,
            )
        except HttpFailure as failure:
            raise failure.to_application_error() from None
