"""Temporal going away and coming back, with the gateway left running throughout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.support.gateway import serve_gateway
from tests.support.net import free_port
from tests.support.routes import e2e_config
from tests.support.signing import order_payload, signed
from webhook_gateway.config.settings import Settings
from webhook_gateway.dev.temporal_server import TemporalDevServer


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[TemporalDevServer]:
    server = TemporalDevServer(db_file=tmp_path / "temporal.db", port=free_port(), ui_port=None)
    server.start()
    yield server
    server.stop()


async def test_temporal_down_is_prompt_503_and_recovery_needs_no_restart(
    own_server: TemporalDevServer,
) -> None:
    await own_server.wait_ready()
    settings = Settings(TEMPORAL_ADDRESS=own_server.address)
    # The gateway connects lazily, exactly as `hooktide gateway` does.
    async with serve_gateway(e2e_config("outage-queue"), settings, timeout=30) as http:
        body, headers = signed(order_payload())
        before = await http.post("/webhooks/orders", content=body, headers=headers)
        assert before.status_code == 202, before.text

        own_server.stop(kill=True)
        body, down_headers = signed(order_payload())
        started = time.monotonic()
        down = await http.post("/webhooks/orders", content=body, headers=down_headers)
        elapsed = time.monotonic() - started
        not_ready = await http.get("/readyz")

        assert down.status_code == 503
        assert down.headers["retry-after"] == "5"
        assert down.headers["content-type"] == "application/problem+json"
        assert down.json()["type"].endswith("temporal-unavailable")
        assert elapsed < 3.0, f"503 took {elapsed:.2f} s"
        assert not_ready.status_code == 503

        own_server.start()
        await own_server.wait_ready()
        # The sender retries the very delivery that got 503; the gateway takes it now.
        for _ in range(40):
            body, retry_headers = signed(order_payload(), msg_id=down_headers["webhook-id"])
            retry = await http.post("/webhooks/orders", content=body, headers=retry_headers)
            if retry.status_code == 202:
                break
            assert retry.status_code == 503
        assert retry.status_code == 202, retry.text
        assert retry.json()["duplicate"] is False
        assert (await http.get("/readyz")).status_code == 200

    # Both acknowledged deliveries survived the kill: they are in the SQLite file.
    client = await Client.connect(own_server.address, data_converter=pydantic_data_converter)
    for ack in (before.json(), retry.json()):
        desc = await client.get_workflow_handle(ack["workflow_id"]).describe()
        assert desc.run_id == ack["run_id"]


async def test_gateway_started_before_temporal_answers_503_then_202(tmp_path: Path) -> None:
    server = TemporalDevServer(db_file=tmp_path / "late.db", port=free_port(), ui_port=None)
    settings = Settings(TEMPORAL_ADDRESS=server.address)
    try:
        async with serve_gateway(e2e_config("late-queue"), settings, timeout=30) as http:
            body, headers = signed(order_payload())
            started = time.monotonic()
            early = await http.post("/webhooks/orders", content=body, headers=headers)
            assert early.status_code == 503
            assert time.monotonic() - started < 3.0

            server.start()
            await server.wait_ready()
            body, headers = signed(order_payload(), msg_id=headers["webhook-id"])
            late = await http.post("/webhooks/orders", content=body, headers=headers)
            assert late.status_code == 202, late.text
    finally:
        server.stop()
