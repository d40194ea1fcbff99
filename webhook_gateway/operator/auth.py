"""Operator endpoints take `Authorization: Bearer <HOOKTIDE_OPERATOR_TOKEN>`."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from webhook_gateway.config.settings import Settings
from webhook_gateway.errors import Forbidden, VerificationFailed


def authorize(request: Request, *, off: str = "Operator endpoints are off") -> None:
    """`off` begins the 403's detail when no operator token is configured."""
    settings: Settings = request.app.state.settings
    if settings.operator_token is None:
        raise Forbidden(f"{off}: set HOOKTIDE_OPERATOR_TOKEN to turn them on.")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise VerificationFailed(
            "Send the operator token as 'Authorization: Bearer <token>'.", reason="missing-header"
        )
    expected = settings.operator_token.get_secret_value().encode()
    if not hmac.compare_digest(token.encode(), expected):
        raise VerificationFailed("The operator token is not valid.", reason="bad-token")
