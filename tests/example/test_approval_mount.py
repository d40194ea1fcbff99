"""The approval pages belong to the order example: mounted only when it is configured."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from webhook_gateway.app import create_app
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings

EMPTY = parse_config({"routes": {}})


async def _get(settings: Settings, path: str) -> httpx.Response:
    app = create_app(settings, config=EMPTY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        return await http.get(path)


async def test_without_the_example_there_are_no_approval_pages() -> None:
    response = await _get(Settings(HOOKTIDE_APPROVAL_SECRET=None), "/approvals/v1.x.y.z.w")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_with_the_example_configured_the_approval_page_answers() -> None:
    secret = SecretStr("approval-secret-for-mount-test")
    response = await _get(Settings(HOOKTIDE_APPROVAL_SECRET=secret), "/approvals/not-a-token")

    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
