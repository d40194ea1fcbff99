"""`/console`, assembled from one list: each page module's views, the sign-in, the static
files, the session and the security headers. Mounted by the gateway's `create_app` only
when HOOKTIDE_OPERATOR_TOKEN is set (`mount` returns None otherwise)."""

from __future__ import annotations

from pathlib import Path

from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from webhook_gateway.config.routes import HooktideConfig
from webhook_gateway.config.settings import Settings
from webhook_gateway.console import (
    approvals,
    endpoints,
    inbound,
    outbound,
    overview,
    routes_page,
    sign_in,
)
from webhook_gateway.console.page import Console, SecurityHeaders
from webhook_gateway.console.session import PATH, SessionCodec
from webhook_gateway.inbound.client_ip import ProxyTrust

STATIC = Path(__file__).parent / "static"


def mount(settings: Settings, config: HooktideConfig, *, example: bool) -> Mount | None:
    if settings.operator_token is None:
        return None
    console = Console(
        settings=settings,
        config=config,
        sessions=SessionCodec(
            settings.operator_token.get_secret_value(),
            idle_seconds=settings.console_idle_minutes * 60,
        ),
        proxies=ProxyTrust.from_setting(settings.trusted_proxies, header=settings.forwarded_header),
        example=example,
    )
    page = console.page
    get, post, both = ["GET"], ["POST"], ["GET", "POST"]
    # The order example's page, only where the example runs.
    example_routes = [
        Route("/approvals", page(approvals.approvals), methods=get),
        Route("/approvals/decide", page(approvals.decide), methods=post),
    ]
    routes = [
        Route("/", page(overview.overview), methods=get),
        Route("/sign-in", page(sign_in.sign_in, signed_in=False), methods=both),
        Route("/sign-out", page(sign_in.sign_out), methods=post),
        Route("/inbound", page(inbound.deliveries), methods=get),
        Route("/inbound/delivery", page(inbound.delivery), methods=get),
        Route("/inbound/delivery/redrive", page(inbound.redrive_one), methods=post),
        Route("/inbound/redrive", page(inbound.redrive_many), methods=both),
        Route("/outbound", page(outbound.outbound), methods=get),
        Route("/outbound/endpoint/disable", page(endpoints.disable), methods=post),
        Route("/outbound/endpoint/enable", page(endpoints.enable), methods=post),
        Route("/outbound/delivery", page(outbound.delivery), methods=get),
        Route("/outbound/delivery/redrive", page(outbound.redrive_one), methods=post),
        Route("/outbound/redrive", page(outbound.redrive_many), methods=both),
        Route("/routes", page(routes_page.routes), methods=get),
        Route("/routes/explain", page(routes_page.explain_page), methods=both),
        *(example_routes if example else []),
        Mount("/static", StaticFiles(directory=STATIC), name="console-static"),
    ]
    return Mount(PATH, routes=routes, middleware=[Middleware(SecurityHeaders)])
