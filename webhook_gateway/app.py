"""`create_app(settings)`: the whole gateway, assembled from lists in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from opentelemetry.trace import Tracer
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from temporalio.client import Client

from webhook_gateway.config.reserved import OPERATOR_PATHS
from webhook_gateway.config.routes import HooktideConfig, load_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.console import app as console_app
from webhook_gateway.dispatch.dispatcher import Dispatcher
from webhook_gateway.dispatch.temporal_client import connect
from webhook_gateway.errors import GatewayError, MethodNotAllowed, RouteNotFound
from webhook_gateway.example import approvals
from webhook_gateway.inbound.client_ip import ProxyTrust
from webhook_gateway.inbound.endpoint import WebhookEndpoint
from webhook_gateway.observability import tracing
from webhook_gateway.observability.drain import Drain, DrainMiddleware
from webhook_gateway.observability.metrics import GatewayMetrics, with_interceptors
from webhook_gateway.observability.tracing import TracingMiddleware
from webhook_gateway.operator import codec, deliveries, health
from webhook_gateway.operator import flow as flow_api
from webhook_gateway.operator import outbound as outbound_api
from webhook_gateway.operator.explain import explain_route
from webhook_gateway.operator.openapi import openapi_document
from webhook_gateway.problem import error_response, problem_response

log = logging.getLogger("hooktide.gateway")


def create_app(
    settings: Settings,
    *,
    config: HooktideConfig | None = None,
    client: Client | None = None,
    tracer: Tracer | None = None,
) -> Starlette:
    """Build the gateway. Raises `ConfigError` (naming the route and field or variable) when
    the route file or a route's secret is wrong, so a bad deployment never starts."""
    config = config or load_config(settings.config_path)
    tracer = tracer or tracing.tracer(settings)
    metrics = GatewayMetrics()
    encode, decode = codec.endpoints(settings)  # checks HOOKTIDE_PAYLOAD_KEYS at start
    endpoints: dict[str, Callable[[Request], Awaitable[Response]]] = {
        "healthz": health.healthz,
        "readyz": health.readyz,
        "delivery": deliveries.delivery,
        "openapi": _openapi(config),
        "metrics": metrics.endpoint,
        "approval": approvals.approval_page,
        "outbound-status": outbound_api.status,
        "outbound-redrive": outbound_api.redrive,
        "explain": explain_route,
        "codec-encode": encode,
        "codec-decode": decode,
        "flow-view": flow_api.view,
        "flow-release": flow_api.release_key,
    }
    example = settings.approval_secret is not None
    routes: list[BaseRoute] = [
        Route(p.path, endpoints[p.name], methods=list(p.methods))
        for p in OPERATOR_PATHS
        if example or not p.example
    ]
    console = console_app.mount(settings, config, example=example)
    if console is not None:
        routes.append(console)
    proxies = ProxyTrust.from_setting(settings.trusted_proxies, header=settings.forwarded_header)
    for route in config.routes:
        endpoint = WebhookEndpoint(route, route.verifier.build(route.name), proxies=proxies)
        routes.append(Route(route.path, endpoint.handle, methods=endpoint.methods, name=route.name))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        temporal = with_interceptors(
            client or await connect(settings, lazy=True),
            metrics.interceptor(),
            *tracing.client_interceptors(tracer),
        )
        dispatcher = app.state.dispatcher = Dispatcher(
            temporal,
            rpc_timeout=settings.temporal_rpc_timeout,
            retry_after=settings.retry_after_seconds,
        )
        metrics.watch_group_commit(lambda: dispatcher.group_commit_stats().values())
        try:
            yield
        finally:  # group commit: commit or fail what is still queued, stop its tasks
            await app.state.dispatcher.aclose()

    drain = Drain()
    metrics.watch_in_flight(lambda: drain.in_flight)
    tracing_middleware = [Middleware(TracingMiddleware, tracer=tracer)] if tracer else []
    app = Starlette(
        routes=routes,
        middleware=[
            *tracing_middleware,
            Middleware(DrainMiddleware, drain=drain, retry_after=settings.retry_after_seconds),
        ],
        exception_handlers={
            GatewayError: _gateway_error,
            HTTPException: _http_error,
            ClientDisconnect: _client_gone,
            Exception: _unexpected,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.drain = drain
    app.state.config = config
    app.state.metrics = metrics
    return app


def _openapi(config: HooktideConfig) -> Callable[[Request], Awaitable[Response]]:
    document = JSONResponse(openapi_document(config)).body  # written once: it never changes

    async def endpoint(request: Request) -> Response:
        return Response(document, media_type="application/json")

    return endpoint


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return error_response(exc, instance=request.url.path)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error: GatewayError
    if exc.status_code == 404:
        error = RouteNotFound(f"No webhook route is declared at {request.url.path}.")
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        error = MethodNotAllowed(
            f"{request.method} is not accepted at {request.url.path}; use {allowed}.",
            headers={"Allow": allowed},
        )
    else:
        return problem_response(
            exc.status_code,
            slug="http-error",
            title="HTTP error",
            detail=exc.detail,
            instance=request.url.path,
            headers=exc.headers,
        )
    return error_response(error, instance=request.url.path)


async def _client_gone(request: Request, exc: Exception) -> Response:
    # Nobody is left to read this; the event was never acknowledged, so nothing is lost.
    return Response(status_code=400)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("Unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        500,
        slug="internal-error",
        title="Internal error",
        detail="The gateway failed unexpectedly; the event was not acknowledged, retry later.",
        instance=request.url.path,
    )
