"""One webhook route's endpoint: verify, parse, derive ids, hand to Temporal, answer."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from webhook_gateway.config.ids import extract_id
from webhook_gateway.config.networks import parse_networks
from webhook_gateway.config.routes import Route
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.dispatch.dispatcher import Ack, Dispatcher, Reply
from webhook_gateway.errors import Forbidden, GatewayError, TooManyRequests, VerificationFailed
from webhook_gateway.inbound.allowlist import IpAllowlist
from webhook_gateway.inbound.body import check_media_type, parse_body, read_body
from webhook_gateway.inbound.client_ip import ProxyTrust
from webhook_gateway.inbound.rate_limit import RateLimiter
from webhook_gateway.inbound.request_log import request_done
from webhook_gateway.verifiers import Responder, SignedRequest, Verified, Verifier

log = logging.getLogger("hooktide.gateway")


class WebhookEndpoint:
    def __init__(
        self, route: Route, verifier: Verifier, *, proxies: ProxyTrust | None = None
    ) -> None:
        self.route = route
        self.verifier = verifier
        self.responder = verifier if isinstance(verifier, Responder) else None
        self.forwarded = route.forwarded_headers() - verifier.secret_headers
        self.proxies = proxies or ProxyTrust()
        self.allowlist = IpAllowlist(parse_networks(route.allow_ips, what="allow_ips"))
        self.limiter = RateLimiter(route.rate_limit) if route.rate_limit else None

    async def handle(self, request: Request) -> Response:
        """Answers a verified event; a `GatewayError` is recorded here and then answered by
        the app's one handler for it (problem+json)."""
        started = time.perf_counter()
        delivery_id: str | None = None
        workflow_id: str | None = None
        peer = request.client.host if request.client else None
        client_ip = self.proxies.client_ip(peer, request.headers)

        def done(outcome: str, status: int, reason: str | None = None) -> None:
            request_done(
                request,
                self.route,
                outcome=outcome,
                status=status,
                started=started,
                delivery_id=delivery_id,
                workflow_id=workflow_id,
                reason=reason,
                client_ip=client_ip,
            )

        try:
            signed, verified, media = await self._verified(request, peer, client_ip)
            early = self.responder.respond(signed) if self.responder else None
            if early is not None:
                done("answered-by-verifier", early.status_code)
                return early
            event, workflow_id = self._event(request, signed, verified, media)
            delivery_id = event.delivery_id
            dispatcher: Dispatcher = request.app.state.dispatcher
            sent = await dispatcher.dispatch(self.route, event, workflow_id)
        except GatewayError as exc:
            if isinstance(exc, VerificationFailed | Forbidden | TooManyRequests):
                log.warning(
                    "route=%s rejected reason=%s client_ip=%s",
                    self.route.name,
                    exc.slug,
                    client_ip,
                    extra={"route": self.route.name, "reason": exc.slug, "client_ip": client_ip},
                )
            done(exc.slug, exc.status, exc.reason if isinstance(exc, VerificationFailed) else None)
            raise
        response = self._answer(request, sent)
        done(
            "duplicate" if isinstance(sent, Ack) and sent.duplicate else "accepted",
            response.status_code,
        )
        return response

    async def _verified(
        self, request: Request, peer: str | None, client_ip: str | None
    ) -> tuple[SignedRequest, Verified, str]:
        """Allowlist (403), rate limit (429), then the verifier (401); nothing before trusted."""
        route = self.route
        self.allowlist.check(client_ip)
        if self.limiter is not None:
            self.limiter.check(client_ip)
        media = check_media_type(request.headers.get("content-type"), route.content_types)
        raw = await read_body(
            request, route.max_body_bytes, timeout=request.app.state.settings.body_timeout_seconds
        )
        signed = SignedRequest(
            method=request.method,
            url=self.proxies.public_url(request.url, peer, request.headers),
            headers=request.headers,
            body=raw,
            client_ip=client_ip,
            path_params={k: str(v) for k, v in request.path_params.items()},
        )
        verified = self.verifier.verify(signed)
        return signed, verified, media

    def _event(
        self, request: Request, signed: SignedRequest, verified: Verified, media: str
    ) -> tuple[WebhookEvent, str]:
        # Everything here runs on verified input only.
        route = self.route
        path_params = signed.path_params
        body, raw_body = parse_body(media, signed.body)
        sources = {
            "headers": request.headers,
            "path_params": path_params,
            "body": body,
            "raw_body": signed.body,
            "signed_id": verified.signed_id,
        }
        delivery_id = extract_id(route.delivery_id_rule, what="delivery id", **sources)
        workflow_id = extract_id(
            route.workflow_id_rule, what="workflow id", default=delivery_id, **sources
        )
        query: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            query.setdefault(key, []).append(value)
        event = WebhookEvent(
            route=route.name,
            delivery_id=delivery_id,
            received_at=datetime.now(UTC),
            method=request.method,
            path_params=path_params,
            query=query,
            headers={k: v for k, v in request.headers.items() if k in self.forwarded},
            content_type=media or None,
            body=body,
            raw_body=raw_body,
        )
        return event, workflow_id

    def _answer(self, request: Request, outcome: Ack | Reply) -> Response:
        if isinstance(outcome, Ack):
            return JSONResponse(_ack_json(outcome), status_code=202)
        if outcome.reply is None:
            query = urlencode({"route": self.route.name, "workflow_id": outcome.ack.workflow_id})
            status_url = f"/deliveries/{outcome.ack.delivery_id}?{query}"
            body = {**_ack_json(outcome.ack), "status_url": status_url, "reply": "pending"}
            return JSONResponse(body, status_code=202, headers={"Location": status_url})
        reply = outcome.reply
        return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


def _ack_json(ack: Ack) -> dict[str, object]:
    return {
        "delivery_id": ack.delivery_id,
        "workflow_id": ack.workflow_id,
        "run_id": ack.run_id,
        "duplicate": ack.duplicate,
    }
