"""The approval page: `GET /approvals/{token}` shows the order and two buttons; `POST` carries
the decision to the order's workflow as the update `decide`, and the page shows the outcome.

Nothing reaches Temporal before the link's signature and expiry are checked
(`approval_tokens.read_token`): a malformed link answers 400, a tampered one 403, an expired
one 410. A second decision is refused by the workflow's update validator (409). Pages are
plain HTML, not cached, and never send the link on as a Referer.
"""

from __future__ import annotations

import html
import logging
from datetime import timedelta
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.approval_tokens import ApprovalToken, ApprovalTokenError, read_token
from webhook_gateway.contracts.order import ApprovalDecision, ApprovalState, OrderStatus

log = logging.getLogger("hooktide.approvals")
HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}"
    "button{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}"
    "table{border-collapse:collapse}td{padding:.2rem .8rem .2rem 0}"
)


def _page(status: int, title: str, body: str) -> HTMLResponse:
    text = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}"
        "</body></html>"
    )
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


class _PageError(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


async def approval_page(request: Request) -> Response:
    try:
        token = _token(request)
        if request.method == "POST":
            return await _decide(request, token)
        return await _show(request, token)
    except _PageError as err:
        return _page(err.status, err.title, _p(err.message))


def _token(request: Request) -> ApprovalToken:
    settings: Settings = request.app.state.settings
    assert settings.approval_secret is not None  # mounted only with it (app.py)
    try:
        return read_token(settings.approval_secret.get_secret_value(), request.path_params["token"])
    except ApprovalTokenError as exc:
        raise _PageError(exc.status, "This link cannot be used", str(exc)) from None


def _client(request: Request) -> Client:
    return request.app.state.dispatcher.client  # type: ignore[no-any-return]


def _rpc(request: Request) -> timedelta:
    settings: Settings = request.app.state.settings
    return timedelta(seconds=max(settings.temporal_rpc_timeout, 5.0))


async def _status(request: Request, token: ApprovalToken) -> OrderStatus:
    handle = _client(request).get_workflow_handle(token.workflow_id)
    try:
        status: OrderStatus = await handle.query(
            "status", result_type=OrderStatus, rpc_timeout=_rpc(request)
        )
    except RPCError as exc:
        raise _unavailable(exc) from None
    except WorkflowQueryFailedError:
        raise _PageError(404, "Order not found", "This order is not known here.") from None
    return status


def _unavailable(exc: RPCError) -> _PageError:
    if exc.status == RPCStatusCode.NOT_FOUND:
        return _PageError(404, "Order not found", "This order is not known (any more).")
    log.warning("approval page: Temporal call failed (%s)", exc.status.name)
    return _PageError(503, "Try again shortly", "The order service is not reachable right now.")


def _summary(status: OrderStatus) -> str:
    rows = [
        ("Order", status.order_id or "?"),
        ("Customer", status.customer_id or "?"),
        ("Total", f"{status.total} {status.currency}"),
        ("Step", status.step),
    ]
    cells = "".join(
        f"<tr><td>{html.escape(k)}</td><td><b>{html.escape(str(v))}</b></td></tr>" for k, v in rows
    )
    return f"<table>{cells}</table>"


def _decided(state: ApprovalState, *, already: bool = False) -> str:
    by = f" by {state.decided_by}" if state.decided_by else ""
    when = f" at {state.decided_at:%Y-%m-%d %H:%M} UTC" if state.decided_at else ""
    return f"This order was {'already ' if already else ''}{state.status}{by}{when}."


async def _show(request: Request, token: ApprovalToken) -> Response:
    status = await _status(request, token)
    state = status.approval
    if state is None or state.nonce != token.nonce:
        raise _PageError(410, "This link cannot be used", "This approval request is not current.")
    if state.status != "pending":
        decided = _summary(status) + _p(_decided(state, already=True))
        return _page(200, f"Order {status.order_id}: {state.status}", decided)
    form = (
        '<form method="post"><button name="decision" value="approve">Approve</button>'
        '<button name="decision" value="reject">Reject</button></form>'
    )
    expires = f"This link works once, until {token.expires_at:%Y-%m-%d %H:%M} UTC."
    return _page(200, f"Approve order {status.order_id}?", _summary(status) + _p(expires) + form)


async def _decide(request: Request, token: ApprovalToken) -> Response:
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    choice = (fields.get("decision") or [""])[0]
    if choice not in ("approve", "reject"):
        raise _PageError(400, "No decision", "Choose Approve or Reject.")
    decision = ApprovalDecision(nonce=token.nonce, approved=choice == "approve")
    handle = _client(request).get_workflow_handle(token.workflow_id)
    try:
        state = await handle.execute_update(
            "decide", decision, result_type=ApprovalState, rpc_timeout=_rpc(request)
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise _PageError(409, "Already decided", message) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise _PageError(503, "Try again shortly", "The order did not answer in time.") from None
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise _unavailable(exc) from None
        # The workflow has closed since: say how it was decided.
        state = (await _status(request, token)).approval
        if state is None or state.status == "pending":
            raise _PageError(409, "Already decided", "This order is no longer waiting.") from None
        raise _PageError(409, "Already decided", _decided(state, already=True)) from None
    log.info("approval for %s: %s", token.workflow_id, state.status)
    title = f"Order {'approved' if state.status == 'approved' else 'rejected'}"
    return _page(200, title, _p(_decided(state)))
