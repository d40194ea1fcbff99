"""Sign in with the operator token (and a name for the audit log); sign out."""

from __future__ import annotations

import hmac
import re

from starlette.responses import Response

from webhook_gateway.console.page import Ctx
from webhook_gateway.console.session import Session, SessionCodec

_NAME = re.compile(r"^[\w .@+-]{1,64}$")


def _next(value: str) -> str:
    """Only a console page is a place to go on to (never another site)."""
    if value.startswith("/console") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/"


async def sign_in(ctx: Ctx) -> Response:
    wanted = _next(ctx.form.get("next") or ctx.request.query_params.get("next", ""))
    if ctx.request.method == "GET":
        if ctx.session is not None:
            return ctx.redirect(wanted)
        return ctx.render("sign_in.html", wanted=wanted, problem=None, name="")
    name = ctx.form.get("name").strip()
    token = ctx.form.get("token")
    expected = ctx.settings.operator_token
    assert expected is not None  # the console is mounted only with one (app.py)
    problem = None
    if not _NAME.match(name):
        problem = (
            "Give your name (letters, digits, spaces, . @ + -; up to 64): it goes in the audit log."
        )
    elif not hmac.compare_digest(token.encode(), expected.get_secret_value().encode()):
        problem = "That is not the operator token (HOOKTIDE_OPERATOR_TOKEN)."
    if problem is not None:
        ctx.audit("sign-in-refused", name=name[:64] or "-")
        return ctx.render(
            "sign_in.html", status=401, wanted=wanted, problem=problem, name=name[:64]
        )
    session = Session.new(name)
    ctx.session = session
    ctx.audit("sign-in")
    response = ctx.redirect(wanted)
    ctx.console.sessions.set(response, session, secure=ctx.secure)
    return response


async def sign_out(ctx: Ctx) -> Response:
    ctx.audit("sign-out")
    ctx.session = None
    response = ctx.redirect("/console/sign-in")
    SessionCodec.clear(response, secure=ctx.secure)
    return response
