"""Known secret values drive every path of the stack; afterwards no log line and no workflow
history may contain any of them, in any common encoding."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from faults.stack import Stack
from tests.support.hooktide import NO_DOTENV
from tests.support.polling import eventually
from webhook_gateway.contracts.signing import decode_secret, sign

#: Starts its own Temporal, worker and gateway processes.
pytestmark = pytest.mark.slow

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"leak-canary-secret-0123456789-ab").decode()
OPERATOR_TOKEN = "leak-canary-operator-token-7f3a9c"


def needles() -> list[str]:
    key = decode_secret(WEBHOOK_SECRET, route="t")
    return [
        WEBHOOK_SECRET,
        WEBHOOK_SECRET.removeprefix("whsec_"),
        key.decode(),
        key.hex(),
        OPERATOR_TOKEN,
        base64.b64encode(OPERATOR_TOKEN.encode()).decode(),
    ]


async def test_no_secret_in_any_log_or_workflow_history(tmp_path: Path) -> None:
    queue = f"leak-{uuid.uuid4().hex[:6]}"
    stack = Stack(
        tmp_path, secret=WEBHOOK_SECRET, task_queue=queue,
        env={"HOOKTIDE_OPERATOR_TOKEN": OPERATOR_TOKEN, **NO_DOTENV},
    )  # fmt: skip
    await stack.start()
    try:
        key = decode_secret(WEBHOOK_SECRET, route="t")
        async with httpx.AsyncClient(base_url=stack.url, timeout=10) as http:
            for case in ("valid", "forged", "expired", "operator", "operator-wrong"):
                delivery = f"{case}-{uuid.uuid4().hex[:6]}"
                body = json.dumps(
                    {"id": delivery, "customer": {"id": "c", "email": "a@b.co"},
                     "lines": [{"sku": "S", "quantity": 1, "unit_price": "1"}]}
                ).encode()  # fmt: skip
                stamp = int(time.time()) - (1000 if case == "expired" else 0)
                signature = sign(key if case != "forged" else b"x" * 32, delivery, stamp, body)
                headers = {
                    "content-type": "application/json",
                    "webhook-id": delivery,
                    "webhook-timestamp": str(stamp),
                    "webhook-signature": signature,
                    # A sender that (wrongly) sends credentials along must not get them stored.
                    "authorization": f"Bearer {OPERATOR_TOKEN}",
                    "x-api-key": WEBHOOK_SECRET,
                }
                response = await http.post("/webhooks/orders", content=body, headers=headers)
                assert response.status_code == (401 if case in ("forged", "expired") else 202)
                if case.startswith("operator"):
                    token = OPERATOR_TOKEN if case == "operator" else OPERATOR_TOKEN[::-1]
                    await http.get(
                        f"/deliveries/{delivery}", headers={"authorization": f"Bearer {token}"}
                    )
        client = await Client.connect(stack.temporal.address)
        await eventually(  # visibility lags the starts a little
            lambda: client.count_workflows(f"TaskQueue = '{queue}'"),
            lambda listed: listed.count >= 3,
            timeout=10,
        )
        histories = []
        async for wf in client.list_workflows(f"TaskQueue = '{queue}'"):
            handle = client.get_workflow_handle(wf.id, run_id=wf.run_id)
            await handle.result()
            histories.append((await handle.fetch_history()).to_json())
    finally:
        stack.stop()

    assert len(histories) == 3  # valid, operator, operator-wrong; the rejected started nothing
    assert all("leak-canary" not in h for h in histories)  # the decoded key reads like this
    logs = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in tmp_path.glob("*.log")}
    assert set(logs) >= {"gateway.log", "worker.log", "temporal.log"}
    assert any("verification-failed" in text for text in logs.values())  # rejections are logged
    for needle in needles():
        for name, text in logs.items():
            assert needle not in text, f"{name} leaks a secret"
        for history in histories:
            assert needle not in history, "a workflow history leaks a secret"
