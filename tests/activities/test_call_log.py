"""The call log: every outbound HTTP call leaves one redacted record, in the delivery's
attempt log (query and result) and on the `hooktide.outbound` logger."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.http.call_log import (
    MAX_HEADER_VALUE,
    REDACTED,
    redact_headers,
    redact_text,
    redact_url,
)
from activities.http.models import BearerAuth, HeaderAuth, HttpRequest, HttpResponse, Timeouts
from activities.outbound import DeliveryInput, DeliveryTarget
from tests.support.activities import http_request
from tests.support.peer import Peer, Reply
from tests.support.signing import ORDERS_SECRET
from webhook_gateway.contracts.outbound import AttemptOutcome
from webhook_gateway.contracts.secrets import SecretSource
from webhook_gateway.observability.logs import JsonFormatter
from workflows.outbound.delivery import WebhookDeliveryWorkflow

#: The peers live on loopback, which the SSRF guard refuses unless allowlisted.
pytestmark = pytest.mark.usefixtures("allow_loopback")

BEARER = "bearer-secret-value-7f3a9c"
API_HEADER = "header-secret-value-51be02"
QUERY_SECRET = "query-secret-value-c0ffee"
USERINFO_SECRET = "userinfo-secret-d00d"
SECRET_ENV = "TEST_CALL_LOG_WHSEC"
ITEMS = b'{"ok": true, "items": [1, 2, 3]}'


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_CALL_LOG_BEARER", BEARER)
    monkeypatch.setenv("TEST_CALL_LOG_HEADER", API_HEADER)
    monkeypatch.setenv(SECRET_ENV, ORDERS_SECRET)


def outbound_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(r)) for r in caplog.records if r.name == "hooktide.outbound"
    ]


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    formatter = JsonFormatter()
    return "\n".join(formatter.format(r) for r in caplog.records)


def test_a_url_loses_its_userinfo_and_secret_looking_query_values() -> None:
    url = f"https://ada:{USERINFO_SECRET}@api.example.com/v1/items?page=2&api_key={QUERY_SECRET}"

    clean = redact_url(url + f"&access_token={QUERY_SECRET}&sig={QUERY_SECRET}")

    assert clean == (
        "https://api.example.com/v1/items?page=2"
        f"&api_key={REDACTED}&access_token={REDACTED}&sig={REDACTED}"
    )


def test_credential_headers_are_redacted_and_values_bounded() -> None:
    headers = {
        "Authorization": f"Bearer {BEARER}",
        "X-Partner": API_HEADER,
        "webhook-signature": "v1,abc",
        "Cookie": "session=1",
        "x-note": "n" * 1000,
        "content-type": "application/json",
    }

    clean = redact_headers(headers, credentials=["x-partner"])

    assert clean["authorization"] == clean["x-partner"] == REDACTED
    assert clean["webhook-signature"] == clean["cookie"] == REDACTED
    assert clean["content-type"] == "application/json"
    assert len(clean["x-note"]) == MAX_HEADER_VALUE


def test_error_text_gets_the_redacted_url_and_a_bound() -> None:
    url = f"http://127.0.0.1:1/x?token={QUERY_SECRET}"

    text = redact_text(f"Connection to {url} failed" + "!" * 2000, [url])

    assert QUERY_SECRET not in text
    assert text.startswith(f"Connection to http://127.0.0.1:1/x?token={REDACTED} failed")
    assert len(text) == 512


async def test_an_http_request_call_is_logged_with_its_fields_and_no_secret(
    peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    peer.script("/items", Reply(200, body=ITEMS))
    response: HttpResponse = await ActivityEnvironment().run(
        http_request(),
        HttpRequest(
            url=peer.url("/items"),
            query={"page": "2", "api_key": QUERY_SECRET},
            auth=BearerAuth(token_env="TEST_CALL_LOG_BEARER"),
        ),
    )

    assert response.status == 200
    [seen] = peer.at("/items")
    assert seen.headers["authorization"] == f"Bearer {BEARER}"  # it was really sent
    [line] = outbound_lines(caplog)
    assert line["level"] == "INFO"
    assert (line["method"], line["status"], line["attempt"], line["outcome"]) == (
        "GET",
        200,
        1,
        "ok",
    )
    assert line["url"] == f"{peer.url('/items')}?page=2&api_key={REDACTED}"
    assert line["latency_ms"] > 0
    assert line["request_bytes"] == 0 and line["response_bytes"] == len(ITEMS)
    assert line["headers"]["authorization"] == REDACTED
    assert line["workflow_id"]  # the activity's context
    logged = everything_logged(caplog)
    assert BEARER not in logged and QUERY_SECRET not in logged


async def test_a_query_string_in_the_url_is_kept_next_to_query_params(peer: Peer) -> None:
    await ActivityEnvironment().run(
        http_request(), HttpRequest(url=peer.url("/q?a=1&b=2"), query={"c": ["3", "4"]})
    )

    [seen] = peer.at("/q")
    assert seen.query == "a=1&b=2&c=3&c=4"


async def test_a_failed_call_is_logged_as_a_warning_and_its_error_carries_no_secret(
    peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    peer.script("/busy", Reply(503))

    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            http_request(),
            HttpRequest(
                method="POST",
                url=peer.url(f"/busy?token={QUERY_SECRET}").replace(
                    "://", f"://ada:{USERINFO_SECRET}@"
                ),
                auth=HeaderAuth(name="X-Partner-Key", value_env="TEST_CALL_LOG_HEADER"),
            ),
        )

    assert caught.value.type == "HttpRetryableStatus"
    for secret in (QUERY_SECRET, USERINFO_SECRET):
        assert secret not in str(caught.value)
        assert secret not in json.dumps(caught.value.details)
    [line] = outbound_lines(caplog)
    assert line["level"] == "WARNING"
    assert (line["status"], line["outcome"]) == (503, "HttpRetryableStatus")
    assert line["headers"]["x-partner-key"] == REDACTED
    assert "idempotency-key" in line["headers"]
    logged = everything_logged(caplog)
    for secret in (API_HEADER, QUERY_SECRET, USERINFO_SECRET):
        assert secret not in logged


REFUSED = {
    "declared too large": (
        Reply(200, body=b"y" * 2048),
        {"max_response_bytes": 1024},
        "HttpResponseTooLarge",
    ),
    "streamed too large": (
        Reply(200, stream_bytes=100_000),
        {"max_response_bytes": 10_000},
        "HttpResponseTooLarge",
    ),
    "trickle": (
        Reply(200, stream_bytes=16_384 * 20, chunk_delay=0.1),
        {"timeouts": Timeouts(read=1, total=0.5)},
        "HttpTimeout",
    ),
    "not json": (Reply(200, body=b"<html>"), {"response": "json"}, "HttpInvalidResponse"),
}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_a_refused_response_is_logged_as_refused_not_as_its_status(
    case: str, peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reply, options, kind = REFUSED[case]
    peer.script("/refused", reply)

    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            http_request(),
            HttpRequest(url=peer.url("/refused"), **{"response": "text", **options}),
        )

    assert caught.value.type == kind
    [record] = [r for r in caplog.records if r.name == "hooktide.outbound"]
    [line] = outbound_lines(caplog)
    assert line["level"] == "WARNING"
    assert (line["status"], line["outcome"]) == (None, kind)
    assert record.getMessage().startswith(f"outbound GET {peer.url('/refused')} -> {kind} in ")
    assert "-> 200" not in record.getMessage()


async def test_a_too_large_response_says_how_large_and_the_limit(peer: Peer) -> None:
    peer.script("/big", Reply(200, body=b"y" * 2048))

    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            http_request(), HttpRequest(url=peer.url("/big"), max_response_bytes=1024)
        )

    assert caught.value.message == (
        f"The response from {peer.url('/big')} declares 2048 bytes, more than the limit of "
        "1024 (max_response_bytes)"
    )


async def test_each_delivery_attempt_is_in_the_attempt_log_query_result_and_logs_redacted(
    ts_client: Client, ts_queue: str, peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    peer.verify("/hook", ORDERS_SECRET)
    peer.script("/hook", Reply(503), Reply(200))
    to = DeliveryTarget(
        subscription=f"log-{uuid.uuid4().hex[:8]}",
        url=peer.url(f"/hook?token={QUERY_SECRET}&v=1"),
        secret=SecretSource(env=SECRET_ENV),
    )
    msg_id = f"msg_{uuid.uuid4().hex}"
    payload = {"type": "order.completed", "timestamp": "2026-01-01T00:00:00Z", "data": {}}
    handle = await ts_client.start_workflow(
        WebhookDeliveryWorkflow.run,
        DeliveryInput(target=to, msg_id=msg_id, payload=payload),
        id=f"delivery-{msg_id}",
        task_queue=ts_queue,
    )

    result = await handle.result()
    queried = await handle.query(WebhookDeliveryWorkflow.attempts)

    assert (result.outcome, result.attempts) == ("delivered", 2)
    assert queried == result.attempt_log
    calls = [a.call for a in result.attempt_log]
    assert all(c is not None for c in calls)
    first, second = (c for c in calls if c is not None)
    assert [(c.attempt, c.status, c.outcome) for c in (first, second)] == [
        (1, 503, "HttpRetryableStatus"),
        (2, 200, "ok"),
    ]
    assert first.url == peer.url(f"/hook?token={REDACTED}&v=1")
    assert first.method == "POST" and first.request_bytes == len(peer.at("/hook")[0].body)
    assert peer.at("/hook")[0].query == f"token={QUERY_SECRET}&v=1"
    assert first.headers["webhook-signature"] == REDACTED
    assert first.headers["webhook-id"] == msg_id
    lines = outbound_lines(caplog)
    assert [(x["attempt"], x["status"], x["msg_id"]) for x in lines] == [
        (1, 503, msg_id),
        (2, 200, msg_id),
    ]
    assert {x["subscription"] for x in lines} == {to.subscription}
    signatures = [r.headers["webhook-signature"] for r in peer.at("/hook")]
    visible = everything_logged(caplog) + result.model_dump_json()
    for secret in (QUERY_SECRET, *signatures, *(s.split(",", 1)[1] for s in signatures)):
        assert secret not in visible


def test_an_attempt_recorded_before_the_call_log_still_loads() -> None:
    outcome = AttemptOutcome.model_validate({"result": "failed", "error": "timeout"})

    assert outcome.call is None
