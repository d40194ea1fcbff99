"""A webhook sender that behaves like real providers: it retries on 503 and on connection
errors with backoff, and counts everything it saw."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from webhook_gateway.contracts.signing import decode_secret, sign


@dataclass
class SenderStats:
    sent: int = 0
    acked: set[str] = field(default_factory=set)
    duplicate_acks: int = 0
    retries: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    gave_up: set[str] = field(default_factory=set)
    last_ack_at: float = 0.0
    ack_times: list[float] = field(default_factory=list)


def order_body(delivery_id: str, customer: str = "c-1") -> bytes:
    order = {
        "id": delivery_id,
        "customer": {"id": customer, "email": "ada@example.com"},
        "lines": [{"sku": "S-1", "quantity": 1, "unit_price": "1.00"}],
    }
    return json.dumps(order).encode()


async def deliver(
    http: httpx.AsyncClient,
    url: str,
    key: bytes,
    delivery_id: str,
    stats: SenderStats,
    *,
    deadline: float,
    customer: str = "c-1",
) -> None:
    body = order_body(delivery_id, customer)
    stats.sent += 1
    backoff = 0.2
    while time.monotonic() < deadline:
        stamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(key, delivery_id, stamp, body),
        }
        try:
            response = await http.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            stats.transport_errors[type(exc).__name__] += 1
        else:
            stats.statuses[response.status_code] += 1
            if response.status_code == 202:
                stats.acked.add(delivery_id)
                stats.duplicate_acks += bool(response.json().get("duplicate"))
                stats.last_ack_at = time.monotonic()
                stats.ack_times.append(stats.last_ack_at)
                return
            # Any other status is retried too: it then shows in the report's status counts
            # instead of hiding as a loss.
        stats.retries += 1
        await asyncio.sleep(backoff * (0.5 + random.random()))  # noqa: S311 (jitter)
        backoff = min(backoff * 2, 2.0)
    stats.gave_up.add(delivery_id)


async def send_all(
    url: str,
    secret: str,
    ids: list[str],
    stats: SenderStats,
    *,
    concurrency: int,
    deadline: float,
) -> SenderStats:
    key = decode_secret(secret, route="faults")
    queue: asyncio.Queue[str] = asyncio.Queue()
    for delivery_id in ids:
        queue.put_nowait(delivery_id)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=10, limits=limits) as http:

        async def lane() -> None:
            while not queue.empty():
                await deliver(http, url, key, queue.get_nowait(), stats, deadline=deadline)

        await asyncio.gather(*(lane() for _ in range(concurrency)))
    return stats


async def send_keyed(
    url: str, secret: str, lanes: dict[str, list[str]], stats: SenderStats, *, deadline: float
) -> SenderStats:
    """One lane per customer, each sending its deliveries one after another (the next once
    the previous is acknowledged), as a sender that keeps a customer's events in order."""
    key = decode_secret(secret, route="faults")
    limits = httpx.Limits(max_connections=len(lanes), max_keepalive_connections=len(lanes))
    async with httpx.AsyncClient(timeout=10, limits=limits) as http:

        async def lane(customer: str, ids: list[str]) -> None:
            for delivery_id in ids:
                await deliver(
                    http, url, key, delivery_id, stats, deadline=deadline, customer=customer
                )

        await asyncio.gather(*(lane(c, ids) for c, ids in lanes.items()))
    return stats
