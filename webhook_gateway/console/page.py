"""What every console page shares: the signed-in check, CSRF on every form post, rendering
through autoescaping Jinja2 templates, error pages and the security headers.

A page is `async def view(ctx: Ctx) -> Response`; `Console.page(view)` makes it a Starlette
endpoint. A visitor without a valid session is sent to sign in (303, the page they wanted
kept in `next`); a POST without the session's CSRF token is refused (403) before the view
runs. A `GatewayError` a view raises (Temporal unavailable, not found, ...) becomes an
error page with the same status and detail as the API's problem+json would carry.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from webhook_gateway.config.routes import HooktideConfig
from webhook_gateway.config.settings import Settings
from webhook_gateway.console import audit
from webhook_gateway.console.forms import Form, read_form
from webhook_gateway.console.session import COOKIE, Session, SessionCodec
from webhook_gateway.errors import GatewayError, RequestRejected
from webhook_gateway.inbound.client_ip import ProxyTrust

log = logging.getLogger("hooktide.console")
TEMPLATES = Path(__file__).parent / "templates"
#: No script at all (every page works without it), styles only from /console/static.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "cache-control": "no-store",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


class CsrfRefused(RequestRejected):
    status = 403
    slug = "csrf-refused"
    title = "Form refused"


View = Callable[["Ctx"], Awaitable[Response]]


@dataclass
class Console:
    """Built once per app: settings, routes, templates and the session codec."""

    settings: Settings
    config: HooktideConfig
    sessions: SessionCodec
    proxies: ProxyTrust
    example: bool
    env: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["ui_url"] = self.settings.ui_url.rstrip("/")
        self.env.globals["namespace"] = self.settings.temporal_namespace
        self.env.globals["example"] = self.example
        self.env.filters["q"] = lambda value: quote(str(value), safe="")

    def page(
        self, view: View, *, signed_in: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = self.sessions.loads(request.cookies.get(COOKIE))
            if signed_in and session is None:
                return self.to_sign_in(request)
            ctx = Ctx(request=request, console=self, session=session)
            try:
                if request.method == "POST":
                    ctx.form = await read_form(request)
                    if signed_in:
                        ctx.check_csrf()
                response = await view(ctx)
            except GatewayError as exc:
                if not isinstance(exc, RequestRejected):
                    log.warning("console %s: %s", request.url.path, exc)
                response = ctx.render("error.html", status=exc.status, error=exc)
            if ctx.session is not None and signed_in:  # sign-out drops it
                self.sessions.set(response, ctx.session, secure=ctx.secure)
            return response

        return endpoint

    def to_sign_in(self, request: Request) -> Response:
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            "/console/sign-in?" + urlencode({"next": wanted}), status_code=303, headers=HEADERS
        )


@dataclass
class Ctx:
    request: Request
    console: Console
    session: Session | None
    form: Form = field(default_factory=Form)

    @property
    def settings(self) -> Settings:
        return self.console.settings

    @property
    def config(self) -> HooktideConfig:
        return self.console.config

    @property
    def client(self) -> Client:
        return self.request.app.state.dispatcher.client  # type: ignore[no-any-return]

    @property
    def who(self) -> str:
        return self.session.who if self.session else "-"

    @property
    def client_ip(self) -> str | None:
        peer = self.request.client.host if self.request.client else None
        return self.console.proxies.client_ip(peer, self.request.headers)

    @property
    def secure(self) -> bool:
        """Reached over HTTPS: directly, or through a trusted proxy that says so."""
        peer = self.request.client.host if self.request.client else None
        seen = self.console.proxies.public_url(self.request.url, peer, self.request.headers)
        return seen.startswith("https:")

    @property
    def query(self) -> dict[str, str]:
        return {k: v for k, v in self.request.query_params.items() if v != ""}

    def check_csrf(self) -> None:
        sent = self.form.get("csrf")
        expected = self.session.csrf if self.session else ""
        if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise CsrfRefused(
                "This form has no valid CSRF token (it was not sent from this session's "
                "page, or the session has changed). Reload the page and send it again."
            )

    def audit(self, action: str, **what: Any) -> None:
        audit.record(action, who=self.who, client_ip=self.client_ip, **what)

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        text = self.console.env.get_template(template).render(
            session=self.session,
            csrf=self.session.csrf if self.session else "",
            path=self.request.url.path,
            **values,
        )
        return HTMLResponse(text, status_code=status, headers=HEADERS)

    def redirect(self, url: str) -> Response:
        return RedirectResponse(url, status_code=303, headers=HEADERS)


class SecurityHeaders:
    """The console's headers on everything under /console (static files and redirects too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.encode(), v.encode())
                    for k, v in HEADERS.items()
                    if k.encode() not in present and k != "cache-control"
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
