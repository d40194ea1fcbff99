"""Signing in to the console over HTTP, as a browser's form post does, and reading a page's
CSRF token."""

from __future__ import annotations

import re

import httpx

OPERATOR_TOKEN = "console-test-operator-token"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def signed_in(http: httpx.AsyncClient, *, name: str = "Ada Operator") -> str:
    """Signs `http` in (its cookie jar keeps the session); returns the session's CSRF token."""
    answer = await http.post(
        "/console/sign-in", data={"name": name, "token": OPERATOR_TOKEN, "next": "/console/"}
    )
    assert answer.status_code == 303, answer.text
    return csrf_of((await http.get("/console/")).text)


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "no CSRF field on the page"
    return found.group(1)
