"""Structured logs: one JSON line per request with its fields, and never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from temporalio.client import Client

from tests.support.gateway import serve_gateway
from tests.support.routes import orders_route
from tests.support.signing import ORDERS_SECRET, order_payload, signed
from webhook_gateway.config.routes import HooktideConfig, parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.dev.temporal_server import TemporalDevServer
from webhook_gateway.observability import logs as logging_setup
from webhook_gateway.observability.logs import REDACTED, RedactingFilter

OPERATOR_TOKEN = "ops-operator-token-123"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    settings = Settings(HOOKTIDE_OPERATOR_TOKEN=OPERATOR_TOKEN)
    handler = logging_setup.configure(
        fmt="json", secrets=logging_setup.secret_values(settings, _config("x")), stream=stream
    )
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def _config(task_queue: str) -> HooktideConfig:
    return parse_config({"routes": {"orders": orders_route(task_queue, "logs-")}})


@pytest.fixture
async def gateway(client: Client, task_queue: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(HOOKTIDE_OPERATOR_TOKEN=OPERATOR_TOKEN)
    async with serve_gateway(_config(task_queue), settings, client=client) as http:
        yield http


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_each_request_logs_one_json_line_with_route_ids_outcome_and_latency(
    log_stream: io.StringIO, gateway: httpx.AsyncClient
) -> None:
    body, headers = signed(order_payload())
    accepted = await gateway.post("/webhooks/orders", content=body, headers=headers)
    forged = await gateway.post(
        "/webhooks/orders", content=body, headers=headers | {"webhook-signature": "v1,AAAA"}
    )
    assert (accepted.status_code, forged.status_code) == (202, 401)

    lines = _lines(log_stream)
    requests = [line for line in lines if line.get("outcome")]
    assert len(requests) == 2
    ok, bad = requests
    assert ok["route"] == "orders" and ok["mode"] == "start"
    assert ok["delivery_id"] == headers["webhook-id"]
    assert ok["workflow_id"] == "logs-" + headers["webhook-id"]
    assert ok["outcome"] == "accepted" and ok["status"] == 202
    assert isinstance(ok["latency_ms"], float) and ok["latency_ms"] > 0
    assert ok["level"] == "INFO" and ok["logger"] == "hooktide.gateway"
    assert bad["outcome"] == "verification-failed/bad-signature" and bad["status"] == 401
    assert bad["delivery_id"] is None


async def test_logs_never_carry_secrets_or_credential_headers(
    log_stream: io.StringIO, gateway: httpx.AsyncClient
) -> None:
    body, headers = signed(order_payload())
    await gateway.post("/webhooks/orders", content=body, headers=headers)
    await gateway.get("/deliveries/x", headers={"authorization": f"Bearer {OPERATOR_TOKEN}"})
    log = logging.getLogger("hooktide.test")
    log.warning("token %s leaked in a message", OPERATOR_TOKEN)
    log.warning("secret in extra", extra={"note": f"key={ORDERS_SECRET}"})
    log.warning(
        "headers", extra={"headers": {"Authorization": "Bearer abcdefgh", "x-ok": "visible"}}
    )
    try:
        raise ValueError(f"boom with {ORDERS_SECRET}")
    except ValueError:
        log.exception("failed")

    text = log_stream.getvalue()
    lines = _lines(log_stream)
    assert ORDERS_SECRET not in text
    assert OPERATOR_TOKEN not in text
    assert "abcdefgh" not in text
    assert headers["webhook-signature"].split(",", 1)[1] not in text
    assert any(
        line.get("headers") == {"Authorization": REDACTED, "x-ok": "visible"} for line in lines
    )
    assert any(REDACTED in str(line.get("exception", "")) for line in lines)


def test_redacting_filter_replaces_credential_headers_in_free_text() -> None:
    redact = RedactingFilter(["s3cr3t-value"]).redact

    assert redact("Authorization: Bearer tok_123456") == f"Authorization: {REDACTED}"
    assert redact("sent webhook-signature=v1,abc== ok") == f"sent webhook-signature={REDACTED} ok"
    assert redact("{'x-api-key': 'k-987654'}") == f"{{'x-api-key': '{REDACTED}'}}"
    assert redact("value s3cr3t-value here") == f"value {REDACTED} here"
    assert redact("nothing to hide") == "nothing to hide"


def test_text_format_is_one_readable_line_with_the_fields() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logging_setup.configure(fmt="text", stream=stream)
    try:
        logging.getLogger("hooktide.gateway").info(
            "webhook POST /x -> 202", extra={"route": "orders", "latency_ms": 1.25}
        )
    finally:
        root.removeHandler(handler)
        root.setLevel(level)

    line = stream.getvalue().strip()
    assert "INFO hooktide.gateway webhook POST /x -> 202 route=orders latency_ms=1.2" in line
    assert not line.startswith("{")


def _routes(task_queue: str, names: list[str]) -> HooktideConfig:
    routes = {
        name: orders_route(task_queue, f"{name}-", path=f"/webhooks/{name}") for name in names
    }
    return parse_config({"routes": routes})


async def _lookup(client: Client, config: HooktideConfig, delivery_id: str) -> httpx.Response:
    settings = Settings(HOOKTIDE_OPERATOR_TOKEN=OPERATOR_TOKEN)
    async with serve_gateway(config, settings, client=client) as http:
        return await http.get(
            f"/deliveries/{delivery_id}", headers={"authorization": f"Bearer {OPERATOR_TOKEN}"}
        )


def _alarms(stream: io.StringIO) -> list[dict[str, object]]:
    """Warnings and errors of the gateway's own (not the session worker's SDK) loggers."""
    return [
        line
        for line in _lines(stream)
        if line["level"] in ("WARNING", "ERROR", "CRITICAL")
        and not str(line["logger"]).startswith("temporalio")
    ]


async def test_a_delivery_lookup_that_finds_nothing_is_a_404_and_no_warning_or_error(
    log_stream: io.StringIO, client: Client, task_queue: str
) -> None:
    config = _routes(task_queue, ["orders", "refunds", "tickets", "invoices"])

    response = await _lookup(client, config, "never-seen")

    assert response.status_code == 404
    assert _alarms(log_stream) == []


async def test_a_delivery_lookup_temporal_refuses_is_still_logged_as_an_error(
    log_stream: io.StringIO, dev_server: TemporalDevServer, task_queue: str
) -> None:
    elsewhere = await Client.connect(dev_server.address, namespace="hooktide-no-such-namespace")

    response = await _lookup(elsewhere, _routes(task_queue, ["orders"]), "never-seen")

    assert response.status_code == 503
    [alarm] = _alarms(log_stream)
    assert alarm["level"] == "ERROR" and "not found" in str(alarm["message"]).lower()


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abc",
        "sent bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl to the peer",
        "header was Basic dXNlcjpwYXNz",
        "bearer=plain-token",
        "url ?bearer=abc&page=2",
        "auth 'Bearer tok_123456'",
        "Bearer: t0ken-value",
    ],
)
def test_credential_values_after_bearer_or_basic_are_redacted(text: str) -> None:
    redacted = RedactingFilter().redact(text)

    assert REDACTED in redacted
    for value in ("abc", "eyJ", "dXNlcjpwYXNz", "plain-token", "tok_123456", "t0ken-value"):
        assert value not in redacted.replace("[REDACTED]", "")


@pytest.mark.parametrize(
    "text",
    [
        "route=bearer",
        "webhook POST /webhooks/bearer -> 202",
        "Route bearer accepted the delivery",
        "verifier type bearer requires a token",
        "bearer tokens travel in the Authorization header",
        "Basic authentication failed for route basic",
        "route 'bearer' has verifier type 'basic'",
        "bearer  /sec/bearer  start  OrderWorkflow",
        "verifier types: bearer basic_auth api_key",
        "Basic read-only access",
    ],
)
def test_ordinary_words_bearer_and_basic_are_kept(text: str) -> None:
    assert RedactingFilter().redact(text) == text
