"""How an outbound HTTP call fails.

    HttpFailure (kind = the ApplicationError type a workflow sees)
    ├── retryable:      HttpRetryableStatus (5xx, 408, 429; honours Retry-After),
    │                   HttpTimeout, HttpConnectionError
    └── non-retryable:  HttpClientError (other 4xx), HttpUnexpectedStatus (anything else not
                        expected, 3xx included), HttpDestinationForbidden (SSRF guard),
                        HttpResponseTooLarge, HttpInvalidResponse, HttpTooManyRedirects,
                        HttpCredentialsMissing, HttpInvalidRequest

`HttpFailure.to_application_error` is the one place they become Temporal failures, with
`{"status", "url", "headers", "body"}` as the single detail.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.exceptions import ApplicationError

MAX_RETRY_AFTER = timedelta(days=1)
EXCERPT_BYTES = 1024


class HttpFailure(Exception):
    """An HTTP call that did not succeed; `kind` is the `ApplicationError` type."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        retryable: bool,
        url: str = "",
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.url = url
        self.status = status
        self.headers = dict(headers or {})
        self.body = body
        self.retry_after = retry_after

    def to_application_error(self) -> ApplicationError:
        details = {"status": self.status, "url": self.url, "headers": self.headers}
        return ApplicationError(
            str(self),
            {**details, "body": self.body},
            type=self.kind,
            non_retryable=not self.retryable,
            next_retry_delay=self.retry_after if self.retryable else None,
        )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> timedelta | None:
    """`Retry-After` as delay-seconds or an HTTP date; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(timedelta(seconds=max(seconds, 0.0)), MAX_RETRY_AFTER)


def status_failure(url: str, status: int, headers: Mapping[str, str], body: str) -> HttpFailure:
    common: dict[str, Any] = {"url": url, "status": status, "headers": headers, "body": body}
    if status >= 500 or status in (408, 429):
        return HttpFailure(
            f"{url} answered {status}; retrying",
            kind="HttpRetryableStatus",
            retryable=True,
            retry_after=parse_retry_after(headers.get("retry-after")),
            **common,
        )
    if 400 <= status < 500:
        return HttpFailure(
            f"{url} answered {status}", kind="HttpClientError", retryable=False, **common
        )
    return HttpFailure(
        f"{url} answered {status}, which is not an expected status",
        kind="HttpUnexpectedStatus",
        retryable=False,
        **common,
    )
