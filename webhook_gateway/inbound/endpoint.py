"""One webhook route's endpoint: verify, parse, route, hand to Temporal, answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from webhook_gateway.config.networks import parse_networks
from webhook_gateway.config.routes import NEVER_FORWARDED, Route
from webhook_gateway.dispatch.dispatcher import Ack, Dispatcher, Reply
from webhook_gateway.errors import (
    Forbidden,
    GatewayError,
    MethodNotAllowed,
    TemporalUnavailable,
    TooManyRequests,
    VerificationFailed,
)
from webhook_gateway.inbound.ack import ack_fields, render, target_fields
from webhook_gateway.inbound.allowlist import IpAllowlist
from webhook_gateway.inbound.body import check_media_type, parse_body, read_body
from webhook_gateway.inbound.client_ip import ProxyTrust
from webhook_gateway.inbound.rate_limit import RateLimiter
from webhook_gateway.inbound.request_log import Outcome, request_done
from webhook_gateway.json_response import ORJSONResponse
from webhook_gateway.routing.delivery import Delivery
from webhook_gateway.routing.plan import Plan, Planner
from webhook_gateway.verifiers import Handshake, Responder, SignedRequest, Verified, Verifier

log = logging.getLogger("hooktide.gateway")


class WebhookEndpoint:
    def __init__(
        self, route: Route, verifier: Verifier, *, proxies: ProxyTrust | None = None
    ) -> None:
        self.route = route
        self.verifier = verifier
        self.responder = verifier if isinstance(verifier, Responder) else None
        self.handshake = verifier if isinstance(verifier, Handshake) else None
        #: Methods the app routes here: the route's, and its sender's handshake's.
        self.methods = sorted(set(route.methods) | route.verifier.handshake_methods)
        self.hidden = NEVER_FORWARDED | verifier.secret_headers
        self.planner = Planner(route, forwarded=route.forwarded_headers() - verifier.secret_headers)
        self.proxies = proxies or ProxyTrust()
        self.allowlist = IpAllowlist(parse_networks(route.allow_ips, what="allow_ips"))
        self.limiter = RateLimiter(route.rate_limit) if route.rate_limit else None

    async def handle(self, request: Request) -> Response:
        """Answers a verified event; a `GatewayError` is recorded here and then answered by
        the app's one handler for it (problem+json)."""
        started = time.perf_counter()
        record = Outcome()
        peer = request.client.host if request.client else None
        client_ip = self.proxies.client_ip(peer, request.headers)

        def done(outcome: str, status: int, reason: str | None = None) -> None:
            request_done(
                request,
                self.route,
                record,
                outcome=outcome,
                status=status,
                started=started,
                reason=reason,
                client_ip=client_ip,
            )

        try:
            early = self._before_verification(request, peer, client_ip)
            if early is not None:
                done("answered-handshake", early.status_code)
                return early
            signed, verified, media = await self._verified(request, peer, client_ip)
            early = self.responder.respond(signed) if self.responder else None
            if early is not None:
                done("answered-by-verifier", early.status_code)
                return early
            plan = self.planner.plan(self._delivery(request, signed, verified, media))
            record.delivery_id, record.event_type = plan.delivery_id, plan.event_type
            record.rules = [p.target.rule for p in plan.targets if p.target.rule]
            record.workflow_id = plan.targets[0].workflow_id if plan.targets else None
            if plan.ignored:
                response = self._ignored(plan)
                done("ignored", response.status_code)
                return response
            sent = await _send(request.app.state.dispatcher, plan)
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
        response = self._answer(plan, sent)
        duplicate = all(isinstance(s, Ack) and s.duplicate for s in sent)
        done("duplicate" if duplicate else "accepted", response.status_code)
        return response

    def _before_verification(
        self, request: Request, peer: str | None, client_ip: str | None
    ) -> Response | None:
        """Allowlist (403), rate limit (429), then the sender's ownership check, if any."""
        self.allowlist.check(client_ip)
        if self.limiter is not None:
            self.limiter.check(client_ip)
        if self.handshake is not None:
            answer = self.handshake.handshake(self._signed(request, peer, client_ip, b""))
            if answer is not None:
                return answer
        if request.method not in self.route.methods:
            allowed = ", ".join(self.route.methods)
            raise MethodNotAllowed(
                f"{request.method} is not accepted at {request.url.path}; use {allowed}.",
                headers={"Allow": allowed},
            )
        return None

    def _signed(
        self, request: Request, peer: str | None, client_ip: str | None, raw: bytes
    ) -> SignedRequest:
        return SignedRequest(
            method=request.method,
            url=self.proxies.public_url(request.url, peer, request.headers),
            headers=request.headers,
            body=raw,
            client_ip=client_ip,
            path_params={k: str(v) for k, v in request.path_params.items()},
        )

    async def _verified(
        self, request: Request, peer: str | None, client_ip: str | None
    ) -> tuple[SignedRequest, Verified, str]:
        """Media type (415), body (413/408), then the verifier (401); nothing before trusted."""
        route = self.route
        media = check_media_type(request.headers.get("content-type"), route.content_types)
        raw = await read_body(
            request, route.max_body_bytes, timeout=request.app.state.settings.body_timeout_seconds
        )
        signed = self._signed(request, peer, client_ip, raw)
        return signed, self.verifier.verify(signed), media

    def _delivery(
        self, request: Request, signed: SignedRequest, verified: Verified, media: str
    ) -> Delivery:
        # Everything here runs on verified input only.
        body, raw_body = parse_body(media, signed.body)
        query: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            query.setdefault(key, []).append(value)
        return Delivery(
            method=request.method,
            headers={k: v for k, v in request.headers.items() if k not in self.hidden},
            query=query,
            path_params=signed.path_params,
            content_type=media or None,
            body=body,
            raw_body=raw_body,
            raw=signed.body,
            signed_id=verified.signed_id,
        )

    def _ignored(self, plan: Plan) -> Response:
        default = {"delivery_id": plan.delivery_id, "event_type": plan.event_type, "ignored": True}
        values = {**default, "workflow_id": None, "run_id": None, "duplicate": None, "rule": None}
        return render(self.route.ack, default, 200, values)

    def _answer(self, plan: Plan, sent: Sequence[Ack | Reply]) -> Response:
        replies = [s for s in sent if isinstance(s, Reply)]
        if replies:
            return self._reply(replies[0])
        acks = [s for s in sent if isinstance(s, Ack)]
        first = plan.targets[0].target.rule
        values = {**ack_fields(acks[0]), "event_type": plan.event_type, "rule": first}
        if not self.route.rules:
            return render(self.route.ack, ack_fields(acks[0]), 202, values)
        default = {
            "delivery_id": plan.delivery_id,
            "event_type": plan.event_type,
            "targets": [
                target_fields(p.target.rule, a) for p, a in zip(plan.targets, acks, strict=True)
            ],
        }
        rule_ack = self.route.rule(first).ack if len(acks) == 1 and first else None
        return render(rule_ack or self.route.ack, default, 202, values)

    def _reply(self, outcome: Reply) -> Response:
        if outcome.reply is None:
            query = urlencode({"route": self.route.name, "workflow_id": outcome.ack.workflow_id})
            status_url = f"/deliveries/{outcome.ack.delivery_id}?{query}"
            body = {**ack_fields(outcome.ack), "status_url": status_url, "reply": "pending"}
            return ORJSONResponse(body, status_code=202, headers={"Location": status_url})
        reply = outcome.reply
        # The workflow's own body: the standard encoder, which refuses NaN rather than
        # writing null as orjson would.
        return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


async def _send(dispatcher: Dispatcher, plan: Plan) -> list[Ack | Reply]:
    """Every target at once. If one fails, the answer is that failure (a 503 first): the
    sender's retry re-drives the missing targets, and the others answer as duplicates."""
    if len(plan.targets) == 1:
        one = plan.targets[0]
        return [await dispatcher.dispatch(one.target, one.event, one.workflow_id, one.flow)]
    results = await asyncio.gather(
        *(dispatcher.dispatch(p.target, p.event, p.workflow_id, p.flow) for p in plan.targets),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        unavailable = [f for f in failures if isinstance(f, TemporalUnavailable)]
        raise (unavailable or failures)[0]
    return [r for r in results if not isinstance(r, BaseException)]
