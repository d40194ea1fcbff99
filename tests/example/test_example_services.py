"""The example's peers on their own: idempotency keys, injected failures, persistent state,
the SMTP sink's one-file-per-message and the subscriber's signature check."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
from standardwebhooks import Webhook
from starlette.applications import Starlette

from examples import crm, inventory, smtp_sink, subscriber
from tests.example.support import SUBSCRIBER_SECRET, mailbox
from tests.support.net import LOOPBACK

RESERVE = {"order_id": "A-1", "lines": [{"sku": "BOOK", "quantity": 3}]}


def http(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://peer")


async def test_inventory_replays_a_repeated_idempotency_key_and_refuses_a_changed_body(
    tmp_path: Path,
) -> None:
    async with http(inventory.create_app(tmp_path / "inv.json")) as peer:
        first = await peer.post("/reservations", json=RESERVE, headers={"idempotency-key": "k1"})
        again = await peer.post("/reservations", json=RESERVE, headers={"idempotency-key": "k1"})
        changed = await peer.post(
            "/reservations", json={**RESERVE, "order_id": "A-2"}, headers={"idempotency-key": "k1"}
        )
        stock = (await peer.get("/stock")).json()

    assert (first.status_code, again.status_code, changed.status_code) == (201, 201, 422)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert stock == {"BOOK": 97}


async def test_inventory_refuses_what_it_cannot_reserve_and_release_restores_stock(
    tmp_path: Path,
) -> None:
    async with http(inventory.create_app(tmp_path / "inv.json", default_stock=5)) as peer:
        short = await peer.post(
            "/reservations", json={"order_id": "B", "lines": [{"sku": "X", "quantity": 6}]}
        )
        await peer.post(
            "/reservations", json={"order_id": "C", "lines": [{"sku": "X", "quantity": 5}]}
        )
        released = await peer.post("/reservations/C/release")
        twice = await peer.post("/reservations/C/release")
        unknown = await peer.post("/reservations/nope/release")
        stock = (await peer.get("/stock")).json()

    assert short.status_code == 409 and short.json()["skus"] == ["X"]
    assert (released.status_code, twice.status_code, unknown.status_code) == (200, 200, 404)
    assert released.json()["status"] == "released"
    assert stock == {"X": 5}


async def test_inventory_state_survives_a_restart(tmp_path: Path) -> None:
    async with http(inventory.create_app(tmp_path / "inv.json")) as peer:
        await peer.post("/reservations", json=RESERVE)
    async with http(inventory.create_app(tmp_path / "inv.json")) as restarted:
        reservation = (await restarted.get("/reservations/A-1")).json()

    assert reservation["status"] == "reserved"


async def test_injected_503_carries_retry_after_for_the_set_number_of_requests(
    tmp_path: Path,
) -> None:
    async with http(inventory.create_app(tmp_path / "inv.json")) as peer:
        await peer.post("/admin/faults", json={"status": 503, "retry_after": 7, "times": 2})
        answers = [await peer.post("/reservations", json=RESERVE) for _ in range(3)]
        health = await peer.get("/healthz")

    assert [a.status_code for a in answers] == [503, 503, 201]
    assert answers[0].headers["retry-after"] == "7"
    assert health.status_code == 200


async def test_crm_records_an_order_once_however_often_it_is_sent(tmp_path: Path) -> None:
    note = {"order_id": "A-1", "email": "ada@example.com", "total": "42.00"}
    async with http(crm.create_app(tmp_path / "crm.json")) as peer:
        for key in ("k1", "k1", "k2"):
            await peer.post("/customers/c-1/orders", json=note, headers={"idempotency-key": key})
        customer = (await peer.get("/customers/c-1")).json()
        invalid = await peer.post("/customers/c-1/orders", json={"order_id": "A-2"})

    assert list(customer["orders"]) == ["A-1"]
    assert customer["email"] == "ada@example.com"
    assert invalid.status_code == 422


async def test_crm_can_be_made_to_fail_until_cleared(tmp_path: Path) -> None:
    note = {"order_id": "A-1", "email": "ada@example.com", "total": "42.00"}
    async with http(crm.create_app(tmp_path / "crm.json")) as peer:
        await peer.post("/admin/faults", json={"status": 422, "times": -1})
        failing = [
            (await peer.post("/customers/c/orders", json=note)).status_code for _ in range(3)
        ]
        await peer.delete("/admin/faults")
        healed = await peer.post("/customers/c/orders", json=note)

    assert failing == [422, 422, 422]
    assert healed.status_code == 200


def message(message_id: str, subject: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@example.com", "b@example.com", subject
    mail["Message-ID"] = message_id
    mail.set_content("hello")
    return mail


async def test_smtp_sink_keeps_one_file_per_message_id(tmp_path: Path) -> None:
    async with mailbox(tmp_path / "mail") as mail:
        for mid, subject in (("<1@t>", "first"), ("<1@t>", "first again"), ("<2@t>", "second")):
            await aiosmtplib.send(message(mid, subject), hostname=LOOPBACK, port=mail.port)

    assert mail.subjects() == ["first", "second"]
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2
    assert smtp_sink.read_mail(tmp_path / "mail")[0]["To"] == "b@example.com"


async def test_subscriber_keeps_verified_events_once_and_refuses_bad_signatures(
    tmp_path: Path,
) -> None:
    payload = json.dumps({"type": "order.completed", "data": {"order_id": "A-1"}})
    signature = Webhook(SUBSCRIBER_SECRET).sign("msg_1", datetime.now(UTC), payload)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(datetime.now(UTC).timestamp())),
        "webhook-signature": signature,
    }
    async with http(subscriber.create_app(SUBSCRIBER_SECRET, tmp_path / "events.jsonl")) as peer:
        ok = await peer.post("/webhooks", content=payload, headers=headers)
        again = await peer.post("/webhooks", content=payload, headers=headers)
        forged = await peer.post(
            "/webhooks", content=payload.replace("A-1", "A-2"), headers=headers
        )
        events = (await peer.get("/events")).json()

    assert (ok.status_code, again.status_code, forged.status_code) == (200, 200, 401)
    assert again.json()["duplicate"] is True
    assert [(e["id"], e["type"]) for e in events] == [("msg_1", "order.completed")]
