"""SIGTERM: the gateway answers what is in flight, refuses new work with 503, then exits;
the worker stops cleanly."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from faults.stack import LOOPBACK, Stack
from tests.support.hooktide import NO_DOTENV
from webhook_gateway.contracts.signing import decode_secret, sign

#: Each test starts its own Temporal, worker and gateway processes.
pytestmark = pytest.mark.slow

SECRET = "whsec_Z3JhY2VmdWwtc2h1dGRvd24tdGVzdC1zZWNyZXQ="


def signed_request(delivery_id: str) -> tuple[bytes, bytes]:
    body = json.dumps(
        {
            "id": delivery_id,
            "customer": {"id": "c", "email": "a@b.co"},
            "lines": [{"sku": "S", "quantity": 1, "unit_price": "1"}],
        }
    ).encode()
    stamp = int(time.time())
    signature = sign(decode_secret(SECRET, route="t"), delivery_id, stamp, body)
    head = (
        f"POST /webhooks/orders HTTP/1.1\r\nhost: {LOOPBACK}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
        f"webhook-id: {delivery_id}\r\nwebhook-timestamp: {stamp}\r\n"
        f"webhook-signature: {signature}\r\n\r\n"
    ).encode()
    return head, body


async def test_sigterm_drains_in_flight_and_refuses_new_requests(tmp_path: Path) -> None:
    queue = f"drain-{uuid.uuid4().hex[:6]}"
    stack = Stack(tmp_path, secret=SECRET, task_queue=queue, env=NO_DOTENV)
    await stack.start()
    try:
        delivery_id = f"in-flight-{uuid.uuid4().hex[:8]}"
        head, body = signed_request(delivery_id)
        reader, writer = await asyncio.open_connection(LOOPBACK, stack.port)
        writer.write(head + body[:10])  # the request is now in flight, body half sent
        await writer.drain()
        await asyncio.sleep(0.3)

        gateway = stack.process("gateway")
        gateway.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        async with httpx.AsyncClient(base_url=stack.url, timeout=5) as http:
            refused = await http.post("/webhooks/orders", content=b"{}")
            not_ready = await http.get("/readyz")

        writer.write(body[10:])
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
        writer.close()
        exit_code = await asyncio.to_thread(gateway.wait, 15)

        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.json()["type"].endswith("shutting-down")
        assert not_ready.status_code == 503
        assert status_line.split()[1] == b"202"
        assert exit_code == 0
        client = await Client.connect(stack.temporal.address)
        described = await client.get_workflow_handle(f"order-{delivery_id}").describe()
        assert described.id == f"order-{delivery_id}"

        worker = stack.process("worker")
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(worker.wait, 20)
        log = (tmp_path / "worker.log").read_text(encoding="utf-8")
        assert code == 0, log
        assert "worker stopped" in log
    finally:
        stack.stop()


async def test_idle_gateway_stops_promptly_on_sigterm(tmp_path: Path) -> None:
    queue = f"idle-{uuid.uuid4().hex[:6]}"
    stack = Stack(tmp_path, secret=SECRET, task_queue=queue, env=NO_DOTENV)
    await stack.start()
    try:
        gateway = stack.process("gateway")
        started = time.monotonic()
        gateway.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(gateway.wait, 15) == 0
        assert time.monotonic() - started < 5
    finally:
        stack.stop()
