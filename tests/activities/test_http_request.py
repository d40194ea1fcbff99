"""The `http_request` activity alone (ActivityEnvironment) against a real HTTP peer."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.http.errors import parse_retry_after
from activities.http.models import (
    BasicAuth,
    BearerAuth,
    FormBody,
    HeaderAuth,
    HttpRequest,
    HttpResponse,
    JsonBody,
    RawBody,
    Timeouts,
)
from activities.http.request import (
    activity_idempotency_key,
    idempotency_key_for,
    send,
)
from activities.http.ssrf import OutboundPolicy
from tests.support.activities import http_request
from tests.support.net import free_port
from tests.support.peer import Peer, Reply

#: The peers live on loopback, which the SSRF guard refuses unless allowlisted.
pytestmark = pytest.mark.usefixtures("allow_loopback")


async def run(request: HttpRequest) -> HttpResponse:
    result: HttpResponse = await ActivityEnvironment().run(http_request(), request)
    return result


async def failure(request: HttpRequest) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await run(request)
    return caught.value


def detail(err: ApplicationError) -> dict[str, Any]:
    value: dict[str, Any] = err.details[0]
    return value


async def test_get_returns_status_selected_headers_parsed_json_and_elapsed(peer: Peer) -> None:
    peer.script(
        "/item",
        Reply(
            200, {"content-type": "application/json", "x-trace": "t1", "x-other": "o"}, b'{"id": 7}'
        ),
    )
    response = await run(
        HttpRequest(
            url=peer.url("/item"), query={"a": "1", "b": ["2", "3"]}, response_headers=["X-Trace"]
        )
    )
    assert response.status == 200
    assert response.body == {"id": 7}
    assert response.headers == {"content-type": "application/json", "x-trace": "t1"}
    assert response.elapsed_seconds > 0
    assert peer.requests[0].query == "a=1&b=2&b=3"
    assert "idempotency-key" not in peer.requests[0].headers


async def test_json_body_with_bearer_token_read_from_the_environment(
    peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_API_TOKEN", "tok-123")
    request = HttpRequest(
        method="post",
        url=peer.url("/orders"),
        body=JsonBody(data={"sku": "A", "n": 2}),
        auth=BearerAuth(token_env="TEST_API_TOKEN"),
    )
    await run(request)
    seen = peer.requests[0]
    assert seen.method == "POST"
    assert json.loads(seen.body) == {"sku": "A", "n": 2}
    assert seen.headers["authorization"] == "Bearer tok-123"
    assert "tok-123" not in request.model_dump_json()


async def test_form_body_with_basic_auth(peer: Peer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_API_PASSWORD", "s3cret")
    await run(
        HttpRequest(
            method="PUT",
            url=peer.url("/form"),
            body=FormBody(data={"a": "1", "b": ["x", "y"]}),
            auth=BasicAuth(username="ada", password_env="TEST_API_PASSWORD"),
        )
    )
    seen = peer.requests[0]
    assert seen.body == b"a=1&b=x&b=y"
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen.headers["authorization"] == "Basic " + base64.b64encode(b"ada:s3cret").decode()


async def test_raw_body_with_header_auth(peer: Peer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_API_KEY", "k-9")
    await run(
        HttpRequest(
            method="PATCH",
            url=peer.url("/raw"),
            body=RawBody(content=b"\x00\x01raw", content_type="application/x-thing"),
            auth=HeaderAuth(name="X-Api-Key", value_env="TEST_API_KEY"),
        )
    )
    seen = peer.requests[0]
    assert seen.body == b"\x00\x01raw"
    assert seen.headers["content-type"] == "application/x-thing"
    assert seen.headers["x-api-key"] == "k-9"


async def test_missing_credential_variable_is_a_non_retryable_failure_naming_it(peer: Peer) -> None:
    err = await failure(
        HttpRequest(url=peer.url("/x"), auth=BearerAuth(token_env="TEST_NOT_SET_ANYWHERE"))
    )
    assert err.type == "HttpCredentialsMissing"
    assert err.non_retryable
    assert "TEST_NOT_SET_ANYWHERE" in err.message
    assert peer.requests == []


async def test_text_and_none_response_parsing(peer: Peer) -> None:
    peer.script("/t", Reply(200, {"content-type": "text/plain"}, b"hello"))
    assert (await run(HttpRequest(url=peer.url("/t"), response="text"))).body == "hello"
    assert (await run(HttpRequest(url=peer.url("/t"), response="none"))).body is None


async def test_invalid_json_is_a_non_retryable_invalid_response(peer: Peer) -> None:
    peer.script("/t", Reply(200, {}, b"<html>"))
    err = await failure(HttpRequest(url=peer.url("/t")))
    assert (err.type, err.non_retryable) == ("HttpInvalidResponse", True)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
async def test_server_errors_timeouts_and_throttling_are_retryable(peer: Peer, status: int) -> None:
    peer.script("/busy", Reply(status))
    err = await failure(HttpRequest(url=peer.url("/busy")))
    assert err.type == "HttpRetryableStatus"
    assert not err.non_retryable
    assert detail(err)["status"] == status
    assert err.next_retry_delay is None


async def test_retry_after_seconds_sets_the_next_retry_delay(peer: Peer) -> None:
    peer.script("/busy", Reply(503, {"retry-after": "120"}))
    err = await failure(HttpRequest(url=peer.url("/busy")))
    assert err.next_retry_delay == timedelta(seconds=120)
    assert detail(err)["headers"]["retry-after"] == "120"


async def test_retry_after_http_date_sets_the_next_retry_delay(peer: Peer) -> None:
    when = datetime.now(UTC) + timedelta(seconds=90)
    peer.script("/slow-down", Reply(429, {"retry-after": format_datetime(when, usegmt=True)}))
    err = await failure(HttpRequest(url=peer.url("/slow-down")))
    assert err.next_retry_delay is not None
    assert timedelta(seconds=80) < err.next_retry_delay <= timedelta(seconds=90)


def test_retry_after_parsing_edge_cases() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("0") == timedelta(0)
    assert parse_retry_after(" 7 ") == timedelta(seconds=7)
    assert parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now=now) == timedelta(0)
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == timedelta(seconds=30)
    assert parse_retry_after("99999999") == timedelta(days=1)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422])
async def test_other_client_errors_are_non_retryable_with_status_and_body_in_details(
    peer: Peer, status: int
) -> None:
    peer.script("/no", Reply(status, {}, b'{"error": "nope"}'))
    err = await failure(HttpRequest(url=peer.url("/no")))
    assert (err.type, err.non_retryable) == ("HttpClientError", True)
    assert detail(err)["status"] == status
    assert detail(err)["body"] == '{"error": "nope"}'


async def test_expected_status_list_and_ranges_decide_success(peer: Peer) -> None:
    peer.script("/gone", Reply(404, {}, b"{}"))
    ok = await run(HttpRequest(url=peer.url("/gone"), expected_status=["200-299", 404]))
    assert ok.status == 404
    peer.script("/accepted", Reply(202))
    err = await failure(HttpRequest(url=peer.url("/accepted"), expected_status=[200]))
    assert (err.type, err.non_retryable) == ("HttpUnexpectedStatus", True)


def test_expected_status_rejects_malformed_entries() -> None:
    for bad in (["6xx"], ["299-200"], ["abc"], [], [99]):
        with pytest.raises(ValueError):
            HttpRequest(url="http://x.test/", expected_status=bad)


async def test_redirects_are_not_followed_by_default(peer: Peer) -> None:
    peer.script("/old", Reply(302, {"location": "/new"}))
    err = await failure(HttpRequest(url=peer.url("/old")))
    assert (err.type, err.non_retryable) == ("HttpUnexpectedStatus", True)
    assert detail(err)["headers"]["location"] == "/new"
    assert peer.at("/new") == []


async def test_redirects_followed_on_request_drop_credentials_across_origins(
    peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_API_KEY", "k-9")
    port = peer.base.rsplit(":", 1)[1]
    peer.script("/a", Reply(302, {"location": "/b"}))
    peer.script("/b", Reply(307, {"location": f"http://localhost:{port}/c"}))
    response = await run(
        HttpRequest(
            url=peer.url("/a"),
            follow_redirects=True,
            auth=HeaderAuth(name="X-Api-Key", value_env="TEST_API_KEY"),
        )
    )
    assert response.url == f"http://localhost:{port}/c"
    assert peer.at("/b")[0].headers["x-api-key"] == "k-9"
    assert "x-api-key" not in peer.at("/c")[0].headers


async def test_every_redirect_hop_passes_the_ssrf_guard(peer: Peer) -> None:
    peer.script("/hop", Reply(302, {"location": "http://169.254.169.254/latest/meta-data/"}))
    err = await failure(HttpRequest(url=peer.url("/hop"), follow_redirects=True))
    assert (err.type, err.non_retryable) == ("HttpDestinationForbidden", True)
    assert "cloud metadata" in err.message


async def test_too_many_redirects_is_non_retryable(peer: Peer) -> None:
    peer.script("/loop", Reply(302, {"location": "/loop"}))
    err = await failure(HttpRequest(url=peer.url("/loop"), follow_redirects=True, max_redirects=3))
    assert (err.type, err.non_retryable) == ("HttpTooManyRedirects", True)
    assert len(peer.at("/loop")) == 4


async def test_response_over_the_limit_is_refused_while_streaming(peer: Peer) -> None:
    peer.script("/big", Reply(200, {}, stream_bytes=5_000_000))
    err = await failure(
        HttpRequest(url=peer.url("/big"), response="text", max_response_bytes=100_000)
    )
    assert (err.type, err.non_retryable) == ("HttpResponseTooLarge", True)
    assert "sent more" in err.message


async def test_declared_length_over_the_limit_is_refused_before_reading(peer: Peer) -> None:
    peer.script("/big", Reply(200, {}, b"y" * 2048))
    err = await failure(HttpRequest(url=peer.url("/big"), response="text", max_response_bytes=1024))
    assert err.type == "HttpResponseTooLarge"
    assert "declares 2048 bytes" in err.message
    fits = await run(HttpRequest(url=peer.url("/big"), response="text", max_response_bytes=2048))
    assert fits.body == "y" * 2048


async def test_read_timeout_is_retryable(peer: Peer) -> None:
    peer.script("/slow", Reply(200, delay=1.0))
    err = await failure(HttpRequest(url=peer.url("/slow"), timeouts=Timeouts(read=0.2)))
    assert (err.type, err.non_retryable) == ("HttpTimeout", False)


async def test_total_timeout_bounds_a_slow_trickle(peer: Peer) -> None:
    peer.script("/trickle", Reply(200, stream_bytes=16_384 * 20, chunk_delay=0.1))
    err = await failure(
        HttpRequest(url=peer.url("/trickle"), response="text", timeouts=Timeouts(read=1, total=0.5))
    )
    assert (err.type, err.non_retryable) == ("HttpTimeout", False)


async def test_connection_refused_is_retryable() -> None:
    err = await failure(HttpRequest(url=f"http://127.0.0.1:{free_port()}/"))
    assert (err.type, err.non_retryable) == ("HttpConnectionError", False)


async def test_loopback_is_refused_unless_allowlisted(
    peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKTIDE_OUTBOUND_ALLOW", "10.0.0.0/8")
    err = await failure(HttpRequest(url=peer.url("/x")))
    assert (err.type, err.non_retryable) == ("HttpDestinationForbidden", True)
    assert peer.requests == []


async def test_odd_ipv4_spellings_are_resolved_except_a_leading_zero_which_httpx_refuses(
    peer: Peer,
) -> None:
    port = peer.base.rsplit(":", 1)[1]

    octal = await failure(HttpRequest(url=f"http://0177.0.0.1:{port}/octal"))
    hexadecimal = await run(HttpRequest(url=f"http://0x7f.0.0.1:{port}/hex"))

    assert (octal.type, octal.non_retryable) == ("HttpInvalidRequest", True)
    assert hexadecimal.status == 200  # 127.0.0.1, which this test allowlists
    assert [r.path for r in peer.requests] == ["/hex"]


async def test_a_hostname_is_pinned_to_its_checked_address_and_keeps_its_host_header(
    peer: Peer,
) -> None:
    port = peer.base.rsplit(":", 1)[1]
    lookups: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    response = await send(
        HttpRequest(url=f"http://api.hooktide.invalid:{port}/pinned"),
        policy=OutboundPolicy.from_setting("127.0.0.1/32"),
        resolver=resolver,
    )
    assert response.status == 200
    assert lookups == ["api.hooktide.invalid"]
    assert peer.requests[0].headers["host"] == f"api.hooktide.invalid:{port}"


async def test_unsafe_methods_carry_an_idempotency_key_that_ignores_the_attempt(peer: Peer) -> None:
    env = ActivityEnvironment()
    request = HttpRequest(method="POST", url=peer.url("/pay"), body=JsonBody(data={}))
    await env.run(http_request(), request)
    env.info = dataclasses.replace(env.info, attempt=4)
    await env.run(http_request(), request)
    keys = [r.headers["idempotency-key"] for r in peer.requests]
    assert keys[0] == keys[1] == env.run(activity_idempotency_key, request)
    env.info = dataclasses.replace(env.info, workflow_run_id="next-run")
    assert env.run(activity_idempotency_key, request) != keys[0]


async def test_a_given_idempotency_key_is_sent_as_is(peer: Peer) -> None:
    key = idempotency_key_for("order-1", "charge")
    await run(HttpRequest(method="DELETE", url=peer.url("/d"), idempotency_key=key))
    await run(HttpRequest(method="GET", url=peer.url("/g"), idempotency_key=key))
    assert peer.at("/d")[0].headers["idempotency-key"] == key
    assert "idempotency-key" not in peer.at("/g")[0].headers
