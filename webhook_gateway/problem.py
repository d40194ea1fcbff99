"""RFC 9457 problem+json responses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from webhook_gateway.errors import GatewayError
from webhook_gateway.json_response import ORJSONResponse

PROBLEM_BASE = "https://hooktide.dev/problems/"
MEDIA_TYPE = "application/problem+json"


class ProblemResponse(ORJSONResponse):
    media_type = MEDIA_TYPE

    @staticmethod
    def fallback(content: Any) -> bytes:
        # As problems were always written: ASCII, so a lone surrogate is escaped, not an error.
        return json.dumps(content).encode()


def problem_response(
    status: int,
    *,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    if extra:
        body.update(extra)
    return ProblemResponse(body, status_code=status, headers=headers)


def error_response(exc: GatewayError, *, instance: str | None = None) -> Response:
    return problem_response(
        exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=instance,
        headers=exc.headers,
        extra=exc.extra(),
    )
