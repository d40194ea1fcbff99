"""The call log: one `CallRecord` per outbound HTTP call, redacted before anyone keeps it.

`http_request.send` builds the record (method, URL, status, latency, bytes, attempt, request
headers); this module makes it safe to keep in workflow history and logs, and writes it to
the `hooktide.outbound` logger with the record's fields as `extra=` (see
`webhook_gateway.logging_setup`):

- the URL loses its userinfo, and query values whose key looks secret become `[REDACTED]`;
- credential headers (Authorization, cookies, signatures, API keys, an auth header the
  request named) become `[REDACTED]`;
- every string is bounded, so a record stays small whatever the caller sent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from temporalio import activity

from webhook_gateway.contracts.outbound import CallRecord

REDACTED = "[REDACTED]"
SECRET_NAME = re.compile(
    r"(auth|token|secret|passw|pwd|key|sig|hmac|session|cookie|credential|jwt|otp|code)",
    re.IGNORECASE,
)
SECRET_HEADER = re.compile(
    r"(authorization|cookie|signature|token|secret|api[-_]?key|hmac|passw|session)",
    re.IGNORECASE,
)
MAX_URL = 2048
MAX_ERROR = 512
MAX_HEADER_VALUE = 256
MAX_HEADERS = 32

log = logging.getLogger("hooktide.outbound")
# httpx logs every request at INFO with the raw URL (userinfo and query secrets included);
# the call log's own line replaces it.
logging.getLogger("httpx").setLevel(logging.WARNING)


def redact_url(url: str) -> str:
    """`url` without userinfo, with the values of secret-looking query keys redacted."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        query = [
            (key, REDACTED if SECRET_NAME.search(key) else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
        clean = urlunsplit(
            (parts.scheme, host, parts.path, urlencode(query, safe="[]/:"), parts.fragment)
        )
    except ValueError:
        return "[unparsable URL]"
    return clean[:MAX_URL]


def redact_headers(headers: Mapping[str, str], credentials: Iterable[str] = ()) -> dict[str, str]:
    """Request headers with credentials (and anything named like one) redacted."""
    named = {c.lower() for c in credentials}
    clean: dict[str, str] = {}
    for name, value in list(headers.items())[:MAX_HEADERS]:
        key = name.lower()
        secret = key in named or SECRET_HEADER.search(key)
        clean[key] = REDACTED if secret else value[:MAX_HEADER_VALUE]
    return clean


def redact_text(text: str, urls: Iterable[str], *, limit: int | None = MAX_ERROR) -> str:
    """`text` (an error message) with each raw URL replaced by its redacted form."""
    for url in sorted({u for u in urls if u}, key=len, reverse=True):
        text = text.replace(url, redact_url(url))
    return text if limit is None else text[:limit]


def log_call(record: CallRecord, **context: str | int | None) -> None:
    """One line on `hooktide.outbound`: INFO for a success, WARNING for a failure."""
    fields = record.model_dump() | {k: v for k, v in context.items() if v is not None}
    if activity.in_activity():
        info = activity.info()
        fields.setdefault("workflow_id", info.workflow_id)
        fields.setdefault("activity", info.activity_type)
    level = logging.INFO if record.outcome == "ok" else logging.WARNING
    status = record.status if record.status is not None else record.outcome
    log.log(
        level,
        "outbound %s %s -> %s in %.1f ms",
        record.method,
        record.url,
        status,
        record.latency_ms,
        extra=fields,
    )
