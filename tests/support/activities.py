"""Activities as the worker builds them, from the environment as it is when called."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from activities.example.orders import OrderActivities
from activities.http.models import HttpRequest, HttpResponse
from activities.http.request import HttpActivities
from activities.http.ssrf import OutboundPolicy
from webhook_gateway.config.settings import Settings


def http_request() -> Callable[[HttpRequest], Awaitable[HttpResponse]]:
    """The `http_request` activity with the SSRF policy HOOKTIDE_OUTBOUND_ALLOW names now."""
    return HttpActivities(OutboundPolicy.from_setting(Settings().outbound_allow)).http_request


def order_activities() -> OrderActivities:
    return OrderActivities(Settings())
