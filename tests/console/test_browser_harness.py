"""The browser harness (tests/support/browser.py) on a tiny form served by real uvicorn: the
console's browser tests stand on these helpers."""

from __future__ import annotations

import html
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from PIL import Image
from playwright.async_api import Browser
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.browser import (
    DOC_SCREENSHOTS_ENV,
    Page,
    launch,
    open_page,
    require_chromium,
    save_doc_screenshot,
)
from tests.support.gateway import serve

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE = "<script>document.title = 'pwned'</script> a & b"


def _document(body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset=utf-8><title>Echo</title></head>"
        f"<body><h1>Echo</h1>{body}</body></html>"
    )


def echo_app() -> Starlette:
    """GET / shows a form; POST /echo echoes the message escaped and keeps it under a
    session cookie; GET /seen shows what that cookie's session sent last."""
    sessions: dict[str, str] = {}

    async def form(request: Request) -> Response:
        return _document(
            '<form method="post" action="/echo">'
            '<label for="message">Message</label> <input id="message" name="message">'
            '<button type="submit">Send</button></form>'
        )

    async def echo(request: Request) -> Response:
        fields = parse_qs((await request.body()).decode(), keep_blank_values=True)
        message = fields.get("message", [""])[0]
        session = secrets.token_urlsafe(16)
        sessions[session] = message
        response = _document(
            f'<p id="echo">You said: {html.escape(message)}</p><a href="/seen">What I sent</a>'
        )
        response.set_cookie("session", session, httponly=True, samesite="strict")
        return response

    async def seen(request: Request) -> Response:
        message = sessions.get(request.cookies.get("session", ""))
        if message is None:
            return _document("<p>Nothing yet.</p>")
        return _document(f"<p>Last time: {html.escape(message)}</p>")

    async def home(request: Request) -> Response:
        return RedirectResponse("/", status_code=303)

    return Starlette(
        routes=[
            Route("/", form),
            Route("/echo", echo, methods=["POST"]),
            Route("/seen", seen),
            Route("/home", home),
        ]
    )


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[str]:
    async with serve(echo_app()) as url:
        yield url


async def _send(page: Page, site: str, message: str) -> None:
    assert await page.goto(site) == 200
    await page.fill("Message", message)
    await page.click("Send")


async def test_a_filled_form_is_submitted_and_its_echo_reads_as_text(page: Page, site: str) -> None:
    await _send(page, site, HOSTILE)

    assert page.url == f"{site}/echo"
    assert f"You said: {HOSTILE}" in await page.text()
    assert "&lt;script&gt;" in await page.html()
    assert await page.raw.locator("script").count() == 0
    assert await page.raw.title() == "Echo"  # the echoed script never ran
    assert page.errors == []


async def test_the_session_cookie_is_kept_and_sent_back(page: Page, site: str) -> None:
    await _send(page, site, "remember me")

    cookie = await page.cookie("session")
    assert cookie is not None
    assert cookie.get("httpOnly") is True
    assert cookie.get("sameSite") == "Strict"
    await page.click("What I sent")
    assert page.url == f"{site}/seen"
    assert "Last time: remember me" in await page.text()


async def test_every_page_starts_without_cookies(browser: Browser, page: Page, site: str) -> None:
    await _send(page, site, "only mine")
    assert await page.cookie("session") is not None

    async with open_page(browser) as other:
        assert await other.goto(f"{site}/seen") == 200
        assert await other.cookie("session") is None
        assert "Nothing yet." in await other.text()


async def test_goto_answers_the_final_status(page: Page, site: str) -> None:
    assert await page.goto(f"{site}/nowhere") == 404
    assert await page.goto(f"{site}/home") == 200
    assert page.url == f"{site}/"


async def test_a_screenshot_is_a_png_of_the_rendered_page(
    page: Page, site: str, tmp_path: Path
) -> None:
    await _send(page, site, "in the picture")

    shot = await page.screenshot(tmp_path / "shots" / "echo.png")
    assert shot.read_bytes().startswith(PNG_SIGNATURE)
    with Image.open(shot) as image:
        assert image.format == "PNG"
        assert image.width >= 800 and image.height >= 400
        colours = image.convert("L").getcolors(maxcolors=256 * 256)
    assert colours is not None and len(colours) > 2, "a blank page: nothing was rendered"


async def test_doc_screenshots_are_written_only_when_asked(
    page: Page, site: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await page.goto(site) == 200

    monkeypatch.delenv(DOC_SCREENSHOTS_ENV, raising=False)
    assert await save_doc_screenshot(page, "echo", tmp_path) is None
    assert list(tmp_path.iterdir()) == []

    monkeypatch.setenv(DOC_SCREENSHOTS_ENV, "1")
    shot = await save_doc_screenshot(page, "echo", tmp_path)
    assert shot == tmp_path / "echo.png"
    assert shot.read_bytes().startswith(PNG_SIGNATURE)


async def test_without_chromium_the_tests_fail_naming_make_browser(tmp_path: Path) -> None:
    missing = tmp_path / "chromium"
    with pytest.raises(pytest.fail.Exception, match="run `make browser`"):
        require_chromium(missing)
    with pytest.raises(pytest.fail.Exception, match="run `make browser`"):
        async with launch(tmp_path / "profile", executable=missing):
            pass
